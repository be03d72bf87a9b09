"""Our codec against pysnmp's (pysnmp.proto.api message classes, pyasn1's BER codec).

Each table row is one value of one SNMP type. Messages pysnmp encodes must decode with our
decoder to the seam's plain value; messages we encode must decode with pysnmp to the same
value. v1 has no Counter64 and no exception values, so its table is smaller.
"""

from __future__ import annotations

from typing import Any

import pytest
from pyasn1.codec.ber import decoder as pyasn1_decoder
from pyasn1.codec.ber import encoder as pyasn1_encoder
from pysnmp.proto import api

from collector.snmp import ber, message
from collector.snmp.client import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Value

V1, V2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1], api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

LONG_OID = "1.3.6.1.4.1." + ".".join(str(n) for n in (127, 128, 16383, 16384, 2**31, 2**32 - 1))
LONGEST_OID = "1.3" + ".4294967295" * 126  # 128 arcs, each of five octets

# (our tag, plain value, pysnmp v2c class, pysnmp v1 class or None)
TABLE: list[tuple[int, Value, Any, Any]] = [
    (ber.INTEGER, 0, V2.Integer32, V1.Integer),
    (ber.INTEGER, -1, V2.Integer32, V1.Integer),
    (ber.INTEGER, 127, V2.Integer32, V1.Integer),
    (ber.INTEGER, -128, V2.Integer32, V1.Integer),
    (ber.INTEGER, 2**31 - 1, V2.Integer32, V1.Integer),
    (ber.INTEGER, -(2**31), V2.Integer32, V1.Integer),
    (ber.OCTET_STRING, b"", V2.OctetString, V1.OctetString),
    (ber.OCTET_STRING, b"Smart-UPS 3000 \xc4\x90i\xe1\xbb\x87n", V2.OctetString, V1.OctetString),
    (ber.OCTET_STRING, bytes(range(256)) * 8, V2.OctetString, V1.OctetString),
    (ber.OCTET_STRING, b"x" * 65000, V2.OctetString, V1.OctetString),
    (ber.NULL, None, V2.Null, V1.Null),
    (ber.OBJECT_IDENTIFIER, "0.0", V2.ObjectIdentifier, V1.ObjectIdentifier),
    (ber.OBJECT_IDENTIFIER, "2.999.1", V2.ObjectIdentifier, V1.ObjectIdentifier),
    (ber.OBJECT_IDENTIFIER, LONG_OID, V2.ObjectIdentifier, V1.ObjectIdentifier),
    (ber.OBJECT_IDENTIFIER, LONGEST_OID, V2.ObjectIdentifier, V1.ObjectIdentifier),
    (ber.IP_ADDRESS, "0.0.0.0", V2.IpAddress, V1.IpAddress),
    (ber.IP_ADDRESS, "255.254.1.0", V2.IpAddress, V1.IpAddress),
    (ber.COUNTER32, 0, V2.Counter32, V1.Counter),
    (ber.COUNTER32, 2**32 - 1, V2.Counter32, V1.Counter),
    (ber.GAUGE32, 2**31, V2.Gauge32, V1.Gauge),
    (ber.GAUGE32, 2**32 - 1, V2.Unsigned32, V1.Gauge),
    (ber.TIMETICKS, 2**32 - 1, V2.TimeTicks, V1.TimeTicks),
    (ber.OPAQUE, b"\x9f\x78\x04\x3f\x80\x00\x00", V2.Opaque, V1.Opaque),
    (ber.COUNTER64, 0, V2.Counter64, None),
    (ber.COUNTER64, 2**32, V2.Counter64, None),
    (ber.COUNTER64, 2**64 - 1, V2.Counter64, None),
    (ber.NO_SUCH_OBJECT_TAG, NO_SUCH_OBJECT, V2.NoSuchObject, None),
    (ber.NO_SUCH_INSTANCE_TAG, NO_SUCH_INSTANCE, V2.NoSuchInstance, None),
    (ber.END_OF_MIB_VIEW_TAG, END_OF_MIB_VIEW, V2.EndOfMibView, None),
]
NAMES = ["1.3.6.1.2.1.1.1.0", LONG_OID, "1.3.6.1.2.1.2.2.1.2.4294967295", LONGEST_OID]


def row_id(row: tuple[int, Value, Any, Any]) -> str:
    tag, value, _, _ = row
    text = repr(value) if not isinstance(value, bytes | str) else f"{len(value)} chars"
    return f"{tag:#04x}-{text[:20]}"


def to_pysnmp(cls: Any, value: Value) -> Any:
    if value in (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW) or value is None:
        return cls("")
    if cls in (V1.IpAddress, V2.IpAddress):
        return cls(value)
    return cls(value)


