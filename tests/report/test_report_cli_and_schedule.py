"""`tierwatch report` and `tierwatch token` from the command line, and the monthly job."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from api.tokens import list_tokens, verify
from report.monthly import ReportScheduler, list_reports
from tests.helpers.procs import env_with_repo, tierwatch_cmd
from tests.report import seed
from tests.report.seed import MONTH, NOW
from tierwatch.core.runtime import Runtime
from tierwatch.core.store import Store
from tierwatch.service import report_settings


def _config_file(tmp_path: Path, **reports: object) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'tw.sqlite'}"
    cfg = seed.config(tmp_path, url)
    data = cfg.model_dump(mode="json", exclude={"source"})
    data["credentials"] = {"c": {"version": "2c", "community": "public"}}
    data["reports"] = {"dir": "out", "formats": ["json", "html"], **reports}
    path = tmp_path / "tierwatch.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    store = Store.open(url)
    seed.seed(store)
    store.close()
    return path, url


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tierwatch_cmd(*args), env=env_with_repo(), capture_output=True,
                          text=True, timeout=120)


def test_report_to_stdout_as_json(tmp_path: Path) -> None:
    path, _ = _config_file(tmp_path)
    done = _run("report", "-c", str(path), "--month", MONTH, "--format", "json", "--out", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"]["availability"]["downtime_s"] == 420.0
    assert report["site"] == "Trung tâm Dữ liệu Cần Thơ"


def test_report_into_the_reports_directory_and_its_register(tmp_path: Path) -> None:
    path, url = _config_file(tmp_path)
    done = _run("report", "-c", str(path), "--month", MONTH, "--lang", "en")
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["tierwatch-report-2026-10-en.html", "tierwatch-report-2026-10-en.json"]
    total, files = list_reports(Store.open(url))
    assert total == 2 and {f.trigger for f in files} == {"cli"}


def test_report_one_file_by_its_suffix(tmp_path: Path) -> None:
    path, _ = _config_file(tmp_path)
    out = tmp_path / "oct.html"
    done = _run("report", "-c", str(path), "--month", MONTH, "--lang", "vi", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Báo cáo mức sẵn sàng Tier III hằng tháng" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13"], "not a month"),
    (["--month", "2099-01"], "has not begun"),
    (["--format", "docx"], "--format"),
    (["--lang", "fr"], "--lang"),
])
def test_report_bad_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path, _ = _config_file(tmp_path)
    done = _run("report", "-c", str(path), *args, "--out", "-")
    assert done.returncode == 2 and message in done.stderr
    assert done.stdout == ""


def test_token_create_list_revoke(tmp_path: Path) -> None:
    path, url = _config_file(tmp_path)
    made = _run("token", "create", "-c", str(path), "--role", "operator", "--name",
                "ca trực đêm")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("tw_") and "shown only now" in made.stderr
    store = Store.open(url)
    info = verify(store, token, NOW)
    assert info is not None and (info.role, info.name) == ("operator", "ca trực đêm")
    listed = _run("token", "list", "-c", str(path))
    assert info.key in listed.stdout and token not in listed.stdout
    assert "ca trực đêm" in listed.stdout
    assert _run("token", "revoke", "-c", str(path), info.key).returncode == 0
    assert verify(store, token, NOW) is None
    assert list_tokens(store) == []
    assert _run("token", "revoke", "-c", str(path), info.key).returncode == 1
    bad = _run("token", "create", "-c", str(path), "--role", "root")
    assert bad.returncode == 2 and "viewer, operator, admin" in bad.stderr


async def test_the_monthly_job_runs_on_the_first_at_six_site_time(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(store)
    cfg = seed.config(tmp_path, "sqlite://").model_copy(update={"reports": seed.config(
        tmp_path, "sqlite://").reports.model_copy(update={"formats": ("json",)})})
    rt = Runtime.for_tests(store, site=cfg.site, clock=lambda: NOW)
    rt.scheduler.start()
    job_runner = ReportScheduler(report_settings(cfg))
    try:
        await job_runner.start(rt)
        fire = rt.scheduler.next_run_after(ReportScheduler.JOB_ID, datetime(
            2026, 10, 15, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
        assert fire == datetime(2026, 11, 1, 6, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        files = await job_runner.run()  # what the job does when it fires
        assert sorted((f.month, f.lang, f.format, f.trigger) for f in files) == [
            (MONTH, "en", "json", "schedule"), (MONTH, "vi", "json", "schedule")]
        assert all(f.complete for f in files)
        assert (tmp_path / "reports" / "tierwatch-report-2026-10-vi.json").is_file()
        await job_runner.stop()
        assert rt.scheduler.next_run(ReportScheduler.JOB_ID) is None
    finally:
        rt.scheduler.shutdown()


@pytest.mark.parametrize(("shard", "scheduled"), [(None, True), ("0/2", False)])
async def test_the_service_schedules_the_report_unless_a_shard(tmp_path: Path,
                                                               shard: str | None,
                                                               scheduled: bool) -> None:
    from tierwatch.config import Config
    from tierwatch.service import Service
    from tierwatch.sharding import Shard

    config = Config.model_validate({"site": {"name": "x"},
                                    "store": {"url": f"sqlite:///{tmp_path / 's.sqlite'}"}})
    service = Service(config, shard=Shard.parse(shard) if shard else None)
    await service.start()
    try:
        assert service.runtime is not None
        fire = service.runtime.scheduler.next_run(ReportScheduler.JOB_ID)
        assert (fire is not None) == scheduled
        if fire is not None:
            assert (fire.day, fire.hour, fire.minute) == (1, 6, 0)
            assert fire.utcoffset().total_seconds() == 7 * 3600  # site time, Asia/Ho_Chi_Minh
    finally:
        await service.stop()
