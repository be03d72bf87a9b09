"""A damaged SQLite store stops a real `tierwatch run` with a sentence, not a traceback:
which file, what is wrong, what to do; exit 1; the file left as it was for the operator."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.procs import env_with_repo, free_port, tierwatch_cmd
from tests.report import seed
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration


def _truncate_half(path: Path) -> None:
    size = path.stat().st_size
    os.truncate(path, size // 2 - (size // 2) % 4096)  # whole pages lost from the end


def _truncate_mid_page(path: Path) -> None:
    os.truncate(path, 1000)  # not even the first page is whole


def _header_overwritten(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"\xa5" * 100)  # the 100-byte header: no longer "SQLite format 3\0"


def _schema_pages_overwritten(path: Path) -> None:
    with path.open("r+b") as f:  # keep the header; garble the rest of page 1 (the schema)
        f.seek(100)
        f.write(bytes(range(256)) * 15)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated-half": _truncate_half,
    "truncated-mid-page": _truncate_mid_page,
    "header-overwritten": _header_overwritten,
    "schema-overwritten": _schema_pages_overwritten,
}


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A store a real tierwatch made and used: a month of history, checkpointed, closed."""
    path = tmp_path / "state" / "tierwatch.sqlite"
    store = Store.open(f"sqlite:///{path}")
    seed.seed(store)
    store.close()
    assert not path.with_name(path.name + "-wal").exists()  # all of it in the file itself
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()
    assert path.stat().st_size > 4 * 4096
    return path


def _config(tmp_path: Path, store: Path) -> Path:
    config = tmp_path / "tierwatch.yaml"
    config.write_text(f'site: {{name: t}}\nstore: {{url: "sqlite:///{store}"}}\n',
                      encoding="utf-8")
    return config


def _tierwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tierwatch_cmd(*args), env=env_with_repo(), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_run_on_a_damaged_store_says_what_to_do(tmp_path: Path, store_file: Path,
                                                 damage: Callable[[Path], None]) -> None:
    damage(store_file)
    before = hashlib.sha256(store_file.read_bytes()).hexdigest()
    config = _config(tmp_path, store_file)
    done = _tierwatch("run", "-c", str(config), "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "File \"" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: the store {store_file} is damaged or is not an SQLite "
                           "database (SQLite: ")
    assert "Restore it from the last backup" in line
    assert f"mv {store_file} {store_file}.damaged" in line
    assert hashlib.sha256(store_file.read_bytes()).hexdigest() == before  # left for forensics
    # the other commands that open the store say the same
    listed = _tierwatch("token", "list", "-c", str(config))
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    assert listed.stderr.strip() == line


def test_moved_aside_the_run_starts_afresh(tmp_path: Path, store_file: Path) -> None:
    _header_overwritten(store_file)
    store_file.rename(store_file.with_name(store_file.name + ".damaged"))  # as the error says
    done = _tierwatch("token", "list", "-c", str(_config(tmp_path, store_file)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["key", "role", "created", "last", "used",
                                                    "expires", "name"]


def test_a_store_from_a_newer_version_is_named_as_such(tmp_path: Path,
                                                      store_file: Path) -> None:
    db = sqlite3.connect(store_file)
    with db:
        db.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    db.close()
    done = _tierwatch("run", "-c", str(_config(tmp_path, store_file)),
                      "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (f"error: the store {store_file} has a schema this tierwatch does not know "
            in done.stderr)
    assert "f00dfeedbeef" in done.stderr and "written by a newer version" in done.stderr
