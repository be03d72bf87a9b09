"""The v3 client against a fake agent on loopback that answers each request with a
script: genuine authPriv answers made with the real keys (by pysnmp's HMAC and AES, not
ours), and forged, replayed, tampered and reordered ones, and Reports. Hypothesis draws
the scripts (TIERWATCH_FUZZ_EXAMPLES for more than the default 30 examples). Whatever the
order, no forged or replayed value is ever returned, and a genuine answer that arrives
before the deadline ends the request.

Plus what the scripts cannot show: a session poisoned through discovery heals after
REDISCOVER_AFTER failures, ids are never reused while outstanding, and an exception inside
the engine is an error of the poll.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pysnmp.proto.secmod.rfc3414.service  # noqa: F401  (pysnmp's own import order)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth import hmacsha
from pysnmp.proto.secmod.rfc3826.priv import aes

from collector.snmp import ber, message, native_engine, transport
from collector.snmp.client import (
    Credentials,
    SnmpError,
    SnmpInternalError,
    Target,
)

ENGINE_ID = b"\x80\x00\x1f\x88\x04fake-agent"
OTHER_ENGINE = b"\x80\x00\x1f\x88\x04someone-else"
BOOTS = 3
SYS_NAME = "1.3.6.1.2.1.1.5.0"
USM_STATS = "1.3.6.1.6.3.15.1.1."
NOT_IN_TIME_WINDOWS, UNKNOWN_ENGINE_IDS, WRONG_DIGESTS = (
    USM_STATS + "2.0", USM_STATS + "4.0", USM_STATS + "5.0")
CREDENTIALS = Credentials(version="3", user="ops", auth_protocol="SHA",
                          auth_key="authpass123", priv_protocol="AES", priv_key="privpass123")


def _keys(auth_password: bytes, priv_password: bytes) -> tuple[bytes, bytes]:
    """Localized SHA keys by pysnmp (RFC 3414 A.2); AES-128 uses the first 16 octets."""
    auth = localkey.password_to_key_sha(univ.OctetString(auth_password),
                                        univ.OctetString(ENGINE_ID))
    priv = localkey.password_to_key_sha(univ.OctetString(priv_password),
                                        univ.OctetString(ENGINE_ID))
    return bytes(auth), bytes(priv)[:16]


REAL_KEYS = _keys(b"authpass123", b"privpass123")
WRONG_KEYS = _keys(b"guessed-pass", b"guessed-priv")


@dataclass
class Request:
    msg_id: int
    request_id: int


class FakeAgent(asyncio.DatagramProtocol):
    """A v3 agent for user ops (SHA/AES). Each secured request takes the next script from
    `scripts` (default: one genuine answer) and is answered with its events, in order."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.scripts: deque[list[str]] = deque()
        self.transport: asyncio.DatagramTransport | None = None
        self.genuine: list[bytes] = []  # every genuine value sent, in order
        self.sent_genuine: list[bytes] = []  # every genuine datagram (for replays)
        self.serial = itertools.count(1)
        self.ignore_engine: bytes | None = None  # requests to it get no answer at all
        self.discovery_engine = ENGINE_ID  # what discovery answers name

    def engine_time(self) -> int:
        return 1000 + int(time.monotonic() - self.started)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        msg = message.parse_v3_message(data)
        if not msg.flags & message.FLAG_AUTH:  # discovery
            probe = message.decode_scoped_pdu(msg.scoped).pdu
            assert isinstance(probe, message.Pdu)
            self.transport.sendto(self.report(
                msg.msg_id, UNKNOWN_ENGINE_IDS, rid=probe.request_id,
                engine_id=self.discovery_engine), addr)
            self.discovery_engine = ENGINE_ID
            return
        if msg.engine_id == self.ignore_engine:
            return
        hmacsha.HmacSha().authenticate_incoming_message(
            univ.OctetString(REAL_KEYS[0]), univ.OctetString(msg.auth_params), data)
        plain = aes.Aes().decrypt_data(
            univ.OctetString(REAL_KEYS[1]),
            (msg.engine_boots, msg.engine_time, univ.OctetString(msg.priv_params)),
            univ.OctetString(msg.scoped))
        pdu = message.decode_scoped_pdu(bytes(plain)).pdu
        assert isinstance(pdu, message.Pdu)
        request = Request(msg.msg_id, pdu.request_id)
        script = self.scripts.popleft() if self.scripts else ["genuine"]
        for event in script:
            for datagram in self.answer(event, request):
                self.transport.sendto(datagram, addr)

    # -- what each event sends

    def answer(self, event: str, r: Request) -> list[bytes]:
        now = self.engine_time()
        if event == "genuine":
            value = b"genuine-%d" % next(self.serial)
            self.genuine.append(value)
            data = self.response(r.msg_id, r.request_id, value)
            self.sent_genuine.append(data)
            return [data]
        if event == "replay":  # a genuine answer captured earlier (another msgID)
            return self.sent_genuine[-1:]
        if event == "forged_noauth":  # downgrade, the request-id guessed right
            return [self.response(r.msg_id, r.request_id, b"forged", flags=0)]
        if event == "forged_key":  # authPriv under keys from guessed passwords
            return [self.response(r.msg_id, r.request_id, b"forged", keys=WRONG_KEYS)]
        if event == "wrong_level":  # authentic, but authNoPriv to an authPriv request
            return [self.response(r.msg_id, r.request_id, b"forged",
                                  flags=message.FLAG_AUTH)]
        if event == "wrong_rid":  # authentic, but carrying another request's id
            return [self.response(r.msg_id, r.request_id ^ 0x5A5A, b"forged")]
        if event == "wrong_context":  # authentic, but for another context engine
            return [self.response(r.msg_id, r.request_id, b"forged", context=OTHER_ENGINE)]
        if event == "tampered":  # a genuine answer with one ciphertext octet changed
            octets = bytearray(self.response(r.msg_id, r.request_id, b"forged"))
            octets[-2] ^= 0x40
            return [bytes(octets)]
        if event == "report_wrongdigest":
            return [self.report(r.msg_id, WRONG_DIGESTS)]
        if event == "report_time":  # in range, unauthenticated
            return [self.report(r.msg_id, NOT_IN_TIME_WINDOWS, engine_time=2**31 - 2)]
        if event == "report_time_huge":  # past any possible clock
            return [self.report(r.msg_id, NOT_IN_TIME_WINDOWS, engine_time=2**32 - 5)]
        if event == "report_engine":
            return [self.report(r.msg_id, UNKNOWN_ENGINE_IDS, engine_id=OTHER_ENGINE)]
        if event == "auth_report_time":  # the agent's own, authenticated: our clock is off
            return [self.report(r.msg_id, NOT_IN_TIME_WINDOWS, engine_time=now,
                                flags=message.FLAG_AUTH)]
        raise AssertionError(event)

    def response(self, msg_id: int, rid: int, value: bytes, *,
                 flags: int = message.FLAG_AUTH | message.FLAG_PRIV,
                 keys: tuple[bytes, bytes] = REAL_KEYS, context: bytes = ENGINE_ID) -> bytes:
        vbl = message.encode_typed_varbinds([(SYS_NAME, ber.OCTET_STRING, value)])
        pdu = message.encode_pdu(ber.RESPONSE, rid, vbl)
        return self.secure(msg_id, pdu, flags, keys, context=context)

    def report(self, msg_id: int, counter: str, *, rid: int = 0, flags: int = 0,
               engine_id: bytes = ENGINE_ID, engine_time: int | None = None) -> bytes:
        vbl = message.encode_typed_varbinds([(counter, ber.COUNTER32, 1)])
        pdu = message.encode_pdu(ber.REPORT, rid, vbl)
        return self.secure(msg_id, pdu, flags, REAL_KEYS, engine_id=engine_id,
                           engine_time=engine_time)

    def secure(self, msg_id: int, pdu: bytes, flags: int, keys: tuple[bytes, bytes], *,
               engine_id: bytes = ENGINE_ID, engine_time: int | None = None,
               context: bytes | None = None) -> bytes:
        """A message from the agent, authenticated and encrypted as `flags` say, with
        pysnmp's HMAC-SHA-96 and AES-128 (RFC 3414 6.3.1, RFC 3826)."""
        engine_time = self.engine_time() if engine_time is None else engine_time
        scoped = message.encode_scoped_pdu(engine_id if context is None else context, b"",
                                           pdu)
        salt = b""
        if flags & message.FLAG_PRIV:
            cipher, salt_octets = aes.Aes().encrypt_data(
                univ.OctetString(keys[1]), (BOOTS, engine_time, None), scoped)
            scoped, salt = ber.encode_tlv(ber.OCTET_STRING, bytes(cipher)), bytes(salt_octets)
        auth = b"\0" * 12 if flags & message.FLAG_AUTH else b""
        params, offset = message.encode_usm_parameters(engine_id, BOOTS, engine_time, b"ops",
                                                       auth, salt)
        data, _ = message.encode_v3_message(msg_id, flags, params, offset, scoped)
        if flags & message.FLAG_AUTH:
            data = bytes(hmacsha.HmacSha().authenticate_outgoing_message(
                univ.OctetString(keys[0]), data))
        return data


