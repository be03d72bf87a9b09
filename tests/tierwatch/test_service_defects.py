"""A defect at the poll boundary (an exception no engine should raise) is a counted poll
error with its reason, and its traceback is logged once per device, not once per poll."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from collector.snmp.client import FakeSnmpClient, Value
from tierwatch.config import parse
from tierwatch.service import Service


class Broken(FakeSnmpClient):
    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        raise RuntimeError("a bug in an engine")


async def test_a_defect_is_counted_each_poll_and_its_traceback_logged_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = parse(
        "site: {name: T}\n"
        f"store: {{url: 'sqlite:///{tmp_path}/store.sqlite'}}\n"
        "credentials:\n  v2: {version: 2c, community: public}\n"
        "devices:\n  - {id: auto-1, address: '127.0.0.1:9', credentials: v2, "
        "profile: auto}\n"
    ).config
    service = Service(config)
    service.snmp.devices["auto-1"].client = Broken({})  # resolving `auto` asks sysObjectID
    with caplog.at_level(logging.INFO, logger="tierwatch.service"):
        for _ in range(3):
            await service.poll_once("auto-1")
    device = service.state.devices["auto-1"]
    assert device.poll_errors_total == {"internal": 3}
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1
    assert "RuntimeError" in device.last_error_message
