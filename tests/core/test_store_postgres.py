"""The same store on a real PostgreSQL: migrations match the model, outages round-trip; a
password in `store.url` (from the environment or written in) works and is never shown."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.tokens import list_tokens
from tests.helpers.postgres import run_postgres
from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    process,
    tierwatch_cmd,
    wait_for,
)
from tierwatch.core.store import Store
from tierwatch.core.store.schema import metadata

pytestmark = pytest.mark.integration


def test_store_on_postgres() -> None:
    with run_postgres() as url:
        store = Store.open(url)
        try:
            with store.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            store.open_outage("load", "site-phong-an-khanh", 10.0, "mất đường truyền",
                              subsystem="network", affected=["site-phong-an-khanh"])
            store.close_outage("load", "site-phong-an-khanh", 70.0)
            (outage,) = store.outages()
            assert (outage.start, outage.end, outage.cause) == (10.0, 70.0, "mất đường truyền")
        finally:
            store.close()


# ------------------------------------------------------------------ store.url as a secret

# '%41' would turn into 'A' if anything unescaped it, '@' '/' ':' break a URL pasted raw
SECRET = "Zq9x%41p@ss/:w0rd-{7Q}"
WRONG = "Wr0ng-Zq9x-not-it"


def _leaks(text: str) -> list[str]:
    """Every form of a password that must never be shown: as set, %-escaped, unescaped."""
    forms = {SECRET, quote(SECRET, safe=""), quote(SECRET), unquote(SECRET), "p@ss/:w0rd",
             "p%40ss%2F%3Aw0rd", WRONG}
    return sorted(f for f in forms if f in text)


def _env(**extra: str) -> dict[str, str]:
    env = env_with_repo(**extra)
    env.pop("PGPASSWORD", None)  # libpq would fall back on it: the URL alone must work
    return env


def _config(tmp: Path, url: str, port: int) -> Path:
    path = tmp / f"tw-{port}.yaml"
    path.write_text(yaml.safe_dump({
        "site": {"name": "Trung tâm Dữ liệu Cần Thơ"},
        "server": {"listen": f"127.0.0.1:{port}"},
        "credentials": {"c": {"version": "2c", "community": "public"}},
        "devices": [{"id": "ups-a", "address": f"127.0.0.1:{free_port()}", "credentials": "c",
                     "profile": "apc-ups"}],
        "store": {"url": url},
    }, allow_unicode=True), encoding="utf-8")
    return path


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tierwatch_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=120)


def _serve_and_read(tmp: Path, config: Path, port: int, env: dict[str, str],
                    token: str | None) -> str:
    """Run `tierwatch run` (debug logging), read what it serves, stop it: everything it
    said and served, as one text."""
    log = tmp / f"run-{port}.log"
    url = f"http://127.0.0.1:{port}"
    seen = []
    cmd = tierwatch_cmd("--log-level", "debug", "run", "-c", str(config))
    with process(cmd, log, env=env) as proc:
        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            return http_get(f"{url}/healthz")[0] == 200

        wait_for(up, 60, "tierwatch to serve")
        wait_for(lambda: http_get(f"{url}/readyz")[0] == 200, 60, "the first poll round")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for path in ("/metrics", "/readyz", "/api/v1/devices", "/api/v1/devices/ups-a",
                         "/api/v1/tokens", "/api/v1/alerts?state=all", "/api/v1/reports",
                         "/api/v1/outages", "/api/v1/devices/no-such", "/openapi.json"):
                answer = client.get(path)
                assert answer.status_code in (200, 404), (path, answer.status_code)
                seen.append(f"{path} {answer.status_code}\n{answer.text}")
            assert client.get("/api/v1/devices").json()["total"] == 1
    assert proc.returncode == 0, log.read_text()
    return "\n".join([log.read_text(), *seen])


def test_store_url_password_from_the_environment_on_postgres(tmp_path: Path) -> None:
    """The documented `${PGPASSWORD}` form (here under a name libpq does not read itself)
    works for migrations, the commands and `run`; the password is never shown."""
    with run_postgres(password=SECRET) as base:
        url = base.replace("tierwatch@", "tierwatch:${TW_STORE_PASSWORD}@")
        env = _env(TW_STORE_PASSWORD=SECRET)
        config = _config(tmp_path, url, free_port())
        checked = _cli(env, "check", "-c", str(config))
        assert checked.returncode == 0 and "store.url" not in checked.stderr, checked.stderr
        made = _cli(env, "token", "create", "-c", str(config), "--role", "admin")
        assert made.returncode == 0, made.stderr  # the migrations ran on the way
        token = made.stdout.strip()
        listed = _cli(env, "token", "list", "-c", str(config))
        assert listed.returncode == 0 and " admin " in listed.stdout, listed.stderr
        served = _serve_and_read(tmp_path, config, int(yaml.safe_load(config.read_text())[
            "server"]["listen"].rsplit(":", 1)[1]), env, token)
        # the schema is the model's, on the database the password opened
        store = Store.open(base.replace("tierwatch@", f"tierwatch:{quote(SECRET, safe='')}@"))
        try:
            with store.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            assert [t.role for t in list_tokens(store)] == ["admin"]
            assert list(store.heartbeats()) == ["main"]  # the run wrote through it too
        finally:
            store.close()
        # a wrong password: one line naming the store, its password hidden
        refused = _cli(_env(TW_STORE_PASSWORD=WRONG), "run", "-c", str(config))
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        host_port = base.split("@", 1)[1]
        assert (f"error: the store postgresql+psycopg://tierwatch:***@{host_port} cannot be "
                "used: " in refused.stderr)
        assert "password authentication failed" in refused.stderr
        assert f"store postgresql+psycopg://tierwatch:***@{host_port}" in served  # the banner
        everything = "\n".join([checked.stdout, checked.stderr, made.stderr, listed.stdout,
                                listed.stderr, served, refused.stdout, refused.stderr])
        assert _leaks(everything) == []


def test_store_url_literal_password_works_warned_and_hidden(tmp_path: Path) -> None:
    """A password written in the URL, %-escaped as URLs need, crashed the start ('invalid
    interpolation syntax') and was printed whole; now it works, is warned about, hidden."""
    with run_postgres(password=SECRET) as base:
        url = base.replace("tierwatch@", f"tierwatch:{quote(SECRET, safe='')}@")
        env = _env()
        port = free_port()
        config = _config(tmp_path, url, port)
        checked = _cli(env, "check", "-c", str(config))
        assert checked.returncode == 0
        assert "store.url: password written literally in the URL" in checked.stderr
        made = _cli(env, "token", "create", "-c", str(config), "--role", "admin")
        assert made.returncode == 0, made.stderr
        listed = _cli(env, "token", "list", "-c", str(config))
        assert listed.returncode == 0 and " admin " in listed.stdout, listed.stderr
        served = _serve_and_read(tmp_path, config, port, env, made.stdout.strip())
        everything = "\n".join([checked.stdout, checked.stderr, made.stderr, listed.stdout,
                                listed.stderr, served])
        assert _leaks(everything) == []