def from_pysnmp(value: Any) -> Value:
    """pysnmp's value as the seam's plain value, chosen by its BER tag."""
    tag = value.tagSet[-1]
    octet = tag.tagClass | tag.tagFormat | tag.tagId
    if octet in (ber.NO_SUCH_OBJECT_TAG, ber.NO_SUCH_INSTANCE_TAG, ber.END_OF_MIB_VIEW_TAG):
        return {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}[octet]
    if octet == ber.NULL:
        return None
    if octet == ber.IP_ADDRESS:
        return ".".join(str(b) for b in value.asOctets())
    if octet in (ber.OCTET_STRING, ber.OPAQUE):
        return bytes(value.asOctets())
    if octet == ber.OBJECT_IDENTIFIER:
        return ".".join(str(arc) for arc in value.asTuple())
    return int(value)


def pysnmp_response(mod: Any, varbinds: list[tuple[str, Any]], request_id: int) -> bytes:
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, "public")
    pdu = mod.GetResponsePDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, request_id)
    mod.apiPDU.set_varbinds(pdu, varbinds)
    mod.apiMessage.set_pdu(msg, pdu)
    return bytes(pyasn1_encoder.encode(msg))


def pysnmp_decode(mod: Any, data: bytes) -> tuple[int, list[tuple[str, Value]]]:
    msg, rest = pyasn1_decoder.decode(data, asn1Spec=mod.Message())
    assert not rest
    pdu = mod.apiMessage.get_pdu(msg)
    varbinds = [
        (".".join(map(str, oid.asTuple())), from_pysnmp(value))
        for oid, value in mod.apiPDU.get_varbinds(pdu)
    ]
    return int(mod.apiPDU.get_request_id(pdu)), varbinds


def cases() -> list[Any]:
    """(version, row) for every row, v1 only for the types v1 has."""
    return [
        pytest.param(version, row, id=f"{name}-{row_id(row)}")
        for version, name in ((message.V1, "v1"), (message.V2C, "v2c"))
        for row in TABLE
        if version == message.V2C or row[3] is not None
    ]


@pytest.mark.parametrize(("version", "row"), cases())
def test_pysnmp_encodes_we_decode(version: int, row: tuple[int, Value, Any, Any]) -> None:
    _, value, v2_cls, v1_cls = row
    mod, cls = (V1, v1_cls) if version == message.V1 else (V2, v2_cls)
    data = pysnmp_response(mod, [(name, to_pysnmp(cls, value)) for name in NAMES], 0x7FFFFFFF)

    decoded = message.decode_community_message(data)
    assert decoded.version == version and decoded.community == b"public"
    assert decoded.pdu.request_id == 0x7FFFFFFF  # type: ignore[union-attr]
    assert decoded.pdu.varbinds == [(name, value) for name in NAMES]
    # the client's fast path reads the same
    *_, start, stop = message.parse_community_response(data)
    fast = ber.decode_varbinds(data, start, stop)
    assert [(ber.oid_to_str(raw), v) for raw, v in fast] == [(name, value) for name in NAMES]


@pytest.mark.parametrize(("version", "row"), cases())
def test_we_encode_pysnmp_decodes(version: int, row: tuple[int, Value, Any, Any]) -> None:
    tag, value, _, _ = row
    mod = V1 if version == message.V1 else V2
    vbl = message.encode_typed_varbinds([(name, tag, value) for name in NAMES])
    pdu = message.encode_pdu(ber.RESPONSE, 123456, vbl)
    data = message.encode_community_message(message.community_header(version, b"public"), pdu)

    request_id, varbinds = pysnmp_decode(mod, data)
    assert request_id == 123456
    assert varbinds == [(name, value) for name in NAMES]


@pytest.mark.parametrize("request_id", [0, 1, -1, 2**31 - 1, -(2**31)])
def test_requests_we_encode_are_what_pysnmp_reads(request_id: int) -> None:
    oids = ["1.3.6.1.2.1.2.2.1.2", LONG_OID]
    data = message.encode_request(
        message.V2C,
        b"s3cret",
        ber.GET_BULK_REQUEST,
        request_id,
        [ber.encode_oid_content(o) for o in oids],
        0,
        25,
    )
    msg, rest = pyasn1_decoder.decode(data, asn1Spec=V2.Message())
    assert not rest
    assert bytes(V2.apiMessage.get_community(msg)) == b"s3cret"
    pdu = V2.apiMessage.get_pdu(msg)
    assert int(V2.apiBulkPDU.get_request_id(pdu)) == request_id
    assert int(V2.apiBulkPDU.get_non_repeaters(pdu)) == 0
    assert int(V2.apiBulkPDU.get_max_repetitions(pdu)) == 25
    assert [".".join(map(str, o.asTuple())) for o, _ in V2.apiBulkPDU.get_varbinds(pdu)] == oids
