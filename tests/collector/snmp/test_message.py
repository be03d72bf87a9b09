"""SNMP messages: every PDU type round trips; the client's fast readers agree with the full
decoder and refuse what it refuses; v3 envelopes locate their authentication field."""

from __future__ import annotations

import pytest

from collector.snmp import ber, message
from collector.snmp.client import NO_SUCH_INSTANCE, SnmpDecodeError, Value
from collector.snmp.message import Pdu, TrapV1Pdu

VARBINDS = [
    ("1.3.6.1.2.1.1.3.0", ber.TIMETICKS, 4711),
    ("1.3.6.1.2.1.2.2.1.2.1", ber.OCTET_STRING, b"eth0"),
    ("1.3.6.1.2.1.2.2.1.8.1", ber.INTEGER, 1),
    ("1.3.6.1.4.1.318.1.1.1.2.2.1.0", ber.GAUGE32, 100),
    ("1.3.6.1.2.1.2.2.1.99.1", ber.NO_SUCH_INSTANCE_TAG, NO_SUCH_INSTANCE),
]
PLAIN: list[tuple[str, Value]] = [(oid, value) for oid, _, value in VARBINDS]  # type: ignore[misc]
PDU_TAGS = [
    ber.GET_REQUEST,
    ber.GET_NEXT_REQUEST,
    ber.RESPONSE,
    ber.SET_REQUEST,
    ber.GET_BULK_REQUEST,
    ber.INFORM_REQUEST,
    ber.TRAP_V2,
    ber.REPORT,
]


def community_message(
    version: int = message.V2C,
    tag: int = ber.RESPONSE,
    request_id: int = 1234,
    status: int = 0,
    index: int = 0,
    varbinds: list[tuple[str, int, object]] | None = None,
    community: bytes = b"public",
) -> bytes:
    vbl = message.encode_typed_varbinds(VARBINDS if varbinds is None else varbinds)
    pdu = message.encode_pdu(tag, request_id, vbl, status, index)
    return message.encode_community_message(message.community_header(version, community), pdu)


@pytest.mark.parametrize("tag", PDU_TAGS, ids=hex)
@pytest.mark.parametrize("version", [message.V1, message.V2C])
def test_community_messages_round_trip(version: int, tag: int) -> None:
    data = community_message(version, tag, request_id=-5 if tag == ber.TRAP_V2 else 2**31 - 1)
    decoded = message.decode_community_message(data)
    assert decoded.version == version
    assert decoded.community == b"public"
    assert decoded.pdu == Pdu(tag, -5 if tag == ber.TRAP_V2 else 2**31 - 1, 0, 0, PLAIN)
    assert message.decode_message(data) == decoded


def test_get_bulk_carries_non_repeaters_and_max_repetitions() -> None:
    oids = [ber.encode_oid_content("1.3.6.1.2.1.2.2.1.2"), ber.encode_oid_content("1.3.6.1")]
    data = message.encode_request(1, b"c", ber.GET_BULK_REQUEST, 7, oids, 1, 25)
    pdu = message.decode_community_message(data).pdu
    assert isinstance(pdu, Pdu)
    assert (pdu.tag, pdu.request_id, pdu.error_status, pdu.error_index) == (
        ber.GET_BULK_REQUEST,
        7,
        1,
        25,
    )
    assert pdu.varbinds == [("1.3.6.1.2.1.2.2.1.2", None), ("1.3.6.1", None)]


def test_trap_v1_round_trips() -> None:
    vbl = message.encode_typed_varbinds(VARBINDS[:2])
    pdu = message.encode_trap_v1_pdu("1.3.6.1.4.1.318", "192.0.2.7", 6, 5, 123456, vbl)
    data = message.encode_community_message(message.community_header(0, b"traps"), pdu)
    decoded = message.decode_community_message(data)
    assert decoded.pdu == TrapV1Pdu("1.3.6.1.4.1.318", "192.0.2.7", 6, 5, 123456, PLAIN[:2])


