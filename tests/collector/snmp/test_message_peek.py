"""The in-place readers every received datagram meets before it is decoded: the id it
answers (`peek_message_id`, which routes it on the shared socket), whether a ScopedPDU
names our request's context (`scoped_context_is`, RFC 3412 7.2.12 b) and a v1/v2c
answer's header (`parse_community_response`). Every datagram is
written out by hand, octet by octet (X.690 lengths, RFC 3416 / RFC 3412 layouts)."""

from __future__ import annotations

import pytest

from collector.snmp import ber, message
from collector.snmp.client import SnmpDecodeError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


COMMUNITY = "04067075626c6963"  # OCTET STRING "public"

PEEK = {
    "v2c, short forms": ("3010 020101" + COMMUNITY + "a203 02012a", 42),
    "v1": ("3010 020100" + COMMUNITY + "a203 02012a", 42),
    "v2c, long-form message length": ("308110 020101" + COMMUNITY + "a203 02012a", 42),
    "v2c, long-form PDU length": ("3011 020101" + COMMUNITY + "a28103 02012a", 42),
    "v2c, two-octet message length": ("30820010 020101" + COMMUNITY + "a203 02012a", 42),
    "a trap's PDU tag": ("3010 020101" + COMMUNITY + "a703 02012a", 42),
    "negative id": ("3010 020101" + COMMUNITY + "a203 0201ff", -1),
    "four-octet id": ("3013 020101" + COMMUNITY + "a206 02047fffffff", 2**31 - 1),
    "five-octet id": ("3014 020101" + COMMUNITY + "a207 020500ffffffff", 2**32 - 1),
    "six-octet id": ("3015 020101" + COMMUNITY + "a208 02060000000000ff", None),
    "empty id": ("300f 020101" + COMMUNITY + "a202 0200", None),
    "id not an INTEGER": ("3010 020101" + COMMUNITY + "a203 04012a", None),
    "PDU not context-class": ("3010 020101" + COMMUNITY + "3003 02012a", None),
    "community in long form": ("3011 020101 0481067075626c6963 a203 02012a", None),
    "community not an OCTET STRING": ("3010 020101 02067075626c6963 a203 02012a", None),
    "version of two octets": ("3011 02020001" + COMMUNITY + "a203 02012a", None),
    "version not an INTEGER": ("3010 040101" + COMMUNITY + "a203 02012a", None),
    "unknown version 2": ("3010 020102" + COMMUNITY + "a203 02012a", None),
    "not a SEQUENCE": ("3110 020101" + COMMUNITY + "a203 02012a", None),
    "cut inside the id": ("3010 020101" + COMMUNITY + "a203 0201", None),
    "cut before the PDU": ("3010 020101" + COMMUNITY, None),
    "empty": ("", None),
    # v3: msgVersion 3, msgGlobalData SEQUENCE { msgID ... }
    "v3": ("300a 020103 3005 020301e240", 123456),
    "v3, long-form global data": ("300b 020103 308105 020301e240", 123456),
    "v3, global data not a SEQUENCE": ("300a 020103 3105 020301e240", None),
    "v3, msgID not an INTEGER": ("300a 020103 3005 040301e240", None),
}


@pytest.mark.parametrize(("octets", "msg_id"), PEEK.values(), ids=PEEK.keys())
def test_peek_message_id(octets: str, msg_id: int | None) -> None:
    assert message.peek_message_id(h(octets)) == msg_id


ENGINE = "0407 80001f8804 7477"  # contextEngineID: 80 00 1f 88 04 't' 'w'
HEAD = h(ENGINE + "0400")  # and an empty contextName, as our request carries them
PDU = "a203 020101"

CONTEXTS = {
    "the same, short forms": ("3010" + ENGINE + "0400" + PDU, True),
    "the same, long-form SEQUENCE": ("308110" + ENGINE + "0400" + PDU, True),
    "the same values, long-form OCTET STRINGs": (
        "3012 048107 80001f88047477 048100" + PDU, True),
    "another contextName": ("3011" + ENGINE + "040161" + PDU, False),
    "another contextEngineID": ("3010 0407 80001f88047478 0400" + PDU, False),
    "another engine, long forms": ("3012 048107 80001f88047478 048100" + PDU, False),
    "another name, long forms": ("3013 048107 80001f88047477 04810161" + PDU, False),
    "not a SEQUENCE": ("3110" + ENGINE + "0400" + PDU, False),
    "cut short": ("3010" + ENGINE, False),
    "empty": ("", False),
}


@pytest.mark.parametrize(("octets", "same"), CONTEXTS.values(), ids=CONTEXTS.keys())
def test_scoped_context_is(octets: str, same: bool) -> None:
    assert message.scoped_context_is(h(octets), HEAD) is same


# ------------------------------------------------------------------ parse_community_response

