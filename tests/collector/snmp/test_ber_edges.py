"""BER at the edges of each form: lengths at 0x7F/0x80, long-form and non-minimal lengths
read by the general readers, OID arcs at 127/128 and at 2**32-1, INTEGER at +-2**63,
request varbinds whose OID just fits or just misses the short form. Every row's octets are
worked out by hand from X.690 (8.1.3 lengths, 8.3 INTEGER, 8.19 OBJECT IDENTIFIER) and
RFC 2578; none is produced by the encoder under test."""

from __future__ import annotations

import pytest

from collector.snmp import ber
from collector.snmp.client import SnmpDecodeError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# ------------------------------------------------------------------ encoding

@pytest.mark.parametrize(("n", "octets"), [
    (0, "00"), (0x7F, "7f"), (0x80, "8180"), (0xFF, "81ff"), (0x100, "820100"),
    (0xFFFF, "82ffff"), (0x10000, "83010000"),
])
def test_encode_length(n: int, octets: str) -> None:
    assert ber.encode_length(n).hex() == octets
    assert ber.tlv_header(0x04, n).hex() == "04" + octets
    assert ber.read_length(h(octets), 0, len(octets) // 2) == (n, len(octets) // 2)


@pytest.mark.parametrize(("tag", "value", "octets"), [
    (ber.INTEGER, 1, "020101"),
    (ber.INTEGER, 2**63 - 1, "02087fffffffffffffff"),
    (ber.INTEGER, -(2**63), "02088000000000000000"),
    (ber.GAUGE32, 127, "42017f"),
    (ber.GAUGE32, 128, "42020080"),
    (ber.COUNTER32, 255, "410200ff"),
    (ber.COUNTER64, 2**63, "4609008000000000000000"),
    (ber.OCTET_STRING, "ups", "0403757073"),  # text is sent as its UTF-8 octets
    (ber.OCTET_STRING, "độ", "0405c491e1bb99"),
    (ber.IP_ADDRESS, b"\xc0\x00\x02\x01", "4004c0000201"),
    (ber.OBJECT_IDENTIFIER, ".1.3.6.1", "06032b0601"),  # a leading dot is allowed
    (ber.OBJECT_IDENTIFIER, " 1.3.6.1 ", "06032b0601"),
    (ber.OBJECT_IDENTIFIER, "1.3.127.128", "06042b7f8100"),
    (ber.OBJECT_IDENTIFIER, "1.39", "06014f"),  # 1*40+39 = 79
    (ber.OBJECT_IDENTIFIER, "2.4294967215", "06058fffffff7f"),  # 80 + that = 2**32-1
    (ber.OBJECT_IDENTIFIER, [1, 3, 6], "06022b06"),
])
def test_encode_value(tag: int, value: object, octets: str) -> None:
    assert ber.encode_value(tag, value).hex() == octets


@pytest.mark.parametrize(("tag", "value"), [
    (ber.INTEGER, 2**63),
    (ber.INTEGER, -(2**63) - 1),
    (ber.IP_ADDRESS, b"\x01\x02\x03"),
    (ber.IP_ADDRESS, b"\x01\x02\x03\x04\x05"),
    (ber.IP_ADDRESS, "10.0.0"),
    (ber.OBJECT_IDENTIFIER, "2.4294967216"),  # 80 + that = 2**32: no 32-bit sub-identifier
    (ber.GAUGE32, -1),
    (ber.COUNTER64, 2**64),
    (0x45, 1),  # no such application type
])
def test_encode_value_refuses(tag: int, value: object) -> None:
    with pytest.raises(ValueError):
        ber.encode_value(tag, value)


def test_encode_varbind_from_oid_octets() -> None:
    # name given as the OID's content octets: 06 02 2b 06, then INTEGER 5
    assert ber.encode_varbind(b"\x2b\x06", ber.INTEGER, 5).hex() == "3007" "06022b06" "020105"
    assert ber.encode_varbind("1.3.6", ber.INTEGER, 5).hex() == "3007" "06022b06" "020105"


def _oid_of(n: int) -> bytes:
    """OID content octets of length n: 1.3 then n-1 arcs of 1."""
    return b"\x2b" + b"\x01" * (n - 1)


@pytest.mark.parametrize(("n", "head"), [
    # a varbind holds 06 n <n octets> 05 00: n + 4 octets; 0x7F is the longest short form
    (0x7B, "307f" "067b"),
    (0x7C, "308180" "067c"),
    (0x7D, "308181" "067d"),
    (0x7E, "308182" "067e"),
    (0x80, "308185" "068180"),
])
def test_request_varbinds_at_the_short_form_limit(n: int, head: str) -> None:
    raw = _oid_of(n)
    varbind = h(head) + raw + h("0500")
    listed = ber.encode_null_varbinds([raw])
    assert listed == ber.tlv_header(ber.SEQUENCE, len(varbind)) + varbind
    assert ber.decode_varbinds(listed, len(listed) - len(varbind), len(listed)) == [(raw, None)]


def test_request_varbinds_of_several_oids() -> None:
    # 30 06 (06 02 2b 06, 05 00) and 30 05 (06 01 2b, 05 00): 15 octets in the list
    assert ber.encode_null_varbinds([b"\x2b\x06", b"\x2b"]).hex() == (
        "300f" "300606022b060500" "300506012b0500")


# ------------------------------------------------------------------ decoding

# (octets, the decoded value) read by read_integer, short form and general form alike
INTEGERS = {
    "one octet": ("020105", 5),
    "negative": ("0201ff", -1),
    "eight octets": ("0208ff00000000000000", -(2**56)),
    "long-form length 0x81 01": ("028101ff", -1),
    "non-minimal long form": ("02820002 0100", 256),
    "long form, eight octets": ("028108 7fffffffffffffff", 2**63 - 1),
}


@pytest.mark.parametrize(("octets", "value"), INTEGERS.values(), ids=INTEGERS.keys())
def test_read_integer(octets: str, value: int) -> None:
    data = h(octets)
    assert ber.read_integer(data, 0, len(data)) == (value, len(data))


@pytest.mark.parametrize("octets", [
    "028100",  # long form, no content
    "028109 010000000000000000",  # long form, 9 octets
    "0201",  # length past the end
    "02",  # no length at all
    "040105",  # not an INTEGER
    "0280 05 0000",  # indefinite length
])
def test_read_integer_refuses(octets: str) -> None:
    data = h(octets)
    with pytest.raises(SnmpDecodeError):
        ber.read_integer(data, 0, len(data))


@pytest.mark.parametrize(("octets", "value"), [
    ("0400", b""),
    ("040161", b"a"),
    ("04810161", b"a"),  # long form
    ("0481 80" + "61" * 0x80, b"a" * 0x80),
    ("04820002 6162", b"ab"),
])
def test_read_octets(octets: str, value: bytes) -> None:
    data = h(octets)
    assert ber.read_octets(data, 0, len(data)) == (value, len(data))


@pytest.mark.parametrize("octets", [
    "04",  # a tag and nothing else
    "020105",  # an INTEGER where an OCTET STRING must be
    "0480" + "61" * 0x80,  # indefinite length, whatever follows
    "0403 6162",  # one octet short
])
def test_read_octets_refuses(octets: str) -> None:
    data = h(octets)
    with pytest.raises(SnmpDecodeError):
        ber.read_octets(data, 0, len(data))


@pytest.mark.parametrize(("octets", "expected"), [
    ("3000", (ber.SEQUENCE, 2, 2)),
    ("307f" + "00" * 0x7F, (ber.SEQUENCE, 2, 0x81)),
    ("308180" + "00" * 0x80, (ber.SEQUENCE, 3, 0x83)),
    ("30820080" + "00" * 0x80, (ber.SEQUENCE, 4, 0x84)),
    ("3083000080" + "00" * 0x80, (ber.SEQUENCE, 5, 0x85)),
    ("308400000001 00", (ber.SEQUENCE, 6, 7)),
    ("9f00", None),  # a multi-octet tag (low five bits all set)
    ("3f00", None),
    ("308500000000 01 00", None),  # five length octets: more than SNMP ever needs
    ("3080 0000", None),  # indefinite
    ("3080" + "00" * 0x80, None),  # indefinite, even with 128 octets after it
    ("30", None),
    ("3082 00", None),  # a two-octet length cut short
])
def test_read_tlv(octets: str, expected: tuple[int, int, int] | None) -> None:
    data = h(octets)
    if expected is None:
        with pytest.raises(SnmpDecodeError):
            ber.read_tlv(data, 0, len(data))
    else:
        assert ber.read_tlv(data, 0, len(data)) == expected


@pytest.mark.parametrize(("octets", "tag", "expected"), [
    ("0400", ber.OCTET_STRING, (2, 2)),
    ("0481 03 616263", ber.OCTET_STRING, (3, 6)),
    ("0480", ber.OCTET_STRING, None),  # indefinite, even with nothing after it
    ("0480" + "00" * 0x80, ber.OCTET_STRING, None),
    ("0400", ber.INTEGER, None),
    ("04", ber.OCTET_STRING, None),
])
def test_expect(octets: str, tag: int, expected: tuple[int, int] | None) -> None:
    data = h(octets)
    if expected is None:
        with pytest.raises(SnmpDecodeError):
            ber.expect(data, 0, len(data), tag)
    else:
        assert ber.expect(data, 0, len(data), tag) == expected


@pytest.mark.parametrize(("octets", "end", "n"), [
    ("8400000001", 5, 1),
    ("8400000001", 4, None),  # the four length octets run past the end
    ("85000000000001", 7, None),  # five length octets
    ("81", 1, None),
    ("80", 1, None),  # indefinite
    ("", 0, None),
])
def test_read_length(octets: str, end: int, n: int | None) -> None:
    data = h(octets)
    if n is None:
        with pytest.raises(SnmpDecodeError):
            ber.read_length(data, 0, end)
    else:
        assert ber.read_length(data, 0, end) == (n, end)


# ------------------------------------------------------------------ OIDs

@pytest.mark.parametrize(("octets", "text"), [
    ("2b", "1.3"),
    ("27", "0.39"),
    ("28", "1.0"),
    ("4f", "1.39"),
    ("50", "2.0"),
    ("7f", "2.47"),
    ("8100", "2.48"),  # first sub-identifier 128: 2.(128-80)
    ("2b7f8100", "1.3.127.128"),
    ("2b8fffffff7f", "1.3.4294967295"),
    ("8837", "2.999"),
])
def test_oid_text(octets: str, text: str) -> None:
    assert ber.oid_to_str(h(octets)) == text
    assert ".".join(map(str, ber.oid_arcs(h(octets)))) == text


@pytest.mark.parametrize("octets", ["", "2b80", "2b8001", "2b81", "2b9080808000", "80", "8001"])
def test_oid_arcs_refuses(octets: str) -> None:
    with pytest.raises(SnmpDecodeError):
        ber.oid_arcs(h(octets))


def test_oid_of_128_arcs_is_the_limit() -> None:
    longest = h("2b") + b"\x81\x00" * 126  # 1.3 and 126 arcs of 128: 128 arcs
    assert ber.oid_arcs(longest) == [1, 3, *[128] * 126]
    with pytest.raises(SnmpDecodeError):
        ber.oid_arcs(longest + b"\x81\x00")


@pytest.mark.parametrize(("octets", "text", "key"), [
    ("01", "1", "01"),
    ("7f", "127", "7f"),
    ("8100", "128", "8180"),  # one octet of value 0x80, behind its length marker 0x81
    ("8200", "256", "820100"),
    ("818000", "16384", "824000"),
    ("8fffffff7f", "4294967295", "84ffffffff"),
    ("0a8100", "10.128", "0a8180"),
])
def test_suffix_text_and_order_key(octets: str, text: str, key: str) -> None:
    assert ber.suffix_to_str(h(octets)) == text
    assert ber.suffix_order_key(h(octets)).hex() == key


# ------------------------------------------------------------------ varbinds, long forms

ROW = "060a2b060102010202010a01"  # 1.3.6.1.2.1.2.2.1.10.1


@pytest.mark.parametrize(("octets", "value"), [
    # varbind length in long form (non-minimal 0x81 0x0f)
    ("30810f" + ROW + "410105", 5),
    # name length in long form
    ("3010" + "06810a2b060102010202010a01" + "410105", 5),
    # value length in long form
    ("3010" + ROW + "42810105", 5),
    ("3012" + ROW + "4004c0000201", "192.0.2.1"),
    ("3010" + ROW + "0402ff00", b"\xff\x00"),
    ("3016" + ROW + "0208 ff00000000000001", -(2**56) + 1),  # INTEGER of eight octets
    ("3012" + ROW + "06042b060102", "1.3.6.1.2"),  # an OID value of four octets
    ("3013" + ROW + "4605 0100000000", 2**32),
    ("300e" + ROW + "0500", None),
])
def test_varbinds_in_long_and_short_forms(octets: str, value: object) -> None:
    data = h(octets)
    assert ber.decode_varbinds(data, 0, len(data)) == [(h(ROW)[2:], value)]


@pytest.mark.parametrize("octets", [
    "3011" + ROW + "4005 c000020101",  # IpAddress of 5 octets
    "300f" + ROW + "400100",  # IpAddress of 1 octet
    "3010" + ROW + "0281 00",  # INTEGER, long form, empty
    "300f" + "060a2b060102010202010a81" + "0500",  # name ends inside an arc
    "300e" + "06102b060102010202010a01" + "0500",  # name longer than its varbind
    "3006" + "06022b80" + "0500",  # name's last octet 0x80: ends inside an arc
    "300e" + ROW + "4100",  # Counter32 without content
    # indefinite lengths (0x80), each followed by 128 octets that would fit as content
    "3080" + ROW + "0472" + "61" * 0x72,
    "3081 84" + "0680" + "2b" + "01" * 0x7F + "0500",
    "3081 8e" + ROW + "0480" + "61" * 0x80,
])
def test_varbinds_refused(octets: str) -> None:
    data = h(octets)
    with pytest.raises(SnmpDecodeError):
        ber.decode_varbinds(data, 0, len(data))


@pytest.mark.parametrize(("octets", "value"), [
    ("4605 0100000000", 2**32),
    ("4609 00ffffffffffffffff", 2**64 - 1),
    ("0281 02 0100", 256),
])
def test_decode_value_general_forms(octets: str, value: int) -> None:
    data = h(octets)
    tag, start, stop = ber.read_tlv(data, 0, len(data))
    assert ber.decode_value(tag, data, start, stop) == value


@pytest.mark.parametrize("octets", ["4600", "460a 00000000000000000001", "0200"])
def test_decode_value_refuses(octets: str) -> None:
    data = h(octets)
    tag, start, stop = ber.read_tlv(data, 0, len(data))
    with pytest.raises(SnmpDecodeError):
        ber.decode_value(tag, data, start, stop)
