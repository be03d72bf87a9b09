"""A throwaway PostgreSQL server for tests (Debian's postgresql), on a free loopback port.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is created
and run as the `postgres` system user (runuser). Stopped by PID when the context ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.procs import free_port, wait_for


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"PostgreSQL's {name} is not installed: run `make system`")
    return path


@contextlib.contextmanager
def run_postgres(password: str | None = None) -> Iterator[str]:
    """Yields an SQLAlchemy URL (psycopg 3) of an empty database `tierwatch`.

    With `password`, the role `tierwatch` has it and every connection must give it
    (scram-sha-256); the URL yielded then has no password in it: the caller puts it in
    (`postgresql+psycopg://tierwatch:...@127.0.0.1:PORT/tierwatch`)."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="tw-pg-"))
    data = base / "data"
    port = free_port()
    env = {**os.environ, "PGPASSWORD": password} if password is not None else None

    def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        full = ["runuser", "-u", "postgres", "--", *cmd] if as_root else list(cmd)
        return subprocess.run(full, capture_output=True, text=True, check=check, env=env)

    auth = ["--auth=trust"]
    if password is not None:
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
    if as_root:
        shutil.chown(base, "postgres")
        if password is not None:
            shutil.chown(base / "pwfile", "postgres")
    run(_bin("initdb"), "-D", str(data), "-U", "tierwatch", *auth, "-E", "UTF8",
        "--locale=C.UTF-8")
    log = base / "postgres.log"
    started = False
    try:
        run(_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base}",
            "start")
        started = True

        def accepting() -> bool:
            return run(_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port),
                       check=False).returncode == 0

        wait_for(accepting, 30, "postgres to accept connections")
        run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "tierwatch",
            "tierwatch")
        yield f"postgresql+psycopg://tierwatch@127.0.0.1:{port}/tierwatch"
    finally:
        if started:
            run(_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)
