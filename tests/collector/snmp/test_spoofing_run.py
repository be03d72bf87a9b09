"""Issue 13's attacks on a real `tierwatch run` polling a real snmpd (authPriv SHA/AES)
30 ms away (a relay), with an attacker on loopback answering first from the device's
address (tests/helpers/spoof.py):

- downgrade: no forged value anywhere (state and API, /metrics, store, log), no false
  reboot;
- wrong-digest Reports: at least 9 of 10 polls still succeed;
- a poisoned notInTimeWindows Report (engineTime 2^32-5): the device is polled
  successfully again within its next two polls.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.tokens import create_token
from collector.profiles import load_profiles
from collector.snmp import ber
from collector.snmp.poller import PollPlan
from tests.helpers.procs import wait_for
from tests.helpers.site import Tierwatch
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd, snmpd_available
from tests.helpers.spoof import (
    NOT_IN_TIME_WINDOWS,
    WRONG_DIGESTS,
    Attacker,
    DelayRelay,
    downgraded_response,
    unauthenticated_report,
)
from tierwatch.core.store import Store

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not snmpd_available(), reason="Net-SNMP snmpd and tools not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="raw and packet sockets need root"),
]

DEVICE = "pdu-far"
USER = SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")
# What a forger would put in the system profile's GET (the attacker knows the profile:
# tierwatch is open source): a new identity, and an uptime of 5 s with engine boots far
# ahead, which the reboot detector would take for a reboot.
FORGERIES = {
    "1.3.6.1.2.1.1.3.0": (ber.TIMETICKS, 500),  # sysUpTime
    "1.3.6.1.6.3.10.2.1.2.0": (ber.INTEGER, 999_999),  # snmpEngineBoots
    "1.3.6.1.2.1.25.1.1.0": (ber.TIMETICKS, 500),  # hrSystemUptime
    "1.3.6.1.2.1.1.1.0": (ber.OCTET_STRING, b"FORGED-DESCR"),
    "1.3.6.1.2.1.1.2.0": (ber.OBJECT_IDENTIFIER, "1.3.6.1.4.1.424242.1"),
    "1.3.6.1.2.1.1.5.0": (ber.OCTET_STRING, b"FORGED-NAME"),
    "1.3.6.1.2.1.1.6.0": (ber.OCTET_STRING, b"FORGED-LOCATION"),
}
MARKS = ("FORGED", "424242")


@dataclass
class Scene:
    agent: Agent
    relay: DelayRelay
    tw: Tierwatch
    store_path: Path
    token: str

    def counter(self, selector: str) -> float:
        return self.tw.metric(selector) or 0.0

    def polls(self) -> tuple[float, float]:
        """(polls, failed polls) of the device so far."""
        return (self.counter(f'tierwatch_polls_total{{device="{DEVICE}"}}'),
                self.counter(f'tierwatch_poll_errors_total{{device="{DEVICE}"}}'))

    def api(self, path: str) -> str:
        import urllib.request

        req = urllib.request.Request(self.tw.url + path,
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode("utf-8")

    def wait_polls(self, more: int, since: float) -> tuple[float, float]:
        def enough() -> tuple[float, float] | None:
            polls = self.polls()
            return polls if polls[0] >= since + more else None

        return wait_for(enough, 60, f"{more} more polls of {DEVICE}", interval=0.2)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    tmp = tmp_path_factory.mktemp("spoof-run")
    with run_snmpd(tmp, communities=[], users=[USER]) as agent, \
            DelayRelay((agent.host, agent.port), delay=0.03) as relay:
        store_path = tmp / "tierwatch.sqlite"
        store = Store.open(f"sqlite:///{store_path}")
        token = create_token(store, "viewer-person", "viewer", time.time())[1]
        store.close()
        config: dict[str, Any] = {
            "site": {"name": "Test DC", "timezone": "Asia/Ho_Chi_Minh"},
            "snmp": {"defaults": {"interval": 1, "timeout": 1, "retries": 1},
                     "unreachable_after": 2, "jitter": 0},
            "credentials": {"v3": {"version": "3", "user": "ops", "auth_protocol": "SHA",
                                   "auth_key": "authpass123", "priv_protocol": "AES",
                                   "priv_key": "privpass123"}},
            "devices": [{"id": DEVICE, "name": "PDU far away",
                         "address": f"{relay.host}:{relay.port}", "credentials": "v3",
                         "profile": "system"}],
            "store": {"url": f"sqlite:///{store_path}"},
        }
        tw = Tierwatch(tmp, config)
        try:
            tw.start()
            running = Scene(agent, relay, tw, store_path, token)

            def polled_ok() -> bool:
                polls, errors = running.polls()
                return polls >= 2 and errors == 0
            wait_for(polled_ok, 60, "the first good polls")
            yield running
        finally:
            tw.stop()


def forged_varbinds() -> list[tuple[str, int, object]]:
    """The forgeries in the order tierwatch asks for them (a strict engine checks it)."""
    plan = PollPlan(load_profiles(["system"]))
    return [(oid, *FORGERIES[oid]) for oid in plan.get_oids]


def test_downgrade_attack_leaves_no_forged_value_anywhere(scene: Scene) -> None:
    reboots = scene.counter(f'tierwatch_device_reboots_total{{device="{DEVICE}"}}')
    polls, errors = scene.polls()
    with Attacker(scene.relay, downgraded_response(forged_varbinds())) as attacker:
        after_polls, after_errors = scene.wait_polls(6, polls)
        metrics = scene.tw.metrics()
        detail = scene.api(f"/api/v1/devices/{DEVICE}")
        listing = scene.api("/api/v1/devices")
    assert attacker.forged >= 6, "every poll was attacked"
    assert after_errors - errors <= 1, "the genuine answers still ended the polls"
    # not in /metrics, not in the state the API serves
    for mark in MARKS:
        assert mark not in metrics
        assert mark not in detail and mark not in listing
    assert json.loads(detail)["samples"], "the device's own samples are there"
    genuine_name = scene.agent.get_cli(["1.3.6.1.2.1.1.5.0"], "3", user="ops")[0][1]
    assert f'sys_name="{genuine_name.decode()}"' in metrics  # type: ignore[union-attr]
    # no false reboot
    assert scene.counter(f'tierwatch_device_reboots_total{{device="{DEVICE}"}}') == reboots
    assert "rebooted" not in scene.tw.log.read_text(errors="replace")
    # not in the store (its file and write-ahead log, byte for byte)
    for path in scene.store_path.parent.glob(scene.store_path.name + "*"):
        assert b"FORGED" not in path.read_bytes(), path
    # refused, and counted
    assert scene.counter('tierwatch_snmp_dropped_total{reason="wrong_security_level"}') >= 1
    assert after_polls > polls


def test_wrong_digest_reports_leave_nine_polls_in_ten(scene: Scene) -> None:
    polls, errors = scene.polls()
    with Attacker(scene.relay, unauthenticated_report(WRONG_DIGESTS)) as attacker:
        after_polls, after_errors = scene.wait_polls(10, polls)
    made, failed = after_polls - polls, after_errors - errors
    assert attacker.forged >= 10
    assert made - failed >= 0.9 * made, (made, failed)
    assert scene.counter('tierwatch_snmp_dropped_total{reason="unauthenticated_report"}') >= 1


def test_poisoned_clock_report_device_polled_again_within_two_polls(scene: Scene) -> None:
    forge = unauthenticated_report(NOT_IN_TIME_WINDOWS, engine_time=2**32 - 5, count=1)
    with Attacker(scene.relay, forge) as attacker:
        wait_for(lambda: attacker.forged == 1, 30, "the poisoned Report")
        polls, errors = scene.polls()  # the poll it answered may still be running
        after_polls, after_errors = scene.wait_polls(2, polls)
    made, failed = after_polls - polls, after_errors - errors
    assert failed < made, "at least one of the next two polls succeeded"
    assert scene.counter('tierwatch_snmp_dropped_total{reason="out_of_range"}') >= 1
    assert "Traceback" not in scene.tw.log.read_text(errors="replace")
