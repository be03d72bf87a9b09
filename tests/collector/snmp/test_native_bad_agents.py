"""The native engine against agents that misbehave, played by a small asyncio UDP responder
built on our own encoder: each misbehaviour ends in the seam's error or value, in bounded
time, and never in a hang."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from collector.snmp import ber, message, native_engine, transport
from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    Credentials,
    SnmpDecodeError,
    SnmpResponseError,
    SnmpTimeout,
    SnmpTransportError,
    SnmpWalkError,
    Target,
    Value,
    oid_key,
)
from collector.snmp.message import CommunityMessage, Pdu

pytestmark = pytest.mark.timeout(30)

Varbind = tuple[str, int, object]
# handler(request message) -> datagrams to send back (already encoded), in order
Handler = Callable[[CommunityMessage], list[bytes]]


def response(
    request: CommunityMessage,
    varbinds: Sequence[Varbind],
    *,
    status: int = 0,
    index: int = 0,
    request_id: int | None = None,
) -> bytes:
    rid = request.pdu.request_id if request_id is None else request_id  # type: ignore[union-attr]
    pdu = message.encode_pdu(
        ber.RESPONSE, rid, message.encode_typed_varbinds(varbinds), status, index
    )
    header = message.community_header(request.version, request.community)
    return message.encode_community_message(header, pdu)


@dataclass
class Responder(asyncio.DatagramProtocol):
    handler: Handler
    requests: list[Pdu] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = message.decode_community_message(data)
        assert isinstance(request.pdu, Pdu)
        self.requests.append(request.pdu)
        assert self.transport is not None
        for datagram in self.handler(request):
            self.transport.sendto(datagram, addr)


@dataclass
class BadAgent:
    port: int
    responder: Responder
    host: str = "127.0.0.1"

    def target(self, version: str = "2c", **kwargs: object) -> Target:
        defaults: dict[str, object] = {"timeout": 0.3, "retries": 0}
        defaults.update(kwargs)
        host = str(defaults.pop("host", self.host))
        return Target(
            host,
            self.port,
            Credentials(version=version, community="public"),  # type: ignore[arg-type]
            **defaults,  # type: ignore[arg-type]
        )


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], asyncio.Future[BadAgent]]]:
    transports: list[asyncio.DatagramTransport] = []
    loop = asyncio.get_running_loop()

    async def start(handler: Handler, host: str = "127.0.0.1") -> BadAgent:
        proto = Responder(handler)
        udp, _ = await loop.create_datagram_endpoint(lambda: proto, local_addr=(host, 0))
        transports.append(udp)
        return BadAgent(udp.get_extra_info("sockname")[1], proto, host)

    yield start  # type: ignore[misc]
    for udp in transports:
        udp.close()
    transport.close_all()


def table_agent(rows: dict[str, tuple[int, object]], *, v1: bool = False) -> Handler:
    """A well-behaved agent over `rows` (dotted OID -> (tag, value))."""
    ordered = sorted(rows, key=oid_key)

    def following(oid: str) -> str | None:
        key = oid_key(oid)
        return next((o for o in ordered if oid_key(o) > key), None)

    def handle(request: CommunityMessage) -> list[bytes]:
        pdu = request.pdu
        assert isinstance(pdu, Pdu)
        asked = [oid for oid, _ in pdu.varbinds]
        out: list[Varbind] = []
        if pdu.tag == ber.GET_REQUEST:
            for i, oid in enumerate(asked, 1):
                if oid not in rows:
                    if v1:
                        return [
                            response(
                                request, [(o, ber.NULL, None) for o in asked], status=2, index=i
                            )
                        ]
                    out.append((oid, ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT))
                else:
                    out.append((oid, *rows[oid]))
            return [response(request, out)]
        repetitions = pdu.error_index if pdu.tag == ber.GET_BULK_REQUEST else 1
        cursor = list(asked)
        for _ in range(repetitions):
            for i, oid in enumerate(cursor):
                nxt = following(oid)
                if nxt is None:
                    if v1:
                        return [
                            response(
                                request, [(o, ber.NULL, None) for o in asked], status=2, index=i + 1
                            )
                        ]
                    out.append((oid, ber.END_OF_MIB_VIEW_TAG, END_OF_MIB_VIEW))
                else:
                    out.append((nxt, *rows[nxt]))
                    cursor[i] = nxt
        return [response(request, out)]

    return handle


IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_SPEED = "1.3.6.1.2.1.2.2.1.5"
TABLE: dict[str, tuple[int, object]] = {
    "1.3.6.1.2.1.1.5.0": (ber.OCTET_STRING, b"pdu-a1"),
    **{f"{IF_DESCR}.{i}": (ber.OCTET_STRING, f"port{i}".encode()) for i in range(1, 41)},
    **{f"{IF_SPEED}.{i}": (ber.GAUGE32, 1_000_000_000) for i in range(1, 41)},
    "1.3.6.1.2.1.2.2.1.7.1": (ber.INTEGER, 1),
}


async def test_well_behaved_walk_of_two_columns_drops_the_finished_one(serve) -> None:
    rows = {k: v for k, v in TABLE.items() if not k.startswith(IF_SPEED)}
    rows.update({f"{IF_SPEED}.{i}": (ber.GAUGE32, i) for i in range(1, 4)})  # shorter column
    agent = await serve(table_agent(rows))
    client = native_engine.open_client(agent.target(max_repetitions=5))
    result = await client.walk([IF_DESCR, IF_SPEED])
    assert result[IF_DESCR] == [(str(i), f"port{i}".encode()) for i in range(1, 41)]
    assert result[IF_SPEED] == [(str(i), i) for i in range(1, 4)]
    asked = [[oid for oid, _ in pdu.varbinds] for pdu in agent.responder.requests]
    assert asked[0] == [IF_DESCR, IF_SPEED]
    assert all(len(oids) == 1 for oids in asked[1:])  # ifSpeed ended in the first answer
    await client.close()


async def test_v1_walk_uses_getnext_and_no_such_name_ends_a_column(serve) -> None:
    rows = {k: v for k, v in TABLE.items() if k.startswith((IF_DESCR, IF_SPEED))}
    agent = await serve(table_agent(rows, v1=True))
    client = native_engine.open_client(agent.target("1"))
    result = await client.walk([IF_SPEED, IF_DESCR])
    assert [s for s, _ in result[IF_DESCR]] == [str(i) for i in range(1, 41)]
    assert len(result[IF_SPEED]) == 40
    assert {pdu.tag for pdu in agent.responder.requests} == {ber.GET_NEXT_REQUEST}
    await client.close()


async def test_v1_get_no_such_name_gives_no_such_object_for_that_oid(serve) -> None:
    agent = await serve(table_agent(TABLE, v1=True))
    client = native_engine.open_client(agent.target("1"))
    got = await client.get(["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.99.0", f"{IF_DESCR}.2"])
    assert got == {
        "1.3.6.1.2.1.1.5.0": b"pdu-a1",
        "1.3.6.1.2.1.1.99.0": NO_SUCH_OBJECT,
        f"{IF_DESCR}.2": b"port2",
    }
    await client.close()


async def test_non_increasing_oids_raise_walk_error(serve) -> None:
    def stuck(request: CommunityMessage) -> list[bytes]:
        return [response(request, [(f"{IF_DESCR}.5", ber.OCTET_STRING, b"again")])]

    agent = await serve(stuck)
    client = native_engine.open_client(agent.target())
    with pytest.raises(SnmpWalkError, match="not increasing"):
        await client.walk([IF_DESCR])
    assert len(agent.responder.requests) == 2  # the repeat was caught on the second answer

    def backwards(request: CommunityMessage) -> list[bytes]:
        return [response(request, [(f"{IF_DESCR}.{i}", ber.INTEGER, i) for i in (3, 2)])]

    agent = await serve(backwards)
    with pytest.raises(SnmpWalkError, match="not increasing"):
        await native_engine.open_client(agent.target()).walk([IF_DESCR])


async def test_answer_with_the_root_itself_is_not_an_increase(serve) -> None:
    agent = await serve(lambda r: [response(r, [(IF_DESCR, ber.INTEGER, 1)])])
    with pytest.raises(SnmpWalkError):
        await native_engine.open_client(agent.target()).walk([IF_DESCR])


async def test_endless_walk_stops_at_max_rows(serve) -> None:
    def endless(request: CommunityMessage) -> list[bytes]:
        pdu = request.pdu
        assert isinstance(pdu, Pdu)
        last = int(pdu.varbinds[0][0].rsplit(".", 1)[1]) if pdu.varbinds[0][0] != IF_DESCR else 0
        reps = pdu.error_index
        return [
            response(
                request, [(f"{IF_DESCR}.{last + i}", ber.INTEGER, 0) for i in range(1, reps + 1)]
            )
        ]

    agent = await serve(endless)
    client = native_engine.open_client(agent.target(max_rows=500, max_repetitions=30))
    with pytest.raises(SnmpWalkError, match="exceeds 500 rows"):
        await client.walk([IF_DESCR])
    assert len(agent.responder.requests) == 17  # ceil(501 / 30): cut right after the limit


async def test_end_of_mib_view_and_exceptions_end_a_column(serve) -> None:
    def answer(request: CommunityMessage) -> list[bytes]:
        return [
            response(
                request,
                [
                    (f"{IF_DESCR}.1", ber.OCTET_STRING, b"lo"),
                    (f"{IF_SPEED}.1", ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT),
                    (f"{IF_DESCR}.2", ber.END_OF_MIB_VIEW_TAG, END_OF_MIB_VIEW),
                ],
            )
        ]

    agent = await serve(answer)
    result = await native_engine.open_client(agent.target()).walk([IF_DESCR, IF_SPEED])
    assert result == {IF_DESCR: [("1", b"lo")], IF_SPEED: []}
    assert len(agent.responder.requests) == 1


async def test_get_passes_exception_values_through(serve) -> None:
    def answer(request: CommunityMessage) -> list[bytes]:
        pdu = request.pdu
        assert isinstance(pdu, Pdu)
        kinds = [
            (ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT),
            (ber.NO_SUCH_INSTANCE_TAG, NO_SUCH_INSTANCE),
        ]
        return [
            response(request, [(oid, *kinds[i % 2]) for i, (oid, _) in enumerate(pdu.varbinds)])
        ]

    agent = await serve(answer)
    got = await native_engine.open_client(agent.target()).get(["1.3.6.1.9.1.0", "1.3.6.1.9.2.0"])
    assert got == {"1.3.6.1.9.1.0": NO_SUCH_OBJECT, "1.3.6.1.9.2.0": NO_SUCH_INSTANCE}
    assert got["1.3.6.1.9.1.0"] is NO_SUCH_OBJECT


async def test_truncated_answer_raises_decode_error(serve) -> None:
    def truncated(request: CommunityMessage) -> list[bytes]:
        whole = response(request, [("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"x" * 50)])
        return [whole[: len(whole) // 2]]

    agent = await serve(truncated)
    with pytest.raises(SnmpDecodeError):
        await native_engine.open_client(agent.target()).get(["1.3.6.1.2.1.1.5.0"])


async def test_answer_naming_other_oids_raises_decode_error(serve) -> None:
    agent = await serve(lambda r: [response(r, [("1.3.6.1.2.1.1.6.0", ber.INTEGER, 1)])])
    with pytest.raises(SnmpDecodeError, match="another OID"):
        await native_engine.open_client(agent.target()).get(["1.3.6.1.2.1.1.5.0"])


async def test_wrong_request_id_is_ignored_and_counted(serve) -> None:
    vb = [("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"right")]

    def wrong_then_right(request: CommunityMessage) -> list[bytes]:
        rid = request.pdu.request_id  # type: ignore[union-attr]
        return [response(request, vb, request_id=rid + 7), response(request, vb)]

    agent = await serve(wrong_then_right)
    client = native_engine.open_client(agent.target(timeout=2.0))
    before = transport.transport_stats()["unknown_id"]
    assert await client.get(["1.3.6.1.2.1.1.5.0"]) == {"1.3.6.1.2.1.1.5.0": b"right"}
    assert transport.transport_stats()["unknown_id"] == before + 1

    only_wrong = await serve(lambda r: [response(r, vb, request_id=r.pdu.request_id + 1)])
    with pytest.raises(SnmpTimeout):
        await native_engine.open_client(only_wrong.target()).get(["1.3.6.1.2.1.1.5.0"])
    await client.close()


async def test_answer_from_another_address_is_ignored_and_counted(serve) -> None:
    loop = asyncio.get_running_loop()
    impostor, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    vb = [("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"genuine")]

    def forged_then_genuine(request: CommunityMessage) -> list[bytes]:
        forged = response(request, [("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"forged")])
        client_addr = agent.responder.last_sender
        impostor.sendto(forged, client_addr)
        return [response(request, vb)]

    agent = await serve(forged_then_genuine)
    original = agent.responder.datagram_received

    def remember_sender(data: bytes, addr: tuple[str, int]) -> None:
        agent.responder.last_sender = addr
        original(data, addr)

    agent.responder.datagram_received = remember_sender
    client = native_engine.open_client(agent.target(timeout=2.0))
    before = transport.transport_stats()["wrong_address"]
    assert await client.get(["1.3.6.1.2.1.1.5.0"]) == {"1.3.6.1.2.1.1.5.0": b"genuine"}
    assert transport.transport_stats()["wrong_address"] == before + 1
    impostor.close()
    await client.close()


async def test_garbage_datagrams_are_ignored(serve) -> None:
    vb = [("1.3.6.1.2.1.1.5.0", ber.INTEGER, 5)]
    agent = await serve(lambda r: [b"\x00garbage", b"\x30\x00", response(r, vb)])
    before = transport.transport_stats()["undecodable"]
    got = await native_engine.open_client(agent.target(timeout=2.0)).get(["1.3.6.1.2.1.1.5.0"])
    assert got == {"1.3.6.1.2.1.1.5.0": 5}
    assert transport.transport_stats()["undecodable"] >= before + 2


async def test_silent_agent_times_out_after_every_retry(serve) -> None:
    agent = await serve(lambda r: [])
    client = native_engine.open_client(agent.target(timeout=0.2, retries=2))
    with pytest.raises(SnmpTimeout):
        await client.get(["1.3.6.1.2.1.1.5.0"])
    assert len(agent.responder.requests) == 3
    assert (client.requests, client.timeouts) == (3, 3)


async def test_too_big_halves_max_repetitions(serve) -> None:
    well_behaved = table_agent(TABLE)

    def picky(request: CommunityMessage) -> list[bytes]:
        pdu = request.pdu
        assert isinstance(pdu, Pdu)
        if pdu.tag == ber.GET_BULK_REQUEST and pdu.error_index > 6:
            return [response(request, [(o, ber.NULL, None) for o, _ in pdu.varbinds], status=1)]
        return well_behaved(request)

    agent = await serve(picky)
    result = await native_engine.open_client(agent.target(max_repetitions=25)).walk([IF_DESCR])
    assert len(result[IF_DESCR]) == 40
    assert [p.error_index for p in agent.responder.requests[:3]] == [25, 12, 6]


async def test_too_big_splits_a_large_get(serve) -> None:
    well_behaved = table_agent(TABLE)

    def picky(request: CommunityMessage) -> list[bytes]:
        pdu = request.pdu
        assert isinstance(pdu, Pdu)
        if len(pdu.varbinds) > 10:
            return [response(request, [(o, ber.NULL, None) for o, _ in pdu.varbinds], status=1)]
        return well_behaved(request)

    agent = await serve(picky)
    oids = [f"{IF_DESCR}.{i}" for i in range(1, 31)]
    got = await native_engine.open_client(agent.target()).get(oids)
    assert got == {o: f"port{i}".encode() for i, o in enumerate(oids, 1)}
    assert list(got) == oids


async def test_error_status_raises_response_error(serve) -> None:
    def gen_err(request: CommunityMessage) -> list[bytes]:
        oids = [o for o, _ in request.pdu.varbinds]
        return [response(request, [(o, ber.NULL, None) for o in oids], status=5, index=2)]

    agent = await serve(gen_err)
    with pytest.raises(SnmpResponseError) as caught:
        await native_engine.open_client(agent.target()).get(
            ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"]
        )
    assert (caught.value.status, caught.value.index, caught.value.oid) == (
        "genErr",
        2,
        "1.3.6.1.2.1.1.6.0",
    )
    assert caught.value.reason == "response"


async def test_empty_answer_to_a_walk_raises_walk_error(serve) -> None:
    agent = await serve(lambda r: [response(r, [])])
    with pytest.raises(SnmpWalkError):
        await native_engine.open_client(agent.target()).walk([IF_DESCR])


async def test_short_bulk_answers_still_progress(serve) -> None:
    """An agent may cut a GETBULK answer anywhere, even inside a row."""
    well_behaved = table_agent(TABLE)

    def stingy(request: CommunityMessage) -> list[bytes]:
        full = message.decode_community_message(well_behaved(request)[0]).pdu
        assert isinstance(full, Pdu)
        kept = full.varbinds[:3]  # one row and a half of two columns
        typed: list[Varbind] = [(o, _tag(v), v) for o, v in kept]
        return [response(request, typed)]

    agent = await serve(stingy)
    result = await native_engine.open_client(agent.target()).walk([IF_DESCR, IF_SPEED])
    assert [s for s, _ in result[IF_DESCR]] == [str(i) for i in range(1, 41)]
    assert [s for s, _ in result[IF_SPEED]] == [str(i) for i in range(1, 41)]


def _tag(value: Value) -> int:
    if isinstance(value, bytes):
        return ber.OCTET_STRING
    if value is END_OF_MIB_VIEW:
        return ber.END_OF_MIB_VIEW_TAG
    return ber.GAUGE32


async def test_shared_socket_survives_a_failing_target(serve) -> None:
    good = await serve(table_agent(TABLE))
    silent = await serve(lambda r: [])
    ok = native_engine.open_client(good.target(timeout=2.0))
    dead = native_engine.open_client(silent.target(timeout=0.2))
    results = await asyncio.gather(
        ok.walk([IF_DESCR]), dead.get(["1.3.6.1.2.1.1.5.0"]), return_exceptions=True
    )
    assert isinstance(results[1], SnmpTimeout)
    assert len(results[0][IF_DESCR]) == 40  # type: ignore[index]
    assert ok.local_address == dead.local_address  # one socket for both
    assert await ok.get(["1.3.6.1.2.1.1.5.0"]) == {"1.3.6.1.2.1.1.5.0": b"pdu-a1"}
    await ok.close()
    await dead.close()


async def test_ipv6_agents_and_host_names(serve) -> None:
    v6 = await serve(table_agent(TABLE), "::1")
    client6 = native_engine.open_client(v6.target(timeout=2.0))
    assert await client6.get(["1.3.6.1.2.1.1.5.0"]) == {"1.3.6.1.2.1.1.5.0": b"pdu-a1"}
    v4 = await serve(table_agent(TABLE))
    by_name = native_engine.open_client(v4.target(host="localhost", timeout=2.0))
    assert await by_name.get(["1.3.6.1.2.1.1.5.0"]) == {"1.3.6.1.2.1.1.5.0": b"pdu-a1"}
    assert client6.local_address != by_name.local_address  # one socket per address family
    await client6.close()
    await by_name.close()


async def test_unresolvable_host_is_a_transport_error() -> None:
    target = Target("no-such-host.invalid", 161, Credentials(version="2c", community="x"))
    with pytest.raises(SnmpTransportError, match="cannot resolve"):
        await native_engine.open_client(target).get(["1.3.6.1.2.1.1.5.0"])


@pytest.mark.parametrize(("bad", "reason"), [
    ("v1", "wrong_version"),  # an SNMPv1 answer to a v2c request
    ("request", "wrong_pdu"),  # a GetRequest where a Response should be
    ("truncated", "undecodable"),
])
async def test_an_answer_that_fails_a_check_does_not_end_the_request(
        serve, bad: str, reason: str) -> None:
    """The refused datagram comes first, with the request's id and from the agent's
    address; the genuine Response after it still ends the request."""
    vb = [("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"genuine")]

    def bad_then_genuine(request: CommunityMessage) -> list[bytes]:
        rid = request.pdu.request_id  # type: ignore[union-attr]
        genuine = response(request, vb)
        if bad == "v1":
            first = message.encode_community_message(
                message.community_header(message.V1, request.community),
                message.encode_pdu(ber.RESPONSE, rid, message.encode_typed_varbinds(vb)))
        elif bad == "request":
            first = message.encode_community_message(
                message.community_header(request.version, request.community),
                message.encode_pdu(ber.GET_REQUEST, rid, message.encode_typed_varbinds(vb)))
        else:
            first = genuine[: len(genuine) - 4]
        return [first, genuine]

    agent = await serve(bad_then_genuine)
    before = transport.transport_stats()[reason]
    got = await native_engine.open_client(agent.target(timeout=2.0)).get(["1.3.6.1.2.1.1.5.0"])
    assert got == {"1.3.6.1.2.1.1.5.0": b"genuine"}
    assert transport.transport_stats()[reason] == before + 1
