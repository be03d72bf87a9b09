"""An API over a service that does not poll: a seeded store, statuses set by hand, and
one token per role. For in-process tests of routes, security and the status page."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.main import create_app
from api.tokens import create_token
from tierwatch.config import Config
from tierwatch.core.model import ComponentStatus, PollResult, Sample, Status
from tierwatch.core.store import Store
from tierwatch.service import Service

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette deprecates httpx in its test client
    from fastapi.testclient import TestClient

NOW = 1_800_000_000.0


@dataclass
class Api:
    client: TestClient
    service: Service
    store: Store
    tokens: dict[str, str]  # role -> token

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def poll(self, device: str, status: Status = Status.OK, conditions: frozenset[str] = (
            frozenset()), ts: float = NOW, samples: list[Sample] | None = None,
             component: str = "ups", reason: str = "") -> None:
        """Fold a poll result into the state, as a real poll would."""
        self.service.state.update(PollResult(
            device, ts, samples=samples or [Sample("x_value", {"device": device}, 1.0, ts)],
            components=[ComponentStatus(component, status, reason or str(status),
                                        conditions)]))


def make_api(config: Config, seed: Any = None) -> Api:
    service = Service(config)
    service.store = Store.open(config.store.resolved_url())
    if seed is not None:
        seed(service.store)
    tokens = {role: create_token(service.store, f"{role}-person", role, NOW - 10)[1]
              for role in ("viewer", "operator", "admin")}
    client = TestClient(create_app(service.api_context()), raise_server_exceptions=False)
    return Api(client, service, service.store, tokens)


def api_context(config: Config, seed: Any = None) -> Iterator[Api]:
    api = make_api(config, seed)
    try:
        yield api
    finally:
        api.client.close()
        api.store.close()


def demo_like_config(tmp: Path, **sections: Any) -> Config:
    """The seeded report month's config (tests/report/seed.py) with overrides."""
    from tests.report import seed

    cfg = seed.config(tmp, f"sqlite:///{tmp / 'api.sqlite'}")
    data = cfg.model_dump(mode="json", exclude={"source"})
    data["credentials"] = {"c": {"version": "2c", "community": "public"}}
    data.update(sections)
    return Config.model_validate(data)


@dataclass
class Instance:
    """A `tierwatch run` process serving the API on a free loopback port."""

    url: str
    tokens: dict[str, str]
    config_path: Path
    log: Path

    def request(self, method: str, path: str, body: Any = None, role: str | None = None
                ) -> tuple[int, Any]:
        import json
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if role is not None:
            req.add_header("Authorization", f"Bearer {self.tokens[role]}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def run_instance(tmp: Path, **sections: Any) -> Iterator[Instance]:
    """The seeded report month's store and topology behind a real `tierwatch run`; its
    devices point at closed loopback ports (they go unknown). Reports in json and html."""
    import json
    import time

    import yaml

    from tests.helpers.procs import (
        env_with_repo,
        free_port,
        http_get,
        process,
        tierwatch_cmd,
        wait_for,
    )
    from tests.report import seed

    cfg = demo_like_config(tmp)
    data = json.loads(json.dumps(cfg.model_dump(mode="json", exclude={"source"})))
    data["credentials"] = {"c": {"version": "2c", "community": "public"}}
    data["reports"] = {"dir": "reports", "formats": ["json", "html"], "schedule": False}
    for device in data["devices"]:
        device["address"] = f"127.0.0.1:{free_port()}"
    data.update(sections)
    path = tmp / "tierwatch.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    store = Store.open(data["store"]["url"])
    seed.seed(store)
    tokens = {role: create_token(store, f"{role}-person", role, time.time())[1]
              for role in ("viewer", "operator", "admin")}
    store.close()
    port = free_port()
    log = tmp / "tierwatch.log"
    cmd = tierwatch_cmd("run", "-c", str(path), "--listen", f"127.0.0.1:{port}")
    with process(cmd, log, env=env_with_repo()) as proc:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"tierwatch exited:\n{log.read_text()}")
            return http_get(f"{url}/healthz")[0] == 200

        wait_for(up, 30, "tierwatch to serve")
        yield Instance(url, tokens, path, log)