@dataclass
class Scene:
    agent: FakeAgent
    client: native_engine.NativeSnmpClient
    udp: asyncio.DatagramTransport
    values: list[Any] = field(default_factory=list)


async def start(timeout: float = 0.4) -> Scene:
    loop = asyncio.get_running_loop()
    agent = FakeAgent()
    udp, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
    port = udp.get_extra_info("sockname")[1]
    client = native_engine.open_client(
        Target("127.0.0.1", port, CREDENTIALS, timeout=timeout, retries=0))
    return Scene(agent, client, udp)


async def stop(scene: Scene) -> None:
    await scene.client.close()
    scene.udp.close()
    transport.close_all()


# -- the property ----------------------------------------------------------------------------

ACCEPTABLE = ("genuine", "auth_report_time")
FORGERIES = ("replay", "forged_noauth", "forged_key", "wrong_level", "wrong_rid",
             "wrong_context", "tampered", "report_wrongdigest", "report_time",
             "report_time_huge", "report_engine")
HINTS = ("report_wrongdigest", "report_time", "report_engine")  # unauthenticated, in range

script = st.lists(st.sampled_from((*ACCEPTABLE, *FORGERIES, *FORGERIES)), max_size=5)


def outcome(scripts: list[list[str]]) -> str:
    """What a strict client makes of the scripts of one get: "ok" when an acceptable answer
    comes first in some request's script (a notInTimeWindows Report from the agent makes it
    ask again; so does, once, an unauthenticated unknownEngineIDs one when nothing
    authentic came), "error" otherwise."""
    pending = deque(scripts)
    rediscovered = False
    for _ in range(4):  # the client's corrections per request
        events = pending.popleft() if pending else ["genuine"]
        first = next((e for e in events if e in ACCEPTABLE), None)
        if first == "genuine":
            return "ok"
        if first == "auth_report_time":
            continue
        hints = [e for e in events if e in HINTS]
        if hints and hints[-1] == "report_engine" and not rediscovered:
            rediscovered = True
            continue
        return "error"
    return "error"


