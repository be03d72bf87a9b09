"""Fuzzing the trap receiver: random datagrams, and genuine traps (a captured v1 trap, a v2c
trap and inform, a v3 discovery probe) with octets flipped, cut or inserted. Whatever
arrives, the receiver counts it exactly once, as handed on or refused, and never raises."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.snmp.client import Credentials
from collector.traps.receiver import TrapMessage, TrapReceiver
from tests.collector.traps.test_trap_codec import V1_TRAP, _v3, v2c

EXAMPLES = int(os.environ.get("TIERWATCH_FUZZ_EXAMPLES", "400"))
SEEDS = [V1_TRAP, v2c("a7"), v2c("a6"),
         # snmpinform's discovery probe: a GET with no varbinds, no engine, no user
         _v3(0x04, b"", b"", bytes.fromhex("3014" "0400" "0400" "a00e02046933121b020100020100"
                                           "3000"))]


def receiver() -> tuple[TrapReceiver, list[TrapMessage]]:
    handed: list[TrapMessage] = []
    ops = Credentials("3", user="ops", auth_protocol="SHA", auth_key="authpass123",
                      priv_protocol="AES", priv_key="privpass123")
    r = TrapReceiver(("127.0.0.1", 0), ["public"], [(ops, ["0x8000000001020304"])],
                     lambda m: handed.append(m) is None, rate=1e9, burst=10**9,
                     global_rate=1e9, global_burst=10**9, clock=lambda: 0.0)
    return r, handed


def check(data: bytes) -> None:
    r, handed = receiver()
    r.datagram(data, ("127.0.0.1", 40000))
    refused = sum(r.dropped.values())
    assert len(handed) + refused == 1, (data.hex(), r.dropped, handed)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_datagrams(data: bytes) -> None:
    check(data)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_damaged_notifications(seed: bytes, data: st.DataObject) -> None:
    damaged = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(0, len(damaged) - 1)))
        if kind == "flip" and damaged:
            damaged[at] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del damaged[at:]
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    check(bytes(damaged))


def test_the_seeds_are_handed_on_or_answered() -> None:
    for seed, outcome in zip(SEEDS, ["handed", "handed", "handed", "engine_discovery"],
                             strict=True):
        r, handed = receiver()
        r.datagram(seed, ("127.0.0.1", 40000))
        assert (len(handed) == 1) if outcome == "handed" else r.dropped[outcome] == 1
