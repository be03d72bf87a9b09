"""What tierwatch leaves on disk: the store (and its -wal, -shm) 0600, reports 0640, under
a shell's umask 022 as under systemd's 027; reports fsync'd before and after their rename."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from report.monthly import write_reports
from tests.report import seed
from tests.report.seed import MONTH, NOW
from tierwatch.core.store import Store
from tierwatch.service import report_settings


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # what a login shell has: files 0644 unless the code says otherwise
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_and_its_wal_are_0600_under_umask_022(tmp_path: Path, umask_022: None) -> None:
    db = tmp_path / "state" / "tierwatch.sqlite"
    store = Store.open(f"sqlite:///{db}")
    try:
        seed.seed(store)  # writes go to the WAL while a connection is open
        wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: oct(mode(p)) for p in (db, wal, shm)} == {
            "tierwatch.sqlite": "0o600", "tierwatch.sqlite-wal": "0o600",
            "tierwatch.sqlite-shm": "0o600"}
    finally:
        store.close()


def test_an_existing_open_store_is_kept_but_named(tmp_path: Path, umask_022: None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "old.sqlite"
    Store.open(f"sqlite:///{db}").close()
    db.chmod(0o644)  # made by an older tierwatch
    Store.open(f"sqlite:///{db}").close()
    assert mode(db) == 0o644  # the operator's to change, not ours
    assert f"chmod 600 {db}" in caplog.text


def test_reports_are_0640_and_fsynced_before_and_after_the_rename(
        tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    config = seed.config(tmp_path, url)
    store = Store.open(url)
    seed.seed(store)
    real_fsync = os.fsync
    synced: list[tuple[str, set[str]]] = []  # what was fsync'd, and what the dir held then

    def recording_fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        reports = tmp_path / "reports"
        synced.append((target, set(os.listdir(reports)) if reports.exists() else set()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    try:
        done = write_reports(store, report_settings(config), MONTH, NOW, languages=["en"],
                             formats=["json", "html"])
    finally:
        store.close()
    monkeypatch.undo()
    reports = tmp_path / "reports"
    json_name, html_name = (f"tierwatch-report-2026-10-en.{ext}" for ext in ("json", "html"))
    assert sorted(p.name for p in reports.iterdir()) == sorted([json_name, html_name])
    assert {p.name: oct(mode(p)) for p in reports.iterdir()} == {
        json_name: "0o640", html_name: "0o640"}
    assert [f.path.name for f in done.files] == [json_name, html_name]
    # each file: its data fsync'd under the temporary name, then (renamed) the directory's
    assert synced == [
        (str(reports / f".{json_name}.tmp"), {f".{json_name}.tmp"}),
        (str(reports), {json_name}),
        (str(reports / f".{html_name}.tmp"), {json_name, f".{html_name}.tmp"}),
        (str(reports), {json_name, html_name}),
    ]


def test_a_failed_report_write_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tierwatch.core.files import REPORT_MODE, replace_durably

    target = tmp_path / "r.json"
    replace_durably(target, b'{"old": true}', REPORT_MODE)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        replace_durably(target, b'{"new": true}', REPORT_MODE)
    monkeypatch.undo()
    assert target.read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
