"""On-call end to end, with real servers: the simulator, tierwatch, Prometheus, Alertmanager,
an SMTP server and a webhook receiver run by the test.

* Prometheus path: simulator -> tierwatch -> Prometheus (the shipped rules) -> Alertmanager
  -> webhook: "UPS on battery" after the fault, the resolved notice after it is cleared.
* Built-in path, with Alertmanager and without (webhook and e-mail), the same.
* Delivery survives Alertmanager being down, and tierwatch being SIGKILLed with a delivery
  pending: after the restart it arrives exactly once.
* A maintenance window covering UPS-A: no page, a planned event, an Alertmanager silence;
  the same fault outside the window pages.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alerts.rules import PROMETHEUS_RULES
from tests.helpers.alertmanager import run_alertmanager
from tests.helpers.procs import free_port, run_demo, run_prometheus, wait_for
from tests.helpers.site import Tierwatch, run_sim, run_tierwatch, site_config
from tests.helpers.smtp import smtp_server
from tests.helpers.webhook import WebhookReceiver, webhook_receiver
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

FAST = {"evaluate_every": 1, "delivery": {"retry_initial": 1, "retry_max": 2}}


def _alertmanager(url: str) -> dict[str, object]:
    return {**FAST, "alertmanager": {"url": url, "resend_every": 2}}


def test_prometheus_path_pages_ups_on_battery_and_its_end(tmp_path: Path) -> None:
    with webhook_receiver() as hook, \
            run_alertmanager(tmp_path, hook.url) as am, \
            run_demo(tmp_path, interval=2.0) as demo:
        target = demo.metrics_url.removeprefix("http://").removesuffix("/metrics")
        with run_prometheus(tmp_path, [target], rule_files=[PROMETHEUS_RULES],
                            alertmanager=f"127.0.0.1:{am.port}") as prom:
            devices = len(demo.info["devices"])
            wait_for(lambda: prom.value("count(tierwatch_device_up == 1)") == devices, 60,
                     "Prometheus to see every device up")
            demo.sim("fault", "ups-a", "on-battery")
            alert = hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["subsystem"] == "power"
            assert alert["annotations"]["summary_vi"] == "ups-a đang chạy bằng ắc quy"
            demo.sim("clear")
            hook.wait_for_alert("UpsOnBattery", "resolved", 30, device="ups-a")
            assert {a["labels"]["alertname"] for a in hook.alerts()} == {"UpsOnBattery"}


def test_builtin_engine_through_alertmanager_with_an_acknowledgement(tmp_path: Path) -> None:
    with webhook_receiver() as hook, run_alertmanager(tmp_path, hook.url) as am, \
            run_sim(tmp_path) as sim, \
            run_tierwatch(tmp_path, site_config(sim, tmp_path, _alertmanager(am.url))) as tw:
        sim.fault("ups-a", "on-battery")
        alert = hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
        assert alert["annotations"]["runbook_vi"].startswith("Mất điện lưới đầu vào")
        assert [a["labels"]["alertname"] for a in am.alerts()] == ["UpsOnBattery"]

        # acknowledged: Alertmanager stops re-notifying (a silence on exactly this alert)
        acked = tw.cli("alerts", "ack", "1", "--by", "an.nguyen", "--comment",
                       "đang kiểm tra máy phát")
        assert "acknowledged by an.nguyen" in acked.stdout
        (silence,) = wait_for(lambda: am.silences(state="active"), 20, "the ack's silence")
        assert silence["createdBy"] == "an.nguyen"
        assert {"name": "device", "value": "ups-a", "isRegex": False,
                "isEqual": True} in silence["matchers"]
        assert "đang kiểm tra máy phát" in str(silence["comment"])
        assert "acked by an.nguyen" in tw.cli("alerts", "list").stdout

        sim.clear()
        wait_for(lambda: tw.metric('tierwatch_alerts{alertname="UpsOnBattery"}') is None, 30,
                 "the alert to resolve")
        wait_for(lambda: am.silences(state="active") == [], 20,
                 "the ack's silence to end with the alert")


def test_builtin_engine_straight_to_webhook_and_email(tmp_path: Path) -> None:
    with webhook_receiver() as hook, smtp_server(tmp_path / "smtp") as smtp, \
            run_sim(tmp_path) as sim:
        alerts = {**FAST, "receivers": [
            {"name": "oncall", "webhook": {"url": hook.url},
             "email": {"to": ["truc-ca@example.vn"]}}],
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "tls": "starttls",
                     "username": "tierwatch", "password": "${SMTP_PASSWORD}",
                     "from": "tierwatch@example.vn", "ca_file": str(smtp.ca_file)}}
        config = site_config(sim, tmp_path, alerts)
        with run_tierwatch(tmp_path, config, env={"SMTP_PASSWORD": "s3cret-pass"}) as tw:
            sim.fault("ups-a", "on-battery")
            firing = hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
            assert firing["annotations"]["summary"] == "ups-a is on battery"
            (mail,) = smtp.wait_for_messages(1, 30)
            assert mail.tls and mail.user == "tierwatch"
            assert mail.subject.startswith("[FIRING:critical] UpsOnBattery")
            assert "ups-a đang chạy bằng ắc quy" in mail.text
            sim.clear()
            hook.wait_for_alert("UpsOnBattery", "resolved", 30, device="ups-a")
            mails = smtp.wait_for_messages(2, 30)
            assert mails[1].subject.startswith("[RESOLVED:critical] UpsOnBattery")
            assert "s3cret-pass" not in tw.log.read_text()


def test_alert_arrives_once_alertmanager_is_back(tmp_path: Path) -> None:
    with webhook_receiver() as hook, run_alertmanager(tmp_path, hook.url) as am, \
            run_sim(tmp_path) as sim, \
            run_tierwatch(tmp_path, site_config(sim, tmp_path, _alertmanager(am.url))) as tw:
        am.stop()  # Alertmanager goes down ...
        sim.fault("ups-a", "on-battery")  # ... and the UPS goes on battery meanwhile
        wait_for(lambda: (tw.metric('tierwatch_notifications_total{channel="alertmanager",'
                                    'result="failed"}') or 0) >= 2, 30,
                 "tierwatch to retry the unreachable Alertmanager")
        assert hook.alerts() == []
        am.start()  # back, with empty memory: the queued notice and the re-sends reach it
        hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
        assert [a["labels"]["alertname"] for a in am.alerts()] == ["UpsOnBattery"]


def test_sigkill_with_a_delivery_pending_delivers_exactly_once(tmp_path: Path) -> None:
    hook_port = free_port()
    with run_sim(tmp_path) as sim, webhook_receiver(hook_port) as hook:
        hook.stop()  # the receiver is down when the page is due
        alerts = {**FAST, "receivers": [{"name": "oncall",
                                         "webhook": {"url": hook.url}}]}
        tw = Tierwatch(tmp_path, site_config(sim, tmp_path, alerts))
        try:
            tw.start()
            sim.fault("ups-a", "on-battery")
            wait_for(lambda: (tw.metric('tierwatch_notifications_total{channel="webhook",'
                                        'result="failed"}') or 0) >= 1, 30,
                     "the page to be pending (receiver down)")
            tw.kill9()
            hook.start()  # the receiver is back while tierwatch is dead
            tw.start()
            hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
            _evaluations(tw, 5)  # several evaluations and delivery passes later ...
            assert len(hook.alerts("UpsOnBattery", "firing")) == 1  # ... still exactly one
            keys = {m.headers["Idempotency-Key"] for m in hook.received}
            assert len(keys) == 1

            sim.clear()
            hook.wait_for_alert("UpsOnBattery", "resolved", 30, device="ups-a")
            # a crash right after delivering: nothing new is sent. The receiver's yes and the
            # commit that records it are milliseconds apart; a crash between them sends that
            # one notice again, with the same Idempotency-Key (docs/alerting.md), which is
            # what a receiver dedupes on: count notices by key
            tw.kill9()
            tw.start()
            _evaluations(tw, 5)
            assert len(hook.alerts("UpsOnBattery", "firing")) == 1
            assert len(_keys(hook, "UpsOnBattery", "resolved")) == 1
        finally:
            tw.stop()


def _keys(hook: WebhookReceiver, alertname: str, status: str) -> set[str]:
    """The Idempotency-Keys of the messages that carried this alert in this status."""
    return {m.headers["Idempotency-Key"] for m in hook.received
            if any(a.get("labels", {}).get("alertname") == alertname
                   and a.get("status") == status for a in m.alerts())}


def _evaluations(tw: Tierwatch, count: int) -> None:
    start = tw.metric('tierwatch_alert_evaluations_total{result="ok"}') or 0
    wait_for(lambda: (tw.metric('tierwatch_alert_evaluations_total{result="ok"}') or 0)
             >= start + count, 30, f"{count} more evaluations")


def test_maintenance_window_silences_records_and_ends(tmp_path: Path) -> None:
    with webhook_receiver() as hook, run_alertmanager(tmp_path, hook.url) as am, \
            run_sim(tmp_path) as sim, \
            run_tierwatch(tmp_path, site_config(sim, tmp_path, _alertmanager(am.url))) as tw:
        booked = tw.cli("maintenance", "add", "--title", "Thay ắc quy UPS-A", "--start",
                        time.strftime("%Y-%m-%dT%H:%M:%S%z"), "--duration", "30m",
                        "--device", "UPS-A", "--by", "an.nguyen")
        assert "maintenance window 1 booked" in booked.stdout

        def silenced() -> list[dict[str, object]]:
            return am.silences(state="active")

        (silence,) = wait_for(silenced, 20, "tierwatch to create the Alertmanager silence")
        assert silence["matchers"] == [{"name": "device", "value": "ups-a", "isRegex": False,
                                        "isEqual": True}]
        assert silence["createdBy"] == "an.nguyen"
        assert "Thay ắc quy UPS-A" in str(silence["comment"])

        sim.fault("ups-a", "on-battery")  # the planned work: no page
        store = Store.open(tw.config["store"]["url"])
        try:
            (planned,) = wait_for(lambda: store.planned_events(), 20, "the planned event")
            assert planned.alertname == "UpsOnBattery" and planned.title == "Thay ắc quy UPS-A"
            _evaluations(tw, 4)
            listed = tw.cli("alerts", "list").stdout
            assert "UpsOnBattery" in listed and "[maintenance:1]" in listed
            assert hook.alerts() == []  # nobody was paged

            tw.cli("maintenance", "remove", "1")  # the work is over, the UPS still on battery
            hook.wait_for_alert("UpsOnBattery", "firing", 30, device="ups-a")
            wait_for(lambda: am.silences(state="active") == [], 20,
                     "the window's silence to be expired")
        finally:
            store.close()


def test_the_live_tier_drives_the_tier_alerts_in_the_demo(tmp_path: Path) -> None:
    """UPS-B to bypass in the demo: its page at once, and the live tier's consequences
    (power down to Tier I, the UPS group down to N) pending their minute."""
    from tests.helpers.procs import http_get

    with run_demo(tmp_path, interval=2.0) as demo:
        def alerts(state: str) -> set[str]:
            text = http_get(demo.metrics_url)[1].decode()
            return {line.split('alertname="')[1].split('"')[0] for line in text.splitlines()
                    if line.startswith("tierwatch_alerts{") and f'state="{state}"' in line
                    and not line.endswith(" 0.0")}

        wait_for(lambda: http_get(demo.base_url + "/readyz")[0] == 200, 60, "the demo ready")
        assert alerts("firing") == set() and alerts("pending") == set()
        demo.sim("fault", "ups-b", "on-bypass")
        wait_for(lambda: "UpsOnBypass" in alerts("firing"), 30, "UpsOnBypass firing")
        wait_for(lambda: {"LiveTierBelowDesign", "CapacitySpareLost"} <= alerts("pending"),
                 30, "the tier alerts pending")
