"""Spoofing attacks on the native engine, mounted for real: a Net-SNMP snmpd (authPriv
SHA/AES) behind a relay that delays its answers by 30 ms, and an attacker on loopback who
sniffs the engine's requests (AF_PACKET) and answers first from the relay's address and port
(raw socket), as anyone on the path to a device could (tests/helpers/spoof.py).

Each attack got through before issue 13; each is refused now, counted by reason, and the
genuine answer still ends the request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from collector.snmp import ber, message, native_engine, transport, usm
from collector.snmp.client import SnmpError, Target, Value
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd, snmpd_available
from tests.helpers.spoof import (
    NOT_IN_TIME_WINDOWS,
    WRONG_DIGESTS,
    Attacker,
    DelayRelay,
    Sniffed,
    downgraded_response,
    forged_discovery,
    predicted_responses,
    unauthenticated_report,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not snmpd_available(), reason="Net-SNMP snmpd and tools not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="raw and packet sockets need root"),
]

USER = SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")
SYS_DESCR, SYS_UPTIME, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"
ASKED = [SYS_NAME, SYS_DESCR, SYS_UPTIME]
FORGED_NAME = b"FORGED-NAME"
FORGED = [(SYS_NAME, ber.OCTET_STRING, FORGED_NAME), (SYS_DESCR, ber.OCTET_STRING, b"FORGED"),
          (SYS_UPTIME, ber.TIMETICKS, 5)]
T = TypeVar("T")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with run_snmpd(tmp_path_factory.mktemp("snmpd"), communities=["public"],
                   users=[USER]) as running:
        yield running


@pytest.fixture
def relay(agent: Agent) -> Iterator[DelayRelay]:
    with DelayRelay((agent.host, agent.port), delay=0.03) as running:
        yield running


def run(coro: Coroutine[Any, Any, T]) -> T:
    async def with_cleanup() -> T:
        try:
            return await coro
        finally:
            transport.close_all()

    return asyncio.run(with_cleanup())


def v3_target(relay: DelayRelay, agent: Agent, **kw: Any) -> Target:
    kw.setdefault("timeout", 1.0)
    kw.setdefault("retries", 0)
    return Target(relay.host, relay.port, agent.credentials("3", user="ops"), **kw)


def genuine(agent: Agent) -> dict[str, Value]:
    """What snmpget reads straight from the agent (no relay, no attacker)."""
    return {oid: value for oid, value, _ in agent.get_cli(ASKED, "3", user="ops")}


def dropped() -> dict[str, int]:
    return transport.transport_stats()


def delta(before: dict[str, int], reason: str) -> int:
    return transport.transport_stats()[reason] - before[reason]


async def gets(client: native_engine.NativeSnmpClient, n: int, oids: list[str] = ASKED
               ) -> list[dict[str, Value] | SnmpError]:
    results: list[dict[str, Value] | SnmpError] = []
    for _ in range(n):
        try:
            results.append(await client.get(oids))
        except SnmpError as exc:
            results.append(exc)
    return results


def assert_genuine(got: dict[str, Value], reference: dict[str, Value]) -> None:
    assert got[SYS_NAME] == reference[SYS_NAME]
    assert got[SYS_DESCR] == reference[SYS_DESCR]
    uptime = got[SYS_UPTIME]
    assert isinstance(uptime, int) and uptime >= reference[SYS_UPTIME]  # type: ignore[operator]


# -- item 1: downgrade --------------------------------------------------------------------


def test_downgraded_responses_are_refused_and_the_genuine_answer_wins(
        agent: Agent, relay: DelayRelay) -> None:
    """Every authPriv request is answered first by a noAuthNoPriv Response carrying a forged
    sysName, sysDescr and a small sysUpTime (a false reboot)."""
    reference = genuine(agent)
    before = dropped()

    async def scenario() -> list[dict[str, Value] | SnmpError]:
        client = native_engine.open_client(v3_target(relay, agent))
        with Attacker(relay, downgraded_response(FORGED)) as attacker:
            results = await gets(client, 10)
        await client.close()
        assert attacker.forged >= 10, "the attack was mounted on every secured request"
        return results

    results = run(scenario())
    for got in results:
        assert isinstance(got, dict), got  # the genuine answer still ended each request
        assert_genuine(got, reference)
    assert delta(before, "wrong_security_level") >= 1
    assert delta(before, "wrong_security_level") + delta(before, "unknown_id") >= 10


# -- item 2: predictable ids --------------------------------------------------------------


def test_ids_seen_for_one_device_do_not_predict_another_devices(agent: Agent) -> None:
    """A blind attacker sees only the requests to device A and answers device B's requests
    with guessed request-ids (A's, give or take three), from B's address. With one counter
    for every device, B's ids were A's plus one."""
    reference = agent.get_cli([SYS_NAME], "2c")[0][1]
    forged = [(SYS_NAME, ber.OCTET_STRING, FORGED_NAME)]
    before = dropped()
    with DelayRelay((agent.host, agent.port), 0.03) as relay_a, \
            DelayRelay((agent.host, agent.port), 0.03) as relay_b:

        async def scenario() -> list[Any]:
            a = native_engine.open_client(
                Target(relay_a.host, relay_a.port, agent.credentials("2c"), timeout=1.0))
            b = native_engine.open_client(
                Target(relay_b.host, relay_b.port, agent.credentials("2c"), timeout=1.0))
            guess = predicted_responses(forged, [-3, -2, -1, 1, 2, 3])
            with Attacker(relay_a, guess, pose_as=relay_b.address) as attacker:
                rounds = [await asyncio.gather(a.get([SYS_NAME]), b.get([SYS_NAME]))
                          for _ in range(20)]
            await a.close()
            await b.close()
            assert attacker.forged >= 20 * 6
            return rounds

        rounds = run(scenario())
    for got_a, got_b in rounds:
        assert got_b == {SYS_NAME: reference}  # never FORGED_NAME
        assert got_a == {SYS_NAME: reference}
    assert delta(before, "unknown_id") >= 20 * 6


def _decrypt_request(data: bytes) -> tuple[int, int]:
    """(msgID, request-id) of one of our authPriv requests, decrypted by pysnmp's AES."""
    import pysnmp.proto.secmod.rfc3414.service  # noqa: F401  (pysnmp's own import order)
    from pyasn1.type import univ
    from pysnmp.proto.secmod.rfc3826.priv import aes

    msg = message.parse_v3_message(data)
    key = usm.priv_key(b"privpass123", msg.engine_id, "SHA", "AES")
    plain = aes.Aes().decrypt_data(
        univ.OctetString(key),
        (msg.engine_boots, msg.engine_time, univ.OctetString(msg.priv_params)),
        univ.OctetString(msg.scoped))
    pdu = message.decode_scoped_pdu(bytes(plain)).pdu
    assert isinstance(pdu, message.Pdu)
    return msg.msg_id, pdu.request_id


def test_msg_ids_and_request_ids_are_unpredictable_and_independent(
        agent: Agent, relay: DelayRelay) -> None:
    """What a sniffer sees of 40 authPriv requests: the msgIDs in clear, and (decrypted
    here with the keys) the request-ids. Neither follows from the last, nor from each
    other."""

    async def scenario() -> list[Sniffed]:
        client = native_engine.open_client(v3_target(relay, agent))
        with Attacker(relay, lambda request: [], active=False) as sniffer:
            await gets(client, 40, [SYS_NAME])
        await client.close()
        return sniffer.requests

    requests = run(scenario())
    secured = [r.payload for r in requests
               if message.parse_v3_message(r.payload).flags & message.FLAG_AUTH]
    assert len(secured) >= 40
    ids = [_decrypt_request(data) for data in secured]
    msg_ids = [m for m, _ in ids]
    request_ids = [r for _, r in ids]
    assert all(m != r for m, r in ids)  # msgID is not the request-id
    assert len({m - r for m, r in ids}) > 1  # nor a fixed offset from it
    for series in (msg_ids, request_ids):
        steps = {b - a for a, b in itertools.pairwise(series)}
        assert len(steps) > len(series) // 2, series  # no counter: steps all differ
        assert all(0 < i < 2**31 for i in series)


# -- item 3: clock poisoning ----------------------------------------------------------------


@pytest.mark.parametrize(("engine_time", "reason"), [
    (2**32 - 5, "out_of_range"),  # past any clock an agent can have
    (2**31 - 2, "unauthenticated_report"),  # in range, but anyone could have sent it
])
def test_spoofed_time_report_moves_no_clock(agent: Agent, relay: DelayRelay,
                                           engine_time: int, reason: str) -> None:
    """The first secured request is answered first by an unauthenticated notInTimeWindows
    Report with a poisoned engine time. It must not end the request, nor move the clock,
    nor make us resend: the genuine Response 30 ms later ends the request."""
    reference = genuine(agent)
    before = dropped()

    async def scenario() -> tuple[list[Any], int, int]:
        client = native_engine.open_client(v3_target(relay, agent))
        forge = unauthenticated_report(NOT_IN_TIME_WINDOWS, engine_time=engine_time, count=1)
        with Attacker(relay, forge) as attacker:
            results = await gets(client, 1)
        assert attacker.forged == 1
        sent = client.requests  # the discovery probe and one request
        assert client._usm is not None
        clock = client._usm.engine_time()
        results += await gets(client, 3)
        await client.close()
        return results, sent, clock

    results, sent, clock = run(scenario())
    for got in results:
        assert isinstance(got, dict), got
        assert_genuine(got, reference)
    assert sent == 2
    assert clock < 2**31 - 1000  # snmpd's own clock: it started seconds ago
    assert delta(before, reason) == 1


def test_discovery_answer_with_an_impossible_clock_is_refused(
        agent: Agent, relay: DelayRelay) -> None:
    """A forged discovery Report whose engineBoots (2^32+7, a 5-octet INTEGER) no AES IV
    can hold: it once made every later request of the session raise OverflowError."""
    reference = genuine(agent)
    before = dropped()

    async def scenario() -> list[Any]:
        client = native_engine.open_client(v3_target(relay, agent))
        forge = forged_discovery(b"\x80\x00\x1f\x88\x04forged", 2**32 + 7, 100)
        with Attacker(relay, forge) as attacker:
            results = await gets(client, 3)
        assert attacker.forged >= 1
        await client.close()
        return results

    for got in run(scenario()):
        assert isinstance(got, dict), got
        assert_genuine(got, reference)
    assert delta(before, "out_of_range") >= 1


def test_a_session_poisoned_through_discovery_heals_once_the_attack_stops(
        agent: Agent, relay: DelayRelay) -> None:
    """Discovery cannot be authenticated (RFC 3414 4): a well-formed forged discovery
    Report that arrives first names the engine, and the session fails while the attack
    lasts (its keys are localized to an engine ID the agent does not have, and no forged
    value can authenticate under them). Once it stops, the next poll discovers the agent
    again."""
    reference = genuine(agent)

    async def scenario() -> tuple[list[Any], list[Any]]:
        client = native_engine.open_client(v3_target(relay, agent))
        forge = forged_discovery(b"\x80\x00\x1f\x88\x04forged", 1, 100)
        with Attacker(relay, forge):
            during = await gets(client, 1)
        after = await gets(client, 2)
        await client.close()
        return during, after

    during, after = run(scenario())
    if isinstance(during[0], dict):  # the genuine discovery answer came first after all
        assert_genuine(during[0], reference)
    for got in after:
        assert isinstance(got, dict), got
        assert_genuine(got, reference)


# -- item 4: the first answer does not win --------------------------------------------------


def test_spoofed_wrong_digest_reports_do_not_end_polls(agent: Agent, relay: DelayRelay) -> None:
    """Every secured request is answered first by an unauthenticated usmStatsWrongDigests
    Report, as if our password were wrong: at least 9 of 10 polls still succeed."""
    reference = genuine(agent)
    before = dropped()

    async def scenario() -> list[Any]:
        client = native_engine.open_client(v3_target(relay, agent))
        with Attacker(relay, unauthenticated_report(WRONG_DIGESTS)) as attacker:
            results = await gets(client, 10)
        assert attacker.forged >= 10
        await client.close()
        return results

    results = run(scenario())
    good = [got for got in results if isinstance(got, dict)]
    assert len(good) >= 9, results
    for got in good:
        assert_genuine(got, reference)
    assert delta(before, "unauthenticated_report") >= 1


def test_a_real_wrong_password_is_still_named_at_the_deadline(agent: Agent,
                                                              relay: DelayRelay) -> None:
    """The other side of item 4: with a wrong password nothing authentic ever answers, and
    the unauthenticated wrongDigests Report the agent sent becomes the poll's error."""
    credentials = dataclasses.replace(agent.credentials("3", user="ops"), auth_key="not-it")
    wrong = Target(relay.host, relay.port, credentials, timeout=0.5, retries=0)

    async def scenario() -> Any:
        client = native_engine.open_client(wrong)
        try:
            return (await gets(client, 1))[0]
        finally:
            await client.close()

    error = run(scenario())
    assert isinstance(error, SnmpError) and error.reason == "auth"
    assert "wrong digest" in str(error) and "unauthenticated" in str(error)

