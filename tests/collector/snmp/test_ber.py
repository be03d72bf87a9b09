"""BER for SNMP: encodings checked against hand-computed octets, round trips over the edge
values of every type, and a malformed input of each kind refused with SnmpDecodeError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.snmp import ber
from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    SnmpDecodeError,
)


def decode_one(tlv: bytes) -> object:
    tag, start, stop = ber.read_tlv(tlv, 0, len(tlv))
    assert stop == len(tlv)
    return ber.decode_value(tag, tlv, start, stop)


# (tag, value, octets) worked out by hand from X.690 and RFC 2578
KNOWN_ENCODINGS = [
    (ber.INTEGER, 0, "020100"),
    (ber.INTEGER, 127, "02017f"),
    (ber.INTEGER, 128, "02020080"),
    (ber.INTEGER, 256, "02020100"),
    (ber.INTEGER, -1, "0201ff"),
    (ber.INTEGER, -128, "020180"),
    (ber.INTEGER, -129, "0202ff7f"),
    (ber.INTEGER, 2**31 - 1, "02047fffffff"),
    (ber.INTEGER, -(2**31), "020480000000"),
    (ber.COUNTER32, 2**32 - 1, "410500ffffffff"),
    (ber.GAUGE32, 0, "420100"),
    (ber.TIMETICKS, 4_294_967_295, "430500ffffffff"),
    (ber.COUNTER64, 2**64 - 1, "460900ffffffffffffffff"),
    (ber.OCTET_STRING, b"public", "04067075626c6963"),
    (ber.OCTET_STRING, b"", "0400"),
    (ber.NULL, None, "0500"),
    (ber.OBJECT_IDENTIFIER, "1.3.6.1.2.1.1.1.0", "06082b06010201010100"),
    (ber.OBJECT_IDENTIFIER, "1.3.6.1.4.1.2680.1.2.7.3.2.0", "060d2b060104019478010207030200"),
    (ber.OBJECT_IDENTIFIER, "2.999.3", "0603883703"),
    (ber.OBJECT_IDENTIFIER, "1.3.4294967295", "06062b8fffffff7f"),
    (ber.IP_ADDRESS, "192.0.2.255", "4004c00002ff"),
    (ber.OPAQUE, b"\x9f\x78\x04\x3f\x80\x00\x00", "44079f78043f800000"),
    (ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT, "8000"),
    (ber.NO_SUCH_INSTANCE_TAG, NO_SUCH_INSTANCE, "8100"),
    (ber.END_OF_MIB_VIEW_TAG, END_OF_MIB_VIEW, "8200"),
]


@pytest.mark.parametrize(("tag", "value", "octets"), KNOWN_ENCODINGS)
def test_known_encodings_both_ways(tag: int, value: object, octets: str) -> None:
    assert ber.encode_value(tag, value).hex() == octets
    decoded = decode_one(bytes.fromhex(octets))
    assert decoded == value
    if value in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW):
        assert decoded is value  # the seam's singletons, not copies


@pytest.mark.parametrize(
    ("n", "length_octets"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (65535, "82ffff")],
)
def test_lengths_short_and_long_form(n: int, length_octets: str) -> None:
    encoded = ber.encode_tlv(ber.OCTET_STRING, b"x" * n)
    assert encoded[1 : 1 + len(length_octets) // 2].hex() == length_octets
    assert decode_one(encoded) == b"x" * n


def test_non_minimal_lengths_are_accepted() -> None:
    # Net-SNMP itself sends 0x82 lengths for short SEQUENCEs; BER allows it.
    assert decode_one(bytes.fromhex("04820003616263")) == b"abc"


EDGE_VALUES = [
    (ber.INTEGER, v)
    for v in (0, 1, -1, 127, 128, -128, -129, 255, 256, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63))
] + [
    (tag, v)
    for tag in (ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS)
    for v in (0, 1, 127, 128, 2**31, 2**32 - 1)
] + [
    (ber.COUNTER64, v) for v in (0, 2**32, 2**63 - 1, 2**63, 2**64 - 1)
] + [
    (ber.OCTET_STRING, b"\x00" * n) for n in (0, 1, 127, 128, 255, 256, 1400, 65535)
] + [
    (ber.OBJECT_IDENTIFIER, oid)
    for oid in (
        "0.0",
        "0.39",
        "1.0",
        "1.39",
        "2.0",
        "2.40",
        "2.999",
        "1.3.6.1.4.1.9.9.13.1.3.1.3.1",
        "1.3.127.128.16383.16384.2097151.2097152.4294967295",
        "1.3" + ".7" * 126,  # 128 arcs, the SMI limit
    )
] + [
    (ber.IP_ADDRESS, a) for a in ("0.0.0.0", "255.255.255.255", "10.1.2.3")
] + [(ber.OPAQUE, b"\x01\x02"), (ber.NULL, None)]  # fmt: skip


@pytest.mark.parametrize(("tag", "value"), EDGE_VALUES)
def test_round_trip_edge_values(tag: int, value: object) -> None:
    assert decode_one(ber.encode_value(tag, value)) == value


def test_varbind_list_decodes_oid_octets_and_values() -> None:
    varbinds = [
        ("1.3.6.1.2.1.1.3.0", ber.TIMETICKS, 12345),
        ("1.3.6.1.2.1.2.2.1.2.1", ber.OCTET_STRING, b"lo"),
        ("1.3.6.1.2.1.4.20.1.1.127.0.0.1", ber.IP_ADDRESS, "127.0.0.1"),
        ("1.3.6.1.2.1.1.2.0", ber.OBJECT_IDENTIFIER, "1.3.6.1.4.1.8072.3.2.10"),
        ("1.3.6.1.2.1.31.1.1.1.6.1", ber.COUNTER64, 2**64 - 1),
        ("1.3.6.1.2.1.1.99.0", ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT),
    ]
    content = b"".join(ber.encode_varbind(oid, tag, value) for oid, tag, value in varbinds)
    decoded = ber.decode_varbinds(content, 0, len(content))
    assert [(ber.oid_to_str(raw), value) for raw, value in decoded] == [
        (oid, value) for oid, _, value in varbinds
    ]
    assert decoded[0][0] == ber.encode_oid_content("1.3.6.1.2.1.1.3.0")


MALFORMED_VALUES = {
    "truncated header": "04",
    "content shorter than its length": "040561",
    "indefinite length": "048061",
    "length field of five octets": "04850000000001",
    "long length past the end": "0482ffff00",
    "multi-octet tag": "1f0100",
    "empty INTEGER": "0200",
    "INTEGER of 9 octets": "0209010000000000000000",
    "Counter32 above 2**32-1": "41050100000000",
    "Counter32 of 6 octets": "4106000000000001",
    "empty Counter32": "4100",
    "Counter64 above 2**64-1": "4609010000000000000000",
    "Counter64 of 10 octets": "460a00000000000000000001",
    "empty OID": "0600",
    "OID ending inside an arc": "06032b0681",
    "OID arc with a leading 0x80": "06032b8001",
    "OID arc above 32 bits": "06062b9080808000",
    "IpAddress of 3 octets": "4003010203",
    "IpAddress of 5 octets": "40050102030405",
    "NULL with content": "050100",
    "noSuchObject with content": "800100",
    "unknown application tag": "450100",
    "SEQUENCE where a value goes": "3000",
}


@pytest.mark.parametrize("octets", MALFORMED_VALUES.values(), ids=MALFORMED_VALUES.keys())
def test_malformed_values_raise_decode_error(octets: str) -> None:
    with pytest.raises(SnmpDecodeError):
        decode_one(bytes.fromhex(octets))


def test_oid_longer_than_128_arcs_is_refused() -> None:
    with pytest.raises(SnmpDecodeError):
        ber.oid_to_str(bytes([0x2B] + [7] * 128))
    with pytest.raises(ValueError):
        ber.encode_oid_content("1.3" + ".7" * 127)


MALFORMED_VARBIND_LISTS = {
    "not a SEQUENCE": "040100",
    "name is not an OID": "30050401610500",
    "value overruns its varbind": "3006060129020201",
    "value shorter than its varbind": "300706012902010100",
    "varbind without a value": "3003060129",
    "empty name": "3004060005 00",
    "truncated in the middle": "300906032b0601020105",
    "name ends inside an arc": "3006060229810500",
}


@pytest.mark.parametrize(
    "octets", MALFORMED_VARBIND_LISTS.values(), ids=MALFORMED_VARBIND_LISTS.keys()
)
def test_malformed_varbind_lists_raise_decode_error(octets: str) -> None:
    data = bytes.fromhex(octets.replace(" ", ""))
    with pytest.raises(SnmpDecodeError):
        ber.decode_varbinds(data, 0, len(data))


@pytest.mark.parametrize(
    "oid", ["", "1", "3.1", "1.40", "1.3.-1", "1.3.x", "1.3.4294967296", "1..3"]
)
def test_encoder_refuses_invalid_oids(oid: str) -> None:
    with pytest.raises(ValueError):
        ber.encode_oid_content(oid)


def test_encoder_refuses_out_of_range_values() -> None:
    with pytest.raises(ValueError):
        ber.encode_value(ber.COUNTER32, 2**32)
    with pytest.raises(ValueError):
        ber.encode_value(ber.COUNTER64, -1)
    with pytest.raises(ValueError):
        ber.encode_value(ber.INTEGER, 2**63)


arcs = st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(arcs, min_size=2, max_size=8))
def test_suffix_order_key_sorts_like_numeric_arcs(suffixes: list[list[int]]) -> None:
    """A walk checks OID order with these keys; they must agree with numeric order."""
    encoded = [ber.encode_oid_content([1, 3, *s])[1:] for s in suffixes]  # drop "1.3"
    by_key = sorted(range(len(suffixes)), key=lambda i: ber.suffix_order_key(encoded[i]))
    by_number = sorted(range(len(suffixes)), key=lambda i: suffixes[i])
    assert [suffixes[i] for i in by_key] == [suffixes[i] for i in by_number]
    for raw, arcs_ in zip(encoded, suffixes, strict=True):
        assert ber.suffix_to_str(raw) == ".".join(map(str, arcs_))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2).flatmap(
        lambda first: st.tuples(
            st.just(first),
            st.integers(0, 39) if first < 2 else st.integers(0, 2**32 - 81),
            st.lists(st.integers(0, 2**32 - 1), max_size=20),
        )
    )
)
def test_any_valid_oid_round_trips(parts: tuple[int, int, list[int]]) -> None:
    first, second, rest = parts
    oid = ".".join(map(str, [first, second, *rest]))
    assert ber.oid_to_str(ber.encode_oid_content(oid)) == oid
