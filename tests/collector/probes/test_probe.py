"""Probes: windows (loss, latency, jitter), check statuses, rounds, real loopback attempts."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Iterator

import pytest

from collector.probes.icmp import (
    DEST_UNREACHABLE,
    ECHO_REPLY,
    IcmpSocket,
    IcmpUnavailable,
    ProbeFailure,
    checksum,
)
from collector.probes.probe import (
    Attempt,
    Check,
    Prober,
    ProbeTarget,
    Thresholds,
    Window,
    judge,
    probe_round,
    tcp_connect,
    uplink_components,
)
from tierwatch.core.model import DEVICE_COMPONENT, ComponentStatus, Status
from tierwatch.core.state import State

MS = 0.001


def window(*attempts: Attempt, size: int = 10) -> Window:
    w = Window(size)
    for a in attempts:
        w.add(a)
    return w


OK = Attempt("ok", 10 * MS)
LOST = Attempt("timeout", None, "no echo reply within 1s")


def ok(ms: float) -> Attempt:
    return Attempt("ok", ms * MS)


def test_window_loss_rtt_and_jitter_by_hand() -> None:
    w = window(ok(10), ok(14), LOST, ok(12), ok(20))
    assert w.loss == pytest.approx(1 / 5)
    assert w.rtt_mean == pytest.approx((10 + 14 + 12 + 20) / 4 * MS)
    # successive answered RTTs: 10->14->12->20: |4|, |2|, |8| -> 14/3 ms
    assert w.jitter == pytest.approx(14 / 3 * MS)
    assert w.unanswered_in_a_row == 0


def test_window_slides() -> None:
    w = window(LOST, LOST, LOST, ok(5), ok(5), ok(5), size=4)
    assert len(w.attempts) == 4
    assert w.loss == pytest.approx(1 / 4)
    assert w.jitter == 0.0


def test_jitter_needs_two_answers() -> None:
    assert window(ok(3)).jitter is None
    assert window(LOST, LOST).rtt_mean is None


CHECK = Check("icmp 10.0.0.1", "icmp", "10.0.0.1")
TCP = Check("tcp 10.0.0.1:22", "tcp", "10.0.0.1", 22)
LIMITS = Thresholds(loss=0.2, rtt=50 * MS, jitter=10 * MS, fail_after=3)

JUDGE = [
    ("all answered", CHECK, [OK] * 5, Status.OK, set()),
    ("one lost just now", CHECK, [OK] * 9 + [LOST], Status.DEGRADED, {"packet_loss"}),
    ("lost twice in a row", CHECK, [OK] * 8 + [LOST] * 2, Status.DEGRADED, {"packet_loss"}),
    ("lost fail_after times in a row", CHECK, [OK] * 7 + [LOST] * 3, Status.FAILED,
     {"no_reply"}),
    ("2 of 10 lost earlier", CHECK, [LOST, OK, LOST] + [OK] * 7, Status.DEGRADED,
     {"packet_loss"}),
    ("1 of 10 lost earlier", CHECK, [LOST] + [OK] * 9, Status.OK, set()),
    ("slow", CHECK, [ok(60)] * 5, Status.DEGRADED, {"slow"}),
    ("jittery", CHECK, [ok(5), ok(30), ok(5), ok(30)], Status.DEGRADED, {"jitter"}),
    ("port closed", TCP, [OK, Attempt("refused", None)], Status.FAILED, {"port_closed"}),
    ("answers again", CHECK, [LOST] * 3 + [OK] * 7, Status.DEGRADED, {"packet_loss"}),
]


@pytest.mark.parametrize(("what", "check", "attempts", "status", "conditions"), JUDGE,
                         ids=[c[0] for c in JUDGE])
def test_judge(what: str, check: Check, attempts: list[Attempt], status: Status,
               conditions: set[str]) -> None:
    result = judge(check, window(*attempts), LIMITS)
    assert (result.status, set(result.conditions)) == (status, conditions), result.reason
    assert result.component == check.name
    if status != Status.OK:
        assert check.target in result.reason


class ScriptedProber(Prober):
    """Answers each check from a script: {check name: [Attempt, ...]} in order."""

    def __init__(self, script: dict[str, list[Attempt]]) -> None:
        super().__init__(None)
        self.script = {k: iter(v) for k, v in script.items()}

    async def attempt(self, check: Check) -> Attempt:
        return next(self.script[check.name])


def target(*checks: Check, fail_after: int = 3) -> ProbeTarget:
    return ProbeTarget("site-a", list(checks), {"device": "site-a", "district": "d1"},
                       Thresholds(fail_after=fail_after), window=5)


async def test_a_round_with_no_answer_is_a_failed_poll_that_still_reports_loss() -> None:
    t = target(CHECK, TCP)
    prober = ScriptedProber({CHECK.name: [OK, LOST], TCP.name: [OK, LOST]})
    first = await probe_round(t, prober, now=1.0)
    assert first.ok and {c.status for c in first.components} == {Status.OK}
    second = await probe_round(t, prober, now=2.0)
    assert (second.ok, second.error) == (False, "timeout")
    loss = {s.labels["check"]: s.value for s in second.samples if s.name == "probe_loss_ratio"}
    assert loss == {CHECK.name: 0.5, TCP.name: 0.5}
    success = [s for s in second.samples if s.name == "probe_success"]
    assert {s.value for s in success} == {0.0}
    assert success[0].labels == {"device": "site-a", "district": "d1", "check": CHECK.name,
                                 "method": "icmp", "target": "10.0.0.1"}


async def test_a_closed_port_is_an_answer_the_site_is_up_its_service_failed() -> None:
    t = target(TCP)
    result = await probe_round(t, ScriptedProber({TCP.name: [Attempt("refused", 0.2 * MS)]}),
                               now=1.0)
    assert result.ok
    (comp,) = result.components
    assert comp.status == Status.FAILED and "port_closed" in comp.conditions
    state = State(["site-a"])
    state.update(result)
    assert state.devices["site-a"].reachable is True
    assert state.devices["site-a"].status == Status.FAILED


async def test_rounds_through_the_state_unreachable_after_n_and_back() -> None:
    """Probe rounds take the SNMP road: N failed rounds make the site unreachable (unknown,
    an outage for the store), the first answered round brings it back."""
    t = target(CHECK, fail_after=2)
    prober = ScriptedProber({CHECK.name: [OK, LOST, LOST, LOST, OK]})
    state = State(["site-a"], unreachable_after=5)
    state.set_unreachable_after("site-a", 2)
    seen: list[tuple[str, Status | None, Status]] = []
    state.subscribe(lambda changes: seen.extend((c.component, c.old, c.new) for c in changes))
    statuses = []
    for ts in range(5):
        state.update(await probe_round(t, prober, now=float(ts)))
        dev = state.devices["site-a"]
        statuses.append((dev.status, dev.reachable))
    assert statuses == [(Status.OK, True), (Status.OK, True), (Status.UNKNOWN, False),
                        (Status.UNKNOWN, False), (Status.DEGRADED, True)]
    dev = state.devices["site-a"]
    assert dev.poll_errors_total == {"timeout": 3}
    assert (DEVICE_COMPONENT, Status.OK, Status.UNKNOWN) in seen
    assert (DEVICE_COMPONENT, Status.UNKNOWN, Status.DEGRADED) in seen  # back, 3/5 lost
    # while unreachable the probe's own samples stay: loss is what an operator wants to see
    assert any(s.name == "probe_loss_ratio" for s in dev.samples)


R = "edge-w7"


def statuses(**ports: Status) -> dict[tuple[str, str], ComponentStatus]:
    return {(R, f"port {name}"): ComponentStatus(f"port {name}", s, f"port {name} is {s}")
            for name, s in ports.items()}


UPLINKS = [
    ("both up", statuses(ge0=Status.OK, ge1=Status.OK), True,
     {"uplink port ge0": (Status.OK, True), "uplink port ge1": (Status.OK, True)}),
    ("one down", statuses(ge0=Status.FAILED, ge1=Status.OK), True,
     {"uplink port ge0": (Status.DEGRADED, True), "uplink port ge1": (Status.OK, True)}),
    ("both down", statuses(ge0=Status.FAILED, ge1=Status.FAILED), True,
     {"uplink port ge0": (Status.FAILED, True), "uplink port ge1": (Status.FAILED, True)}),
    ("router unreachable", statuses(ge0=Status.UNKNOWN, ge1=Status.UNKNOWN), False,
     {"uplink port ge0": (Status.UNKNOWN, False), "uplink port ge1": (Status.UNKNOWN, False)}),
    ("interface not seen", statuses(ge0=Status.OK), True,
     {"uplink port ge0": (Status.OK, True), "uplink port ge1": (Status.UNKNOWN, False)}),
]


@pytest.mark.parametrize(("what", "seen", "reachable", "expected"), UPLINKS,
                         ids=[c[0] for c in UPLINKS])
def test_uplinks_from_the_edge_router(what: str, seen: dict[tuple[str, str], ComponentStatus],
                                      reachable: bool,
                                      expected: dict[str, tuple[Status, bool]]) -> None:
    got = uplink_components(R, ["port ge0", "port ge1"], seen, reachable)
    assert {c.component: (c.status, c.rollup) for c in got} == expected


# ---------------------------------------------------------------------- real sockets


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_tcp_connect_open_and_closed(listening: int) -> None:
    rtt = await tcp_connect("127.0.0.1", listening, 1.0)
    assert 0 < rtt < 1.0
    with pytest.raises(ConnectionRefusedError):
        await tcp_connect("127.0.0.1", closed_port(), 1.0)
    with pytest.raises(ProbeFailure) as info:
        await tcp_connect("no-such-host.invalid", 22, 2.0)
    assert info.value.outcome == "dns"


@pytest.fixture
def icmp() -> Iterator[IcmpSocket]:
    try:
        sock = IcmpSocket.open("auto")
    except IcmpUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield sock
    finally:
        sock.close()


async def test_icmp_echo_many_loopback_addresses_at_once(icmp: IcmpSocket) -> None:
    addresses = [f"127.0.{i // 200}.{i % 200 + 1}" for i in range(400)]
    rtts = await asyncio.gather(*(icmp.echo(a, 2.0) for a in addresses))
    assert all(0 <= r < 2.0 for r in rtts)
    assert (icmp.sent, icmp.received) == (400, 400)


async def test_prober_icmp_and_tcp_checks(icmp: IcmpSocket, listening: int) -> None:
    prober = Prober(icmp)
    checks = [Check("icmp", "icmp", "127.0.0.9"), Check("icmp name", "icmp", "localhost"),
              Check("tcp", "tcp", "127.0.0.1", listening),
              Check("closed", "tcp", "127.0.0.1", closed_port())]
    attempts = [await prober.attempt(c) for c in checks]
    assert [a.outcome for a in attempts] == ["ok", "ok", "ok", "refused"]


async def test_without_an_icmp_socket_icmp_checks_say_why() -> None:
    attempt = await Prober(None, "no ICMP here").attempt(CHECK)
    assert (attempt.outcome, attempt.message) == ("icmp_unavailable", "no ICMP here")


def test_checksum_of_a_known_echo_request() -> None:
    # type 8, code 0, id 0x1234, seq 1, payload "abcd": sum by hand = 0x0800 + 0x1234 +
    # 0x0001 + 0x6162 + 0x6364 = 0xDEFB -> one's complement 0x2104
    packet = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"abcd"
    assert checksum(packet) == 0x2104
    filled = struct.pack("!BBHHH", 8, 0, 0x2104, 0x1234, 1) + b"abcd"
    assert checksum(filled) == 0


async def test_replies_that_are_not_ours_are_ignored_and_counted(icmp: IcmpSocket) -> None:
    loop = asyncio.get_running_loop()
    icmp._attach()
    task = loop.create_task(icmp.echo("127.0.0.1", 1.0))
    await asyncio.sleep(0)  # the request is sent, its sequence pending
    seq = next(iter(icmp._pending)) if icmp._pending else None
    rtt = await task
    assert rtt >= 0 and seq is not None
    before = icmp.unmatched
    ip = bytes([0x45]) + bytes(19)  # a bare IPv4 header for the raw socket's view
    stranger = struct.pack("!BBHHH", ECHO_REPLY, 0, 0, icmp.ident, seq) + b"x" * 24
    icmp._handle(ip + stranger if icmp.mode == "raw" else stranger, "127.0.0.1", 0.0)
    assert icmp.unmatched == before + 1  # late or forged: counted, never matched


async def test_destination_unreachable_ends_a_raw_probe_early(icmp: IcmpSocket) -> None:
    if icmp.mode != "raw":
        pytest.skip("only a raw socket sees ICMP errors")
    loop = asyncio.get_running_loop()
    icmp._attach()
    future: asyncio.Future[float] = loop.create_future()
    from collector.probes.icmp import _Pending

    icmp._pending[7] = _Pending("198.18.0.9", future, 0.0)
    inner = bytes([0x45]) + bytes(19) + struct.pack("!BBHHH", 8, 0, 0, icmp.ident, 7)
    error = bytes([0x45]) + bytes(19) + struct.pack("!BBHHH", DEST_UNREACHABLE, 1, 0, 0, 0)
    icmp._handle(error + inner, "198.18.0.1", 0.0)
    with pytest.raises(ProbeFailure) as info:
        await future
    assert info.value.outcome == "unreachable" and "198.18.0.1" in str(info.value)
    del icmp._pending[7]
