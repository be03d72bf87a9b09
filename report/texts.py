"""The report's words in English and Vietnamese, and the recommendations' sentences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tierwatch.core.i18n import Translator

CATALOG: dict[str, dict[str, str]] = {
    "title": {"en": "Monthly Tier III readiness report",
              "vi": "Báo cáo mức sẵn sàng Tier III hằng tháng"},
    "period": {"en": "Period", "vi": "Kỳ báo cáo"},
    "generated": {"en": "Generated", "vi": "Lập lúc"},
    "timezone": {"en": "Times in {tz}", "vi": "Giờ theo múi {tz}"},
    "partial": {"en": "The month is not over: figures up to {time}.",
                "vi": "Tháng chưa kết thúc: số liệu tính đến {time}."},
    "no_data": {"en": "No data for this month: tierwatch recorded nothing, so no availability "
                      "can be stated (it is not 100 %).",
                "vi": "Không có dữ liệu cho tháng này: tierwatch không ghi nhận gì, nên không "
                      "thể nêu độ khả dụng (không phải 100 %)."},
    "summary": {"en": "Summary", "vi": "Tóm tắt"},
    "readiness": {"en": "Readiness score", "vi": "Điểm sẵn sàng"},
    "readiness_month": {"en": "average over the month's monitored time",
                        "vi": "trung bình trên thời gian được giám sát trong tháng"},
    "readiness_design": {"en": "as designed: {score}", "vi": "theo thiết kế: {score}"},
    "design_tier": {"en": "Design tier", "vi": "Tier thiết kế"},
    "live_tier_end": {"en": "Live tier at the end", "vi": "Tier thực tế cuối kỳ"},
    "lowest_live_tier": {"en": "Lowest live tier", "vi": "Tier thực tế thấp nhất"},
    "availability": {"en": "Availability", "vi": "Độ khả dụng"},
    "target": {"en": "target {target}", "vi": "mục tiêu {target}"},
    "met": {"en": "target met", "vi": "đạt mục tiêu"},
    "not_met": {"en": "target missed", "vi": "không đạt mục tiêu"},
    "not_enough_data": {"en": "not enough data: {share} of the month monitored",
                        "vi": "không đủ dữ liệu: chỉ {share} thời gian của tháng được giám sát"},
    "downtime": {"en": "Downtime", "vi": "Thời gian gián đoạn"},
    "planned_part": {"en": "of which planned: {duration}",
                     "vi": "trong đó có kế hoạch: {duration}"},
    "budget": {"en": "Downtime budget", "vi": "Ngân sách gián đoạn"},
    "budget_used": {"en": "{used} used", "vi": "đã dùng {used}"},
    "monitored": {"en": "Monitored", "vi": "Được giám sát"},
    "unmonitored": {"en": "Unmonitored", "vi": "Không được giám sát"},
    "unmonitored_note": {"en": "{duration} unmonitored ({share}): neither up nor down",
                         "vi": "{duration} không được giám sát ({share}): không tính là hoạt "
                               "động hay gián đoạn"},
    "environment_share": {"en": "Inlets in the ASHRAE recommended band",
                          "vi": "Đầu vào trong dải khuyến nghị ASHRAE"},
    "chart_days": {"en": "Availability per day", "vi": "Độ khả dụng theo ngày"},
    "chart_timeline": {"en": "Redundancy over the month", "vi": "Diễn biến dự phòng trong tháng"},
    "legend_met": {"en": "target met", "vi": "đạt mục tiêu"},
    "legend_missed": {"en": "below target", "vi": "dưới mục tiêu"},
    "legend_nodata": {"en": "unmonitored", "vi": "không được giám sát"},
    "legend_spare": {"en": "N+1 or better", "vi": "N+1 trở lên"},
    "legend_nospare": {"en": "N (no spare)", "vi": "N (không dự phòng)"},
    "legend_short": {"en": "short of N", "vi": "thiếu công suất"},
    "subsystems": {"en": "Subsystems", "vi": "Các hệ thống"},
    "subsystem.power": {"en": "power", "vi": "điện"},
    "subsystem.cooling": {"en": "cooling", "vi": "làm mát"},
    "subsystem.network": {"en": "network", "vi": "mạng"},
    "Subsystem.power": {"en": "Power", "vi": "Điện"},
    "Subsystem.cooling": {"en": "Cooling", "vi": "Làm mát"},
    "Subsystem.network": {"en": "Network", "vi": "Mạng"},
    "time_at_tier": {"en": "Time at each live tier", "vi": "Thời gian ở từng mức Tier thực tế"},
    "tier_n": {"en": "Tier {tier}", "vi": "Tier {tier}"},
    "n_plus_1": {"en": "Time at N+1 or better", "vi": "Thời gian ở mức N+1 trở lên"},
    "groups": {"en": "Capacity groups", "vi": "Nhóm công suất"},
    "group": {"en": "Group", "vi": "Nhóm"},
    "kind": {"en": "Kind", "vi": "Loại"},
    "design_label": {"en": "Design", "vi": "Thiết kế"},
    "required": {"en": "Required", "vi": "Cần"},
    "installed": {"en": "Installed", "vi": "Lắp đặt"},
    "lowest_label": {"en": "Lowest seen", "vi": "Thấp nhất"},
    "without_spare": {"en": "Without spare", "vi": "Không có dự phòng"},
    "spofs": {"en": "Single points of failure", "vi": "Điểm lỗi đơn (SPOF)"},
    "maintainability": {"en": "Cannot be maintained concurrently",
                        "vi": "Không thể bảo trì đồng thời"},
    "element": {"en": "Element", "vi": "Phần tử"},
    "present": {"en": "Present", "vi": "Thời gian tồn tại"},
    "by_design": {"en": "By design", "vi": "Do thiết kế"},
    "loads_dropped": {"en": "Loads it would drop", "vi": "Tải bị mất"},
    "none": {"en": "None.", "vi": "Không có."},
    "yes": {"en": "yes", "vi": "có"},
    "no": {"en": "no", "vi": "không"},
    "outages": {"en": "Outages", "vi": "Sự cố gián đoạn"},
    "no_outage": {"en": "No load was dropped this month.",
                  "vi": "Không có tải nào bị gián đoạn trong tháng."},
    "load": {"en": "Load", "vi": "Tải"},
    "subsystem": {"en": "Subsystem", "vi": "Hệ thống"},
    "start": {"en": "Start", "vi": "Bắt đầu"},
    "end": {"en": "End", "vi": "Kết thúc"},
    "ongoing": {"en": "ongoing", "vi": "đang diễn ra"},
    "duration": {"en": "Duration", "vi": "Thời lượng"},
    "cause": {"en": "Cause", "vi": "Nguyên nhân"},
    "planned": {"en": "Planned", "vi": "Có kế hoạch"},
    "affected": {"en": "Loads affected", "vi": "Tải bị ảnh hưởng"},
    "device_outages": {"en": "Devices that stopped answering",
                       "vi": "Thiết bị mất liên lạc"},
    "device": {"en": "Device", "vi": "Thiết bị"},
    "exposure": {"en": "Exposure", "vi": "Thời gian vận hành có rủi ro"},
    "exposure_note": {"en": "Time the loads ran unprotected or on stored energy; not downtime.",
                      "vi": "Thời gian tải chạy không được bảo vệ hoặc bằng năng lượng dự trữ; "
                            "không tính là gián đoạn."},
    "exposure.on_battery": {"en": "On battery", "vi": "Chạy bằng ắc quy"},
    "exposure.bypass": {"en": "On bypass", "vi": "Chạy qua bypass"},
    "environment": {"en": "Environment", "vi": "Môi trường"},
    "environment_note": {"en": "Share of the time with every inlet sensor inside 18–27 °C "
                               "(ASHRAE recommended), over the time each reported.",
                         "vi": "Tỷ lệ thời gian các cảm biến đầu vào nằm trong 18–27 °C "
                               "(khuyến nghị ASHRAE), trên thời gian mỗi cảm biến có số liệu."},
    "sensor": {"en": "Sensor", "vi": "Cảm biến"},
    "in_band": {"en": "In band", "vi": "Trong dải"},
    "no_sensor": {"en": "No inlet sensor reported.",
                  "vi": "Không có cảm biến đầu vào nào báo số liệu."},
    "lldp": {"en": "Declared links checked by LLDP", "vi": "Kiểm tra các tuyến khai báo bằng LLDP"},
    "lldp_note": {
        "en": "Monitored time each declared link's port showed the expected neighbour (OK), "
              "showed it on another port (moved), did not show it (missing), or could not "
              "tell (not known). A missing or moved link is not counted as a path by the "
              "live tier.",
        "vi": "Thời gian được giám sát mà cổng của mỗi tuyến khai báo thấy đúng thiết bị láng "
              "giềng (đúng), thấy nó ở cổng khác (chuyển cổng), không thấy (mất), hoặc không "
              "xác định được (không rõ). Tuyến bị mất hoặc chuyển cổng không được Tier thực "
              "tế tính là một đường."},
    "lldp.link": {"en": "Link", "vi": "Tuyến"},
    "lldp.port": {"en": "Port", "vi": "Cổng"},
    "lldp.expected": {"en": "Expected neighbour", "vi": "Láng giềng mong đợi"},
    "lldp.ok": {"en": "OK", "vi": "Đúng"},
    "lldp.missing": {"en": "Missing", "vi": "Mất"},
    "lldp.moved": {"en": "Moved", "vi": "Chuyển cổng"},
    "lldp.unknown": {"en": "Not known", "vi": "Không rõ"},
    "lldp.episodes": {"en": "Times drifted", "vi": "Số lần sai lệch"},
    "lldp.moved_to": {"en": "seen on {ports}", "vi": "thấy ở {ports}"},
    "lldp.unexpected": {"en": "Unexpected neighbours seen", "vi": "Láng giềng không khai báo"},
    "lldp.elsewhere": {"en": "Unexpected neighbours on ports no link declares",
                       "vi": "Láng giềng không khai báo trên các cổng không thuộc tuyến nào"},
    "lldp.neighbour": {"en": "Neighbour", "vi": "Láng giềng"},
    "lldp.seen": {"en": "Seen for", "vi": "Thời gian thấy"},
    "maintenance": {"en": "Maintenance performed", "vi": "Bảo trì đã thực hiện"},
    "no_maintenance": {"en": "No maintenance window this month.",
                       "vi": "Không có đợt bảo trì nào trong tháng."},
    "work": {"en": "Work", "vi": "Nội dung"},
    "scope": {"en": "Scope", "vi": "Phạm vi"},
    "booked_by": {"en": "Booked by", "vi": "Người đăng ký"},
    "loads_dropped_during": {"en": "Loads dropped", "vi": "Tải bị mất"},
    "gaps": {"en": "Unmonitored time", "vi": "Thời gian không được giám sát"},
    "no_gap": {"en": "tierwatch watched the whole month.",
               "vi": "tierwatch đã giám sát suốt cả tháng."},
    "reason": {"en": "Reason", "vi": "Lý do"},
    "gap.not_running": {"en": "tierwatch was not running", "vi": "tierwatch không chạy"},
    "gap.starting": {"en": "tierwatch starting: statuses not known yet",
                     "vi": "tierwatch đang khởi động: chưa biết trạng thái"},
    "gap.no_record": {"en": "nothing recorded yet", "vi": "chưa ghi nhận dữ liệu"},
    "gap.silent": {"en": "no sign of life from tierwatch since",
                   "vi": "tierwatch không còn hoạt động từ lúc này"},
    # e-government services (report/service_figures.py)
    "services": {"en": "E-government services", "vi": "Dịch vụ chính phủ điện tử"},
    "services_note": {
        "en": "Availability of each service against its own target, from its checks and "
              "the infrastructure under it; unmonitored time counts neither way. At risk: "
              "the checks passed while the infrastructure under the service had lost "
              "redundancy (not downtime).",
        "vi": "Độ khả dụng của từng dịch vụ so với mục tiêu riêng, theo các phép kiểm tra "
              "và hạ tầng bên dưới; thời gian không được giám sát không được tính theo "
              "chiều nào. Có rủi ro: các phép kiểm tra vẫn đạt nhưng hạ tầng bên dưới dịch "
              "vụ đã mất dự phòng (không tính là gián đoạn)."},
    "service": {"en": "Service", "vi": "Dịch vụ"},
    "service_target": {"en": "Target", "vi": "Mục tiêu"},
    "verdict": {"en": "Verdict", "vi": "Đánh giá"},
    "verdict.met": {"en": "met", "vi": "đạt"},
    "verdict.missed": {"en": "missed", "vi": "không đạt"},
    "verdict.not_enough_data": {"en": "not enough data", "vi": "không đủ dữ liệu"},
    "service_outages": {"en": "Outages of services", "vi": "Sự cố gián đoạn dịch vụ"},
    "no_service_outage": {"en": "No service was down this month.",
                          "vi": "Không có dịch vụ nào bị gián đoạn trong tháng."},
    "cause_kind": {"en": "Where", "vi": "Do đâu"},
    "cause_kind.check": {"en": "the service's checks", "vi": "phép kiểm tra dịch vụ"},
    "cause_kind.infrastructure": {"en": "the infrastructure under it",
                                  "vi": "hạ tầng bên dưới"},
    "agencies_affected": {"en": "Agencies affected", "vi": "Cơ quan bị ảnh hưởng"},
    "time_at_risk": {"en": "Time at risk", "vi": "Thời gian có rủi ro"},
    "no_time_at_risk": {"en": "No service ran at risk this month.",
                        "vi": "Không có dịch vụ nào vận hành trong tình trạng có rủi ro "
                              "trong tháng."},
    "why": {"en": "Why", "vi": "Lý do"},
    "agencies": {"en": "Agencies", "vi": "Các cơ quan"},
    "agencies_note": {
        "en": "For each agency, the services it uses: the share of the monitored time it "
              "could reach each, and for how long it could not (the service down, or the "
              "agency's own network site cut off).",
        "vi": "Với mỗi cơ quan, các dịch vụ cơ quan sử dụng: tỷ lệ thời gian được giám sát "
              "truy cập được từng dịch vụ, và thời gian không truy cập được (dịch vụ gián "
              "đoạn, hoặc điểm mạng của cơ quan bị cắt)."},
    "agency": {"en": "Agency", "vi": "Cơ quan"},
    "could_reach": {"en": "Could reach", "vi": "Truy cập được"},
    "could_not_reach": {"en": "Could not reach for", "vi": "Không truy cập được trong"},
    "interruptions": {"en": "Interruptions", "vi": "Số lần gián đoạn"},
    "longest_cause": {"en": "Cause of the longest", "vi": "Nguyên nhân lần lâu nhất"},
    "reached_throughout": {"en": "reached it throughout", "vi": "truy cập được suốt tháng"},
    "certificates_ending": {"en": "Certificates ending before {date}",
                            "vi": "Chứng thư số hết hạn trước {date}"},
    "no_certificate_ending": {"en": "No certificate in use ends before {date}.",
                              "vi": "Không có chứng thư số đang dùng nào hết hạn trước "
                                    "{date}."},
    "endpoint": {"en": "Endpoint", "vi": "Điểm kết nối"},
    "cert_subject": {"en": "Subject", "vi": "Chủ thể"},
    "cert_issuer": {"en": "Issuer", "vi": "Tổ chức cấp"},
    "cert_ends": {"en": "Ends", "vi": "Hết hạn lúc"},
    "days_left": {"en": "Days left", "vi": "Số ngày còn lại"},
    "cert_ended": {"en": "ended", "vi": "đã hết hạn"},
    "recommendations": {"en": "Recommendations", "vi": "Khuyến nghị"},
    "no_recommendation": {"en": "Nothing to add: the month met every criterion checked.",
                          "vi": "Không có khuyến nghị: tháng này đạt mọi tiêu chí đã kiểm tra."},
    "method": {"en": "How these figures are made", "vi": "Cách tính các số liệu"},
    "method_text": {
        "en": "Availability = 1 − downtime / monitored time, downtime being the union of the "
              "load outages; the budget is (1 − target) × the whole month. Unmonitored time "
              "counts neither way. Redundancy figures come from re-scoring the topology "
              "(as configured when the report was made) over the recorded statuses of its "
              "devices; demands are the declared ones. Planned maintenance is not excluded: "
              "under Tier III it must not drop a load.",
        "vi": "Độ khả dụng = 1 − thời gian gián đoạn / thời gian được giám sát, trong đó thời "
              "gian gián đoạn là hợp của các sự cố mất tải; ngân sách là (1 − mục tiêu) × cả "
              "tháng. Thời gian không được giám sát không được tính theo chiều nào. Số liệu dự "
              "phòng được tính lại từ sơ đồ (theo cấu hình lúc lập báo cáo) trên trạng thái đã "
              "ghi nhận của các thiết bị; công suất tải theo giá trị khai báo. Bảo trì có kế "
              "hoạch không được loại trừ: theo Tier III, bảo trì không được làm mất tải."},
    "states_cut": {"en": "The month had more distinct states than the report scores "
                         "({n}); redundancy figures cover the first {n}.",
                   "vi": "Tháng có nhiều trạng thái hơn số báo cáo tính ({n}); số liệu dự "
                         "phòng chỉ gồm {n} trạng thái đầu."},
    "severity.high": {"en": "high", "vi": "cao"},
    "severity.medium": {"en": "medium", "vi": "trung bình"},
    "severity.low": {"en": "low", "vi": "thấp"},
    # the e-mail that carries the month's files
    "mail_subject": {"en": "{title}: {site}, {month}", "vi": "{title}: {site}, {month}"},
    "mail_readiness": {"en": "Readiness score: {score} / 100 (design tier {design}, live tier "
                             "at the end {live})",
                       "vi": "Điểm sẵn sàng: {score} / 100 (Tier thiết kế {design}, Tier thực "
                             "tế cuối kỳ {live})"},
    "mail_availability": {"en": "Availability: {availability} (target {target}); downtime "
                                "{downtime} of a {budget} budget",
                          "vi": "Độ khả dụng: {availability} (mục tiêu {target}); gián đoạn "
                                "{downtime} trên ngân sách {budget}"},
    "mail_attached": {"en": "The full report is attached.",
                      "vi": "Báo cáo đầy đủ được đính kèm."},
    # recommendations
    "rec.no_data": {"en": "tierwatch recorded nothing this month: make sure it runs and "
                          "polls the site's devices.",
                    "vi": "tierwatch không ghi nhận dữ liệu nào trong tháng: cần bảo đảm "
                          "tierwatch đang chạy và thu thập số liệu từ các thiết bị."},
    "rec.single_corded.one": {
        "en": "Rack {loads} is single-corded: add a second cord or a point-of-use transfer "
              "switch.",
        "vi": "Tủ rack {loads} chỉ có một đường cấp nguồn: cần thêm dây nguồn thứ hai hoặc "
              "bộ chuyển nguồn tại chỗ (ATS)."},
    "rec.single_corded.many": {
        "en": "Racks {loads} are single-corded: add a second cord or a point-of-use transfer "
              "switch.",
        "vi": "Các tủ rack {loads} chỉ có một đường cấp nguồn: cần thêm dây nguồn thứ hai "
              "hoặc bộ chuyển nguồn tại chỗ (ATS)."},
    "rec.no_spare_design": {
        "en": "The {subsystem} capacity group {group} has no spare unit by design ({label}): "
              "add a unit to reach N+1.",
        "vi": "Nhóm công suất {group} (hệ thống {subsystem}) không có thiết bị dự phòng theo "
              "thiết kế ({label}): cần bổ sung một thiết bị để đạt N+1."},
    "rec.maintainability_design": {
        "en": "{nodes} ({subsystem}) cannot be taken out for maintenance without dropping a "
              "load: add an alternate distribution path or a maintenance bypass.",
        "vi": "{nodes} (hệ thống {subsystem}) không thể tách ra bảo trì mà không làm mất tải: "
              "cần bổ sung đường phân phối thay thế hoặc mạch bypass bảo trì."},
    "rec.budget_spent": {
        "en": "Downtime of {downtime} exceeded the month's budget of {budget} ({outages} "
              "outages): find and remove the root cause of each.",
        "vi": "Thời gian gián đoạn {downtime} đã vượt ngân sách {budget} của tháng ({outages} "
              "sự cố): cần tìm và loại bỏ nguyên nhân gốc của từng sự cố."},
    "rec.planned_outage": {
        "en": "Planned work dropped {loads}: under Tier III planned maintenance must not "
              "affect any load; check the alternate path before the next window.",
        "vi": "Công việc có kế hoạch đã làm mất tải {loads}: theo Tier III, bảo trì có kế "
              "hoạch không được ảnh hưởng đến tải nào; hãy kiểm tra đường thay thế trước đợt "
              "bảo trì tiếp theo."},
    "rec.no_spare_live": {
        "en": "The {subsystem} group {group} ran without a spare unit for {duration}: "
              "shorten repairs and keep spare parts on site.",
        "vi": "Nhóm {group} (hệ thống {subsystem}) đã vận hành không có dự phòng trong "
              "{duration}: cần rút ngắn thời gian sửa chữa và dự trữ vật tư tại chỗ."},
    "rec.bypass": {
        "en": "{devices} ran on bypass for {duration}, leaving the load unprotected: find "
              "the cause and schedule the repair.",
        "vi": "{devices} đã chạy qua bypass trong {duration}, tải không được bảo vệ: cần tìm "
              "nguyên nhân và lên lịch sửa chữa."},
    "rec.on_battery": {
        "en": "{devices} ran on battery for {duration}: check the transfer to the generators "
              "and the batteries' health.",
        "vi": "{devices} đã chạy bằng ắc quy trong {duration}: cần kiểm tra việc chuyển sang "
              "máy phát và tình trạng ắc quy."},
    "rec.unmonitored": {
        "en": "tierwatch was not watching for {duration} ({share} of the month): run it as a "
              "supervised service that restarts by itself.",
        "vi": "tierwatch đã không giám sát trong {duration} ({share} thời gian của tháng): "
              "hãy chạy tierwatch như một dịch vụ tự khởi động lại."},
    "rec.environment": {
        "en": "Inlets were inside the recommended 18–27 °C only {share} of the time: review "
              "the cooling set points and the airflow (blanking panels, containment).",
        "vi": "Nhiệt độ đầu vào chỉ nằm trong dải khuyến nghị 18–27 °C trong {share} thời "
              "gian: cần rà soát điểm đặt làm mát và luồng khí (tấm che, ngăn lối nóng/lạnh)."},
    "rec.service_below_target": {
        "en": "{service} was available {availability} of the monitored time, below its "
              "target of {target} ({outages} outages, {downtime} down): find and remove the "
              "cause of each outage listed under E-government services.",
        "vi": "Dịch vụ {service} chỉ khả dụng {availability} thời gian được giám sát, dưới "
              "mục tiêu {target} ({outages} sự cố, gián đoạn {downtime}): cần tìm và loại bỏ "
              "nguyên nhân của từng sự cố nêu trong mục Dịch vụ chính phủ điện tử."},
    "rec.certificates_ending": {
        "en": "The certificates of {endpoints} end before {until} or have ended: renew "
              "them and install the new ones before they end.",
        "vi": "Chứng thư số của {endpoints} hết hạn trước {until} hoặc đã hết hạn: cần gia "
              "hạn và cài đặt chứng thư mới trước khi hết hạn."},
    "rec.no_sensors": {
        "en": "No inlet temperature sensor reported this month: add sensors at the rack "
              "inlets to measure the environment.",
        "vi": "Không có cảm biến nhiệt độ đầu vào nào báo số liệu trong tháng: cần lắp cảm "
              "biến tại đầu vào tủ rack để đo môi trường."},
    # the power chain (issue 18)
    "power_chain": {"en": "Power chain", "vi": "Chuỗi cấp điện"},
    "pue_month": {"en": "PUE of the month (facility energy / IT energy)",
                  "vi": "PUE của tháng (điện năng toàn cơ sở / điện năng CNTT)"},
    "pue_category": {"en": "ISO/IEC 30134-2 category {category}",
                     "vi": "ISO/IEC 30134-2 loại {category}"},
    "fuel_hours": {"en": "Generator fuel autonomy", "vi": "Thời gian tự chủ nhiên liệu máy phát"},
    "lowest": {"en": "lowest", "vi": "thấp nhất"},
    "latest": {"en": "latest", "vi": "gần nhất"},
    "fuel_need": {"en": "Tier III asks 12 h", "vi": "Tier III yêu cầu 12 giờ"},
    "hidden_spofs": {"en": "Racks one cord could not carry alone (hidden single points of failure)",
                     "vi": "Tủ mà một dây nguồn không gánh nổi (điểm lỗi đơn ẩn)"},
    "none_power": {"en": "none", "vi": "không có"},
    "forecast": {"en": "Forecast from the last 30 days", "vi": "Dự báo theo 30 ngày qua"},
    "n1_lost": {"en": "{group} loses N+1", "vi": "{group} mất N+1"},
    "n1_none": {"en": "no capacity group loses N+1 at the present growth of demand",
                "vi": "không nhóm công suất nào mất N+1 theo mức tăng tải hiện tại"},
    "budget_spent": {"en": "This year's downtime budget spent",
                     "vi": "Hết quỹ thời gian gián đoạn của năm"},
    "not_expected": {"en": "not this year at the present burn",
                     "vi": "không trong năm nay theo mức tiêu hao hiện tại"},
    "diagram": {"en": "One-line diagram (when the report was made)",
                "vi": "Sơ đồ một sợi (lúc lập báo cáo)"},
    "rec.lldp_drift": {
        "en": "LLDP did not see {links} where declared, for {duration} in all: check the "
              "cabling against the declared topology (or correct the declaration); meanwhile "
              "the live tier does not count these paths.",
        "vi": "LLDP không thấy {links} đúng như khai báo, tổng cộng {duration}: cần kiểm tra "
              "lại cáp so với sơ đồ khai báo (hoặc sửa khai báo); trong thời gian đó Tier "
              "thực tế không tính các đường này."},
    "rec.lldp_unexpected": {
        "en": "{count} neighbours nothing declares were seen on the checked devices: "
              "identify each, then declare it or remove it.",
        "vi": "Đã thấy {count} thiết bị láng giềng không được khai báo trên các thiết bị "
              "được kiểm tra: cần xác định từng thiết bị, rồi khai báo hoặc gỡ bỏ."},
}


def _names(items: Sequence[str], tr: Translator, limit: int = 8) -> str:
    shown = list(items[:limit])
    if len(items) > limit:
        more = len(items) - limit
        shown.append(f"{more} more" if tr.lang == "en" else f"{more} phần tử khác")
    return tr.join(shown)


def recommendation_text(key: str, params: Mapping[str, Any], tr: Translator) -> str:
    """The sentence of one recommendation in the translator's language."""
    values: dict[str, Any] = {}
    for name, value in params.items():
        if name == "subsystem":
            values[name] = tr(f"subsystem.{value}")
        elif name in ("loads", "nodes", "devices", "endpoints", "links"):
            values[name] = _names(list(value), tr)
        elif name in ("availability", "target"):
            values[name] = tr.percent(value)
        elif name == "until":
            values[name] = tr.date(value)
        elif name.endswith("duration_s"):
            values["duration"] = tr.duration(value)
        elif name == "downtime_s":
            values["downtime"] = tr.duration(value)
        elif name == "budget_s":
            values["budget"] = tr.duration(value)
        elif name == "share":
            values[name] = tr.percent(value, 1)
        else:
            values[name] = value
    if key == "single_corded":
        key = "single_corded.one" if len(params["loads"]) == 1 else "single_corded.many"
    return tr(f"rec.{key}", **values)