def _response(version: str = "020101", community: str = COMMUNITY, pdu_tag: str = "a2",
              numbers: str = "02012a 020100 020100", varbinds: str = "3000",
              after_pdu: str = "") -> bytes:
    """A v1/v2c message around hand-written parts, with short-form lengths."""
    pdu_body = h(numbers + varbinds)
    pdu = h(pdu_tag) + bytes([len(pdu_body)]) + pdu_body + h(after_pdu)
    body = h(version + community) + pdu
    return bytes([0x30, len(body)]) + body


RESPONSES = {
    "v2c": (_response(), (1, 0xA2, 42, 0, 0, 26, 26)),
    "v1": (_response(version="020100"), (0, 0xA2, 42, 0, 0, 26, 26)),
    "version in long form": (_response(version="02810101"), (1, 0xA2, 42, 0, 0, 27, 27)),
    "community in long form": (_response(community="048106" + COMMUNITY[4:]),
                               (1, 0xA2, 42, 0, 0, 27, 27)),
    "request-id in long form": (_response(numbers="0281012a 020100 020100"),
                                (1, 0xA2, 42, 0, 0, 27, 27)),
    "error status and index": (_response(numbers="02012a 020105 020102"),
                               (1, 0xA2, 42, 5, 2, 26, 26)),
    "negative request-id": (_response(numbers="0201ff 020100 020100"),
                            (1, 0xA2, -1, 0, 0, 26, 26)),
    "eight-octet request-id": (_response(numbers="02080000000000000101 020100 020100"),
                               (1, 0xA2, 257, 0, 0, 33, 33)),
    "a varbind": (_response(varbinds="3007 3005 06012b 0500"), (1, 0xA2, 42, 0, 0, 26, 33)),
    "GetBulk": (_response(pdu_tag="a5"), (1, 0xA5, 42, 0, 0, 26, 26)),
    "Report": (_response(pdu_tag="a8"), (1, 0xA8, 42, 0, 0, 26, 26)),
}


@pytest.mark.parametrize(("data", "parsed"), RESPONSES.values(), ids=RESPONSES.keys())
def test_parse_community_response(data: bytes, parsed: tuple[int, ...]) -> None:
    assert message.parse_community_response(data) == parsed


BAD_RESPONSES = {
    "version 3": _response(version="020103"),
    "version of nine octets": _response(version="0209010000000000000001"),
    "community an INTEGER": _response(community="02067075626c6963"),
    "a v1 trap PDU": _response(pdu_tag="a4"),
    "no PDU tag at all": _response(pdu_tag="30"),
    "request-id of nine octets": _response(numbers="0209000000000000000001 020100 020100"),
    "request-id an OCTET STRING": _response(numbers="04012a 020100 020100"),
    "request-id past the PDU": _response(numbers="02012a 020100 0201", varbinds=""),
    "VarBindList an OCTET STRING": _response(varbinds="0400"),
    "VarBindList shorter than the PDU": _response(varbinds="3000 00"),
    "octets after the PDU": _response(after_pdu="00"),
    "not a SEQUENCE": b"\x31" + _response()[1:],
    "an octet after the message": _response() + b"\x00",
    "cut in the community": _response()[:8],
    "empty": b"",
}


@pytest.mark.parametrize("data", BAD_RESPONSES.values(), ids=BAD_RESPONSES.keys())
def test_parse_community_response_refuses(data: bytes) -> None:
    with pytest.raises(SnmpDecodeError):
        message.parse_community_response(data)


# ------------------------------------------------------------------ v3: the usual layout

def _v3(msg_id: int = 7, max_size: int = 65507, flags: int = 3, engine: bytes = b"\x80e",
        boots: int = 5, engine_time: int = 1001, user: bytes = b"ops", auth: bytes = b"\0" * 12,
        priv: bytes = b"\0" * 8, scoped_size: int = 10) -> bytes:
    pdu = message.encode_pdu(0xA2, 1, message.encode_typed_varbinds(
        [("1.3.6.1.2.1.1.5.0", 0x04, b"x" * scoped_size)]))
    scoped = message.encode_scoped_pdu(engine, b"", pdu)
    if flags & message.FLAG_PRIV:  # ciphertext: an OCTET STRING
        scoped = bytes([0x04]) + ber.encode_length(len(scoped)) + scoped
    params, offset = message.encode_usm_parameters(engine, boots, engine_time, user, auth, priv)
    return message.encode_v3_message(msg_id, flags, params, offset, scoped, max_size)[0]