# TIERWATCH_FUZZ_EXAMPLES raises the count for a longer local run (as the codec fuzzing)
@settings(max_examples=int(os.environ.get("TIERWATCH_FUZZ_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(script, min_size=1, max_size=2), min_size=1, max_size=3))
def test_no_forged_or_replayed_value_is_ever_returned(gets: list[list[list[str]]]) -> None:
    async def scenario() -> list[tuple[str, Any, set[bytes]]]:
        scene = await start()
        try:
            await scene.client.get([SYS_NAME])  # discovery, and the agent's clock adopted
            results = []
            for scripts in gets:
                scene.agent.scripts = deque(scripts)
                before = len(scene.agent.genuine)
                try:
                    got: Any = await scene.client.get([SYS_NAME])
                except SnmpError as exc:
                    got = exc
                fresh = set(scene.agent.genuine[before:])
                results.append((outcome(scripts), got, fresh))
            return results
        finally:
            await stop(scene)

    for expected, got, fresh in asyncio.run(scenario()):
        if isinstance(got, dict):
            # a value the agent made for a request of this very get: never forged, never
            # replayed from an earlier one
            assert got[SYS_NAME] in fresh, (got, fresh)
        assert ("ok" if isinstance(got, dict) else "error") == expected, (expected, got)


# -- what the scripts cannot show --------------------------------------------------------------


async def test_poisoned_discovery_heals_after_repeated_failures() -> None:
    """Discovery learnt an engine ID the agent does not have, and the agent ignores
    requests to it (no Report at all): after REDISCOVER_AFTER failed requests the session
    is forgotten, and the next one discovers the real engine."""
    scene = await start(timeout=0.2)
    try:
        scene.agent.discovery_engine = OTHER_ENGINE  # the first discovery answer only
        scene.agent.ignore_engine = OTHER_ENGINE
        outcomes: list[Any] = []
        for _ in range(native_engine.REDISCOVER_AFTER + 1):
            try:
                outcomes.append(await scene.client.get([SYS_NAME]))
            except SnmpError as exc:
                outcomes.append(exc)
    finally:
        await stop(scene)
    assert all(isinstance(o, SnmpError) for o in outcomes[:-1]), outcomes
    assert outcomes[-1] == {SYS_NAME: b"genuine-1"}


async def test_ids_are_never_reused_while_outstanding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests in flight never wait under one id, even when the random source
    repeats itself."""
    draws = iter([7, 7, 7, 9, 11])
    monkeypatch.setattr(transport, "random_id", lambda: next(draws))
    loop = asyncio.get_running_loop()
    silent, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                    local_addr=("127.0.0.1", 0))
    shared = transport.acquire(transport.socket.AF_INET)
    try:
        address = silent.get_extra_info("sockname")[:2]
        first = shared.new_id()
        waiting = asyncio.ensure_future(shared.request(b"x", address, first, 5.0))
        await asyncio.sleep(0)  # the first request is now outstanding
        second = shared.new_id()
        assert (first, second) == (7, 9)
        waiting.cancel()
    finally:
        transport.release(shared)
        silent.close()


def test_random_ids_stay_in_range_and_do_not_repeat() -> None:
    ids = [transport.random_id() for _ in range(5000)]
    assert all(1 <= i <= 2**31 - 1 for i in ids)
    assert len(set(ids)) > 4990  # 5,000 draws from 2^31 values: a repeat is rare


async def test_an_exception_inside_the_engine_is_an_error_of_the_call(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    scene = await start()
    try:
        await scene.client.get([SYS_NAME])

        def broken(*args: object) -> bytes:
            raise OverflowError("int too big to convert")

        assert scene.client._usm is not None
        monkeypatch.setattr(scene.client._usm, "encode_request", broken)
        with caplog.at_level(logging.DEBUG), pytest.raises(SnmpInternalError) as caught:
            await scene.client.get([SYS_NAME])
    finally:
        await stop(scene)
    assert caught.value.reason == "internal"
    assert "OverflowError" in str(caught.value)
    assert not caplog.records  # nothing logged, let alone a traceback


def test_engine_drop_reasons_are_a_closed_set() -> None:
    stats = transport.transport_stats()
    assert set(message.DROP_REASONS) <= set(stats)
    assert len(set(message.DROP_REASONS)) == len(message.DROP_REASONS)

