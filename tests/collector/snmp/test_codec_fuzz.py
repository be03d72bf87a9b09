"""Fuzzing the decoders: random datagrams, and valid messages with octets flipped, cut,
inserted or removed. Whatever arrives, a decoder either answers or raises SnmpDecodeError;
never another exception, and (bounded by the test timeout) never a hang.

Runs a few seconds in CI: the profile below caps the examples. Raise
TIERWATCH_FUZZ_EXAMPLES for a longer local run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.snmp import ber, message, native_engine
from collector.snmp.client import NO_SUCH_OBJECT, SnmpDecodeError, SnmpWalkError

settings.register_profile(
    "snmp-fuzz",
    max_examples=int(os.environ.get("TIERWATCH_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FUZZ = settings.get_profile("snmp-fuzz")


def _varbinds() -> bytes:
    return message.encode_typed_varbinds(
        [
            ("1.3.6.1.2.1.1.1.0", ber.OCTET_STRING, b"Linux ups-01 " * 12),
            ("1.3.6.1.2.1.1.2.0", ber.OBJECT_IDENTIFIER, "1.3.6.1.4.1.318.1.3.27"),
            ("1.3.6.1.2.1.1.3.0", ber.TIMETICKS, 123456789),
            ("1.3.6.1.2.1.2.2.1.10.16384", ber.COUNTER32, 2**32 - 1),
            ("1.3.6.1.2.1.31.1.1.1.6.1", ber.COUNTER64, 2**64 - 1),
            ("1.3.6.1.2.1.4.20.1.1.10.0.0.1", ber.IP_ADDRESS, "10.0.0.1"),
            ("1.3.6.1.4.1.318.1.1.1.2.2.1.0", ber.GAUGE32, 100),
            ("1.3.6.1.2.1.2.2.1.8.1", ber.INTEGER, -2),
            ("1.3.6.1.2.1.1.99.0", ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT),
            ("1.3.6.1.4.1.2021.10.1.6.1", ber.OPAQUE, b"\x9f\x78\x04\x3f\x80\x00\x00"),
            ("1.3.6.1.2.1.1.9.1.1.1", ber.NULL, None),
        ]
    )


def _seeds() -> list[bytes]:
    vbl = _varbinds()
    seeds = [
        message.encode_community_message(
            message.community_header(version, b"public"), message.encode_pdu(tag, 77, vbl)
        )
        for version in (message.V1, message.V2C)
        for tag in (ber.RESPONSE, ber.GET_BULK_REQUEST, ber.REPORT)
    ]
    trap = message.encode_trap_v1_pdu("1.3.6.1.4.1.318", "10.1.1.1", 6, 3, 99, vbl)
    seeds.append(message.encode_community_message(message.community_header(0, b"t"), trap))
    scoped = message.encode_scoped_pdu(
        b"\x80\x00\x1f\x88\x04", b"", message.encode_pdu(0xA2, 5, vbl)
    )
    params, offset = message.encode_usm_parameters(
        b"\x80\x00\x1f\x88\x04", 4, 5, b"ops", b"\0" * 12, b""
    )
    seeds.append(message.encode_v3_message(5, message.FLAG_AUTH, params, offset, scoped)[0])
    secret = ber.encode_tlv(ber.OCTET_STRING, bytes(range(64)))
    params, offset = message.encode_usm_parameters(b"e", 1, 2, b"u", b"\0" * 12, b"\1" * 8)
    seeds.append(message.encode_v3_message(6, 3, params, offset, secret)[0])
    return seeds


SEEDS = _seeds()


def _decode_everything(data: bytes) -> None:
    """Every decoder a received datagram can reach."""
    message.peek_message_id(data)  # must not raise at all
    for decode in _DECODERS:
        with contextlib.suppress(SnmpDecodeError):
            decode(data)


def _full(data: bytes) -> None:
    decoded = message.decode_message(data)
    if isinstance(decoded, message.V3Message) and not decoded.flags & message.FLAG_PRIV:
        message.decode_scoped_pdu(decoded.scoped)


def _fast(data: bytes) -> None:
    *_, start, stop = message.parse_community_response(data)
    ber.decode_varbinds(data, start, stop)


def _walk(data: bytes) -> None:
    *_, start, stop = message.parse_community_response(data)
    columns = [native_engine._Column("1.3.6.1.2.1"), native_engine._Column("1.3.6.1.4")]
    # a well-formed answer with OIDs out of order raises the walk's own error
    with contextlib.suppress(SnmpWalkError):
        native_engine._absorb(data, start, stop, columns)


def _raw_varbinds(data: bytes) -> None:
    for raw, _ in ber.decode_varbinds(data, 0, len(data)):
        ber.oid_to_str(raw)


_DECODERS: list[Callable[[bytes], None]] = [_full, _fast, _walk, _raw_varbinds]


@pytest.mark.timeout(120)
@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    _decode_everything(data)


@pytest.mark.timeout(120)
@FUZZ
@given(st.sampled_from(SEEDS).flatmap(lambda s: st.tuples(st.just(s), st.integers(0, len(s)))))
def test_truncated_messages(seed_and_cut: tuple[bytes, int]) -> None:
    seed, cut = seed_and_cut
    _decode_everything(seed[:cut])


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 8)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, object]]) -> bytes:
    buf = bytearray(data)
    for kind, at, arg in mutations:
        at %= max(len(buf), 1)
        if kind == "flip" and buf:
            buf[at] = arg  # type: ignore[call-overload]
        elif kind == "insert":
            buf[at:at] = arg  # type: ignore[call-overload]
        elif kind == "delete":
            del buf[at : at + arg]  # type: ignore[operator]
    return bytes(buf)


@pytest.mark.timeout(120)
@FUZZ
@given(st.sampled_from(SEEDS), st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_messages(seed: bytes, mutations: list[tuple[str, int, object]]) -> None:
    _decode_everything(_mutate(seed, mutations))


def test_seeds_are_valid() -> None:
    """The fuzzing starts from messages that decode, so mutations probe deep paths."""
    for seed in SEEDS:
        _full(seed)


def _same_outcome(fast: Callable[[], object], general: Callable[[], object]) -> None:
    try:
        expected: object = general()
    except SnmpDecodeError:
        expected = SnmpDecodeError
    try:
        got: object = fast()
    except SnmpDecodeError:
        got = SnmpDecodeError
    assert got == expected


V3_SEEDS = [s for s in SEEDS if s[2:5] == b"\x02\x01\x03" or s[4:7] == b"\x02\x01\x03"]


@pytest.mark.timeout(120)
@FUZZ
@given(st.sampled_from(V3_SEEDS), st.lists(_mutation, max_size=3), st.integers(0, 2000))
def test_v3_fast_readers_agree_with_general_ones(
    seed: bytes, mutations: list[tuple[str, int, object]], cut: int
) -> None:
    """The in-place readers of the usual v3 layout answer exactly what the general
    readers answer, or leave the message to them."""
    data = _mutate(seed, mutations)[:cut]
    _same_outcome(lambda: message.parse_v3_message(data), lambda: message._parse_v3_general(data))
    try:
        msg = message._parse_v3_general(data)
    except SnmpDecodeError:
        return
    if not msg.flags & message.FLAG_PRIV:

        def general() -> object:
            _, _, pos, stop = message.parse_scoped_pdu(msg.scoped)
            return message.parse_pdu_header(msg.scoped, pos, stop)

        _same_outcome(lambda: message.parse_scoped_response(msg.scoped), general)


def test_v3_seeds_take_the_fast_path() -> None:
    assert len(V3_SEEDS) == 2
    for seed in V3_SEEDS:
        assert message._parse_v3_layout(seed) == message._parse_v3_general(seed)