def test_fast_response_reader_agrees_with_full_decoder() -> None:
    data = community_message(status=2, index=3)
    version, tag, rid, status, index, start, stop = message.parse_community_response(data)
    assert (version, tag, rid, status, index) == (message.V2C, ber.RESPONSE, 1234, 2, 3)
    assert [(ber.oid_to_str(raw), v) for raw, v in ber.decode_varbinds(data, start, stop)] == PLAIN


def test_fast_response_reader_handles_long_forms() -> None:
    # a community longer than 127 octets and long-form lengths everywhere
    data = community_message(community=b"c" * 200, request_id=-(2**31))
    version, _, rid, *_ = message.parse_community_response(data)
    assert (version, rid) == (message.V2C, -(2**31))
    assert message.peek_message_id(data) is None  # the peek only reads short communities


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda d: d + b"\x00", id="trailing octet"),
        pytest.param(lambda d: d[:-1], id="truncated"),
        pytest.param(lambda d: d[:5], id="cut in the header"),
        pytest.param(lambda d: b"\x31" + d[1:], id="not a SEQUENCE"),
        pytest.param(lambda d: d.replace(b"\x02\x01\x01\x04", b"\x02\x01\x03\x04", 1), id="v3"),
        pytest.param(lambda d: d.replace(b"\xa2", b"\xa4", 1), id="trap-v1 tag"),
        pytest.param(lambda d: d.replace(b"\xa2", b"\xa9", 1), id="unknown PDU"),
    ],
)
def test_readers_refuse_malformed_messages(mangle: object) -> None:
    data = mangle(community_message())  # type: ignore[operator]
    with pytest.raises(SnmpDecodeError):
        message.parse_community_response(data)
    with pytest.raises(SnmpDecodeError):
        message.decode_community_message(data)


def test_peek_finds_the_id_of_every_version() -> None:
    assert message.peek_message_id(community_message(message.V1, request_id=99)) == 99
    assert message.peek_message_id(community_message(message.V2C, request_id=2**31 - 1)) == (
        2**31 - 1
    )
    params, offset = message.encode_usm_parameters(b"engine", 1, 2, b"user", b"", b"")
    scoped = message.encode_scoped_pdu(b"", b"", message.encode_pdu(ber.GET_REQUEST, 5, b"0\x00"))
    data, _ = message.encode_v3_message(31337, message.FLAG_REPORTABLE, params, offset, scoped)
    assert message.peek_message_id(data) == 31337
    for junk in (b"", b"\x30", b"\x30\x03\x02\x01\x05", b"hello world", bytes(40)):
        assert message.peek_message_id(junk) is None


def test_v3_message_round_trip_and_auth_offset() -> None:
    auth = b"\xaa" * 12
    params, offset = message.encode_usm_parameters(
        b"\x80\x00\x1f\x88\x80" + b"e" * 12, 3, 777, b"ops", auth, b"\x01" * 8
    )
    assert params[offset : offset + 12] == auth
    cipher = ber.encode_tlv(ber.OCTET_STRING, b"\x55" * 40)
    data, abs_offset = message.encode_v3_message(
        42, message.FLAG_AUTH | message.FLAG_PRIV | message.FLAG_REPORTABLE, params, offset, cipher
    )
    assert data[abs_offset : abs_offset + 12] == auth
    msg = message.parse_v3_message(data)
    assert (msg.msg_id, msg.flags, msg.security_model) == (42, 7, 3)
    assert (msg.engine_boots, msg.engine_time, msg.user) == (3, 777, b"ops")
    assert msg.auth_params == auth and msg.auth_offset == abs_offset
    assert msg.priv_params == b"\x01" * 8
    assert msg.scoped == b"\x55" * 40


def test_v3_plaintext_scoped_pdu_round_trip() -> None:
    vbl = message.encode_typed_varbinds(VARBINDS)
    scoped = message.encode_scoped_pdu(b"ctx-engine", b"ctx", message.encode_pdu(0xA2, 9, vbl))
    params, offset = message.encode_usm_parameters(b"e", 0, 0, b"u", b"", b"")
    data, _ = message.encode_v3_message(9, 0, params, offset, scoped)
    msg = message.parse_v3_message(data)
    decoded = message.decode_scoped_pdu(msg.scoped)
    assert (decoded.context_engine_id, decoded.context_name) == (b"ctx-engine", b"ctx")
    assert decoded.pdu == Pdu(0xA2, 9, 0, 0, PLAIN)
    # DES pads the plaintext to 8 octets; the padding after the SEQUENCE is ignored
    assert message.decode_scoped_pdu(msg.scoped + b"\0" * 5) == decoded