USUAL = {
    "authPriv": _v3(),
    "authNoPriv": _v3(flags=1, priv=b""),
    "noAuthNoPriv": _v3(flags=0, auth=b"", priv=b""),
    "reportable": _v3(flags=4, auth=b"", priv=b""),
    "msgID 0": _v3(msg_id=0),
    "msgID 2**31-1": _v3(msg_id=2**31 - 1),
    "smallest msgMaxSize": _v3(max_size=484),
    "largest msgMaxSize": _v3(max_size=2**31 - 1),
    "boots and time 0": _v3(boots=0, engine_time=0),
    "boots and time 2**31-1": _v3(boots=2**31 - 1, engine_time=2**31 - 1),
    "engine ID and user of 32 octets": _v3(engine=b"e" * 32, user=b"u" * 32),
    "empty engine ID and user": _v3(engine=b"", user=b""),
    "a ScopedPDU over 127 octets": _v3(scoped_size=200),
    "a ScopedPDU over 255 octets": _v3(scoped_size=400),
    "no privacy, long ScopedPDU": _v3(flags=1, priv=b"", scoped_size=300),
}


@pytest.mark.parametrize("data", USUAL.values(), ids=USUAL.keys())
def test_the_usual_v3_layouts_are_read_in_place(data: bytes) -> None:
    """Every v3 answer of every poll takes the in-place reader (and it reads what the
    general parser reads), at each field's smallest and largest usual size."""
    fast = message._parse_v3_layout(data)
    assert fast is not None
    assert fast == message._parse_v3_general(data)


SCOPED_HEAD = "0402 8065 0400"  # contextEngineID 80 65, empty contextName
SCOPED = {
    "Response": ("3013" + SCOPED_HEAD + "a20b 020101 020100 020100 3000",
                 (0xA2, 1, 0, 0, 21, 21)),
    "DES padding after it": ("3013" + SCOPED_HEAD + "a20b 020101 020100 020100 3000 000000",
                             (0xA2, 1, 0, 0, 21, 21)),
    "long-form SEQUENCE": ("308113" + SCOPED_HEAD + "a20b 020101 020100 020100 3000",
                           (0xA2, 1, 0, 0, 22, 22)),
    "long-form PDU": ("3014" + SCOPED_HEAD + "a2810b 020101 020100 020100 3000",
                      (0xA2, 1, 0, 0, 22, 22)),
    "five-octet request-id": ("3017" + SCOPED_HEAD + "a20f 020500ffffffff 020100 020100 3000",
                              (0xA2, 2**32 - 1, 0, 0, 25, 25)),
    "error status and index": ("3013" + SCOPED_HEAD + "a20b 020101 020102 020101 3000",
                               (0xA2, 1, 2, 1, 21, 21)),
    "Report": ("3013" + SCOPED_HEAD + "a80b 020101 020100 020100 3000",
               (0xA8, 1, 0, 0, 21, 21)),
    "a varbind": ("301a" + SCOPED_HEAD + "a212 020101 020100 020100 3007 3005 06012b 0500",
                  (0xA2, 1, 0, 0, 21, 28)),
}


@pytest.mark.parametrize(("octets", "parsed"), SCOPED.values(), ids=SCOPED.keys())
def test_the_usual_scoped_pdu_is_read_in_place(
    octets: str, parsed: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the general reader out of the way, the usual ScopedPDUs are still read: the
    in-place reader took them, and read what is written above."""
    def general(_: bytes) -> object:
        raise AssertionError("the general reader was asked")

    monkeypatch.setattr(message, "parse_scoped_pdu", general)
    assert message.parse_scoped_response(h(octets)) == parsed


@pytest.mark.parametrize("octets", [
    "3013" + SCOPED_HEAD + "a40b 020101 020100 020100 3000",  # a v1 trap PDU
    "3013" + SCOPED_HEAD + "a20b 020101 020100 020100 0400",  # VarBindList not a SEQUENCE
    "3014" + SCOPED_HEAD + "a20c 020101 020100 020100 3000 00",  # octet after VarBindList
    "3013" + "0402 8065 0200" + "a20b 020101 020100 020100 3000",  # contextName an INTEGER
    "3013" + SCOPED_HEAD + "a20b 040101 020100 020100 3000",  # request-id not an INTEGER
    "3013" + SCOPED_HEAD + "a20b 020101 020100",  # cut short
])
def test_unusual_scoped_pdus_are_refused(octets: str) -> None:
    with pytest.raises(SnmpDecodeError):
        message.parse_scoped_response(h(octets))


@pytest.mark.parametrize(("engine", "user"), [(b"e" * 33, b"ops"), (b"\x80e", b"u" * 33)])
def test_an_engine_id_or_user_of_33_octets_is_refused(engine: bytes, user: bytes) -> None:
    """snmpEngineID and the USM user name are at most 32 octets (RFC 3411, RFC 3414)."""
    data = _v3(engine=engine, user=user)
    assert message._parse_v3_layout(data) is None
    with pytest.raises(SnmpDecodeError, match="32 octets"):
        message.parse_v3_message(data)
