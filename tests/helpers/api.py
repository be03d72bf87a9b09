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
from tierwatch.model import ComponentStatus, PollResult, Sample, Status
from tierwatch.service import Service
from tierwatch.store import Store

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
    service.store = Store.open(config.store.url)
    if seed is not None:
        seed(service.store)
    tokens = {role: create_token(service.store, f"{role}-person", role, NOW - 10)[1]
              for role in ("viewer", "operator", "admin")}
    client = TestClient(create_app(service), raise_server_exceptions=False)
    return Api(client, service, service.store, tokens)


def api_context(config: Config, seed: Any = None) -> Iterator[Api]:
    api = make_api(config, seed)
    try:
        yield api
    finally:
        api.client.close()
        api.store.close()


def demo_like_config(tmp: Path, **sections: Any) -> Config:
    """The seeded report month's config (tests/unit/report/seed.py) with overrides."""
    from tests.unit.report import seed

    cfg = seed.config(tmp, f"sqlite:///{tmp / 'api.sqlite'}")
    data = cfg.model_dump(mode="json", exclude={"source"})
    data["credentials"] = {"c": {"version": "2c", "community": "public"}}
    data.update(sections)
    return Config.model_validate(data)