def test_v3_envelope_refuses_inconsistent_parts() -> None:
    params, _ = message.encode_usm_parameters(b"e", 0, 0, b"u", b"", b"")
    plain = message.encode_scoped_pdu(b"", b"", message.encode_pdu(0xA0, 1, b"0\x00"))
    data, _ = message.encode_v3_message(1, message.FLAG_PRIV | message.FLAG_AUTH, params, 0, plain)
    with pytest.raises(SnmpDecodeError):  # privacy flag, but a plaintext SEQUENCE
        message.parse_v3_message(data)
    with pytest.raises(SnmpDecodeError):
        message.parse_v3_message(data[:-3])


def _v3_header(boots: bytes, engine_time: bytes, msg_id: bytes = b"\x02\x01\x07",
               max_size: bytes = b"\x02\x02\x05\xdc") -> bytes:
    """A noAuthNoPriv v3 message, octet by octet (RFC 3412 6, RFC 3414 2.4): msgID and
    msgMaxSize as given (TLVs), engine ID "engine", the given boots and time contents
    (INTEGER octets), user "u", an empty GetRequest."""
    def tlv(tag: int, body: bytes) -> bytes:
        return bytes((tag, len(body))) + body

    global_data = tlv(0x30, msg_id + max_size + b"\x04\x01\x00" + b"\x02\x01\x03")
    usm_params = tlv(0x30, tlv(0x04, b"engine") + tlv(0x02, boots) + tlv(0x02, engine_time)
                     + tlv(0x04, b"u") + b"\x04\x00\x04\x00")
    pdu = tlv(0xA0, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00\x30\x00")
    scoped = tlv(0x30, b"\x04\x00\x04\x00" + pdu)
    return tlv(0x30, b"\x02\x01\x03" + global_data + tlv(0x04, usm_params) + scoped)


@pytest.mark.parametrize(("boots", "engine_time", "valid"), [
    (b"\x7f\xff\xff\xff", b"\x7f\xff\xff\xff", True),  # 2^31-1 both: the largest allowed
    (b"\x00\x80\x00\x00\x00", b"\x01", False),  # boots 2^31
    (b"\x01", b"\x00\xff\xff\xff\xfb", False),  # time 2^32-5, the clock-poisoning value
    (b"\x01\x00\x00\x00\x07", b"\x01", False),  # boots 2^32+7 (no AES IV holds it)
    (b"\xff", b"\x01", False),  # boots -1
], ids=["2^31-1", "boots 2^31", "time 2^32-5", "boots 2^32+7", "boots -1"])
def test_v3_engine_boots_and_time_beyond_2_31_are_refused(boots: bytes, engine_time: bytes,
                                                          valid: bool) -> None:
    data = _v3_header(boots, engine_time)
    if valid:
        msg = message.parse_v3_message(data)
        assert (msg.engine_boots, msg.engine_time) == (2**31 - 1, 2**31 - 1)
        return
    with pytest.raises(message.SnmpRangeError):
        message.parse_v3_message(data)


@pytest.mark.parametrize(("msg_id", "max_size"), [
    (b"\x02\x01\xff", b"\x02\x02\x05\xdc"),  # msgID -1
    (b"\x02\x01\x07", b"\x02\x02\x01\xe3"),  # msgMaxSize 483, below RFC 3412's 484
], ids=["msgID -1", "msgMaxSize 483"])
def test_v3_msg_id_and_max_size_out_of_range_are_refused(msg_id: bytes, max_size: bytes
                                                         ) -> None:
    with pytest.raises(message.SnmpRangeError):
        message.parse_v3_message(_v3_header(b"\x01", b"\x01", msg_id, max_size))
    assert message.parse_v3_message(_v3_header(b"\x01", b"\x01")).max_size == 1500
