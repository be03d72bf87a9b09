"""The month's report by e-mail: through alerts.smtp (the alerting room's sender), a
summary in each language, the files attached; a refused mail leaves the files written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerts.notify import EmailSender
from report.monthly import ReportScheduler, email_message, write_reports
from tests.helpers.smtp import smtp_server
from tests.report import seed
from tests.report.seed import MONTH, NOW
from tierwatch.config import Config, ConfigError, parse
from tierwatch.core.runtime import Runtime
from tierwatch.core.store import Store
from tierwatch.service import report_settings


def _config(tmp: Path, port: int, ca_file: Path, password: str = "s3cret-pass") -> Config:
    data: dict[str, Any] = seed.config(tmp, "sqlite://").model_dump(
        mode="json", exclude={"source"}, by_alias=True)
    data["credentials"] = {"c": {"version": "2c", "community": "public"}}
    data["reports"] = {"dir": str(tmp / "reports"), "formats": ["html", "json"],
                       "email": ["giam-doc@cantho.example.vn", "ky-thuat@cantho.example.vn"]}
    data["alerts"] = {"smtp": {"host": "127.0.0.1", "port": port, "username": "tierwatch",
                               "password": password, "from": "tierwatch@cantho.example.vn",
                               "ca_file": str(ca_file)}}
    return Config.model_validate(data)


def _job(config: Config) -> ReportScheduler:
    assert config.alerts.smtp is not None
    return ReportScheduler(report_settings(config), EmailSender(config.alerts.smtp))


async def test_the_scheduled_report_is_mailed_with_its_files(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(store)
    rt = Runtime.for_tests(store, clock=lambda: NOW)
    rt.scheduler.start()
    try:
        with smtp_server(tmp_path) as smtp:
            config = _config(tmp_path, smtp.port, smtp.ca_file)
            job = _job(config)
            await job.start(rt)
            files = await job.run()
            (mail,) = smtp.wait_for_messages(1, 10)
    finally:
        rt.scheduler.shutdown()
    assert len(files) == 4 and job.emailed == 1 and job.email_errors == 0
    assert mail.tls and mail.recipients == ["giam-doc@cantho.example.vn",
                                            "ky-thuat@cantho.example.vn"]
    assert mail.subject == ("Báo cáo mức sẵn sàng Tier III hằng tháng: Trung tâm Dữ liệu Cần "
                            "Thơ, Tháng 10 năm 2026")
    text = mail.text
    assert "Độ khả dụng: 99,984 % (mục tiêu 99,982 %)" in text
    assert "Availability: 99.984 % (target 99.982 %); downtime 7 min of a 8 min 2 s budget" in text
    assert "Rack R7 is single-corded" in text and "Tủ rack R7 chỉ có một đường" in text
    attached = {part.get_filename(): part for part in mail.message.iter_attachments()}
    assert set(attached) == {"tierwatch-report-2026-10-vi.html",
                             "tierwatch-report-2026-10-en.html"}  # no PDF made: the HTML
    html = attached["tierwatch-report-2026-10-vi.html"].get_content()
    assert "Báo cáo mức sẵn sàng Tier III hằng tháng" in html


async def test_a_refused_mail_leaves_the_files_and_is_counted(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(store)
    rt = Runtime.for_tests(store, clock=lambda: NOW)
    rt.scheduler.start()
    try:
        with smtp_server(tmp_path) as smtp:
            config = _config(tmp_path, smtp.port, smtp.ca_file, password="wrong")
            job = _job(config)
            await job.start(rt)
            files = await job.run()
            assert smtp.messages == []
    finally:
        rt.scheduler.shutdown()
    assert len(files) == 4 and all(f.path.is_file() for f in files)
    assert (job.emailed, job.email_errors) == (0, 1)


def test_the_pdf_is_attached_when_there_is_one(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(store)
    config = _config(tmp_path, 25, tmp_path / "ca.pem")
    settings = report_settings(config)
    done = write_reports(store, settings, MONTH, NOW, languages=["en"], formats=["pdf", "html"])
    message = email_message(settings, done)
    assert [(name, media) for name, media, _ in message["attachments"]] == [
        ("tierwatch-report-2026-10-en.pdf", "application/pdf")]
    assert message["attachments"][0][2].startswith(b"%PDF-")


def test_email_needs_smtp() -> None:
    with pytest.raises(ConfigError) as exc:
        parse("site: {name: x}\nreports: {email: [a@example.vn]}\n")
    assert any("reports.email: e-mailing reports needs an alerts.smtp section" in p
               for p in exc.value.problems)
