"""The store file and the reports as a real `tierwatch run` leaves them, started by hand
(a login shell's umask 022, no systemd UMask)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    process,
    tierwatch_cmd,
    wait_for,
)

pytestmark = pytest.mark.integration


def _config(tmp: Path, store: Path) -> Path:
    path = tmp / "tierwatch.yaml"
    path.write_text(f"""\
site: {{name: Trung tâm Dữ liệu Cần Thơ}}
credentials: {{c: {{version: 2c, community: public}}}}
devices:
  - {{id: ups-a, address: "127.0.0.1:{free_port()}", credentials: c, profile: apc-ups}}
store: {{url: "sqlite:///{store}"}}
reports: {{dir: "{tmp / 'reports'}", formats: [json, html], schedule: false}}
""", encoding="utf-8")
    return path


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_a_run_by_hand_makes_a_private_store_and_group_readable_reports(
        tmp_path: Path) -> None:
    store = tmp_path / "state" / "tierwatch.sqlite"
    config = _config(tmp_path, store)
    port = free_port()
    log = tmp_path / "run.log"
    cmd = tierwatch_cmd("run", "-c", str(config), "--listen", f"127.0.0.1:{port}")
    wal, shm = store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")
    with process(cmd, log, env=env_with_repo(), umask=0o022) as proc:
        def serving() -> bool:
            assert proc.poll() is None, log.read_text()
            return http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200

        wait_for(serving, 30, "tierwatch to serve")
        wait_for(lambda: wal.exists() and shm.exists(), 30, "the store's WAL")
        assert {p.name: _mode(p) for p in (store, wal, shm)} == {
            "tierwatch.sqlite": "0o600", "tierwatch.sqlite-wal": "0o600",
            "tierwatch.sqlite-shm": "0o600"}
        # the month's report from the command line, beside the running service
        made = subprocess.run(tierwatch_cmd("report", "-c", str(config), "--lang", "en"),
                              env=env_with_repo(), capture_output=True, text=True,
                              timeout=120, umask=0o022)
        assert made.returncode == 0, made.stderr
        written = sorted((tmp_path / "reports").iterdir())
        assert [p.suffix for p in written] == [".html", ".json"]
        assert {_mode(p) for p in written} == {"0o640"}
        assert proc.poll() is None, log.read_text()
    assert proc.returncode == 0, log.read_text()
    assert _mode(store) == "0o600"
