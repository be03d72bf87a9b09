"""BER for SNMP: the handful of ASN.1 types SNMP uses, encoded and decoded by hand.

Decoding is the hot path of every poll, so it works on `bytes` with integer positions and
returns the seam's plain values (see `collector.snmp.client`): int, bytes, str for OIDs and
IpAddress, None, the `Missing` singletons. Nothing here builds an object per varbind beyond
the tuple the caller keeps.

The decoder is strict: every length is checked against its enclosing TLV, so a malformed
or truncated packet raises `SnmpDecodeError` (never IndexError or ValueError), and work and
memory are bounded by the packet's size. It is lenient only where real agents are known to
differ from DER without harm: non-minimal lengths and integers are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    SnmpDecodeError,
    Value,
)

# Universal types
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OBJECT_IDENTIFIER = 0x06
SEQUENCE = 0x30
# SNMP application types (RFC 2578, RFC 1155)
IP_ADDRESS = 0x40
COUNTER32 = 0x41
GAUGE32 = 0x42  # also Unsigned32
TIMETICKS = 0x43
OPAQUE = 0x44
COUNTER64 = 0x46
UINTEGER32 = 0x47  # obsolete SNMPv2 draft type; some old agents still send it
# Exception values in responses (RFC 3416)
NO_SUCH_OBJECT_TAG = 0x80
NO_SUCH_INSTANCE_TAG = 0x81
END_OF_MIB_VIEW_TAG = 0x82
# PDUs
GET_REQUEST = 0xA0
GET_NEXT_REQUEST = 0xA1
RESPONSE = 0xA2
SET_REQUEST = 0xA3
TRAP_V1 = 0xA4
GET_BULK_REQUEST = 0xA5
INFORM_REQUEST = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8

PDU_TAGS = frozenset(
    (
        GET_REQUEST,
        GET_NEXT_REQUEST,
        RESPONSE,
        SET_REQUEST,
        TRAP_V1,
        GET_BULK_REQUEST,
        INFORM_REQUEST,
        TRAP_V2,
        REPORT,
    )
)

MAX_UINT32 = 0xFFFFFFFF
MAX_UINT64 = 0xFFFFFFFFFFFFFFFF
MAX_OID_ARCS = 128  # SMI limit (RFC 2578 section 3.5)
_MAX_INTEGER_OCTETS = 8  # Integer32 needs 4; some agents send 64-bit INTEGERs

# Decimal text of every octet value: OID arcs below 128 and IpAddress octets.
_DEC: tuple[str, ...] = tuple(str(i) for i in range(256))
_OCTETS = frozenset((OCTET_STRING, OPAQUE))
UNSIGNED32_TAGS = frozenset((COUNTER32, GAUGE32, TIMETICKS, UINTEGER32))
_EXCEPTIONS: dict[int, Value] = {
    NO_SUCH_OBJECT_TAG: NO_SUCH_OBJECT,
    NO_SUCH_INSTANCE_TAG: NO_SUCH_INSTANCE,
    END_OF_MIB_VIEW_TAG: END_OF_MIB_VIEW,
}

# --------------------------------------------------------------------------- encoding


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv_header(tag: int, n: int) -> bytes:
    """The tag and length octets of a TLV whose content is `n` octets long."""
    if n < 0x80:
        return bytes((tag, n))
    return bytes((tag,)) + encode_length(n)


def encode_tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + encode_length(n) + content


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    """A two's complement INTEGER in the fewest octets."""
    n = ((value if value >= 0 else ~value).bit_length() + 8) // 8
    return encode_tlv(tag, value.to_bytes(n, "big", signed=True))


def encode_unsigned(value: int, tag: int, limit: int) -> bytes:
    """Counter32, Gauge32, TimeTicks, Counter64: unsigned, with a leading 0 when needed."""
    if not 0 <= value <= limit:
        raise ValueError(f"{value} out of range for tag 0x{tag:02x}")
    return encode_tlv(tag, value.to_bytes((value.bit_length() + 8) // 8, "big"))


def _encode_subid(arc: int, out: bytearray) -> None:
    if arc < 0x80:
        out.append(arc)
        return
    groups = []
    while arc:
        groups.append(arc & 0x7F)
        arc >>= 7
    for i in range(len(groups) - 1, 0, -1):
        out.append(groups[i] | 0x80)
    out.append(groups[0])


def encode_oid_content(oid: str | Sequence[int]) -> bytes:
    """The content octets of an OBJECT IDENTIFIER ("1.3.6.1..." or arcs)."""
    if isinstance(oid, str):
        text = oid.strip().lstrip(".")
        try:
            arcs = [int(part) for part in text.split(".")]
        except ValueError:
            raise ValueError(f"not a numeric OID: {oid!r}") from None
    else:
        arcs = list(oid)
    if len(arcs) < 2 or len(arcs) > MAX_OID_ARCS:
        raise ValueError(f"an OID needs 2 to {MAX_OID_ARCS} arcs: {oid!r}")
    first, second = arcs[0], arcs[1]
    if first not in (0, 1, 2) or second < 0 or (first < 2 and second >= 40):
        raise ValueError(f"invalid first arcs in OID {oid!r}")
    if any(a < 0 or a > MAX_UINT32 for a in arcs) or first * 40 + second > MAX_UINT32:
        raise ValueError(f"OID arc out of range in {oid!r}")
    out = bytearray()
    _encode_subid(first * 40 + second, out)
    for arc in arcs[2:]:
        _encode_subid(arc, out)
    return bytes(out)


def encode_oid(oid: str | Sequence[int]) -> bytes:
    return encode_tlv(OBJECT_IDENTIFIER, encode_oid_content(oid))


def encode_ip_address(address: str) -> bytes:
    parts = address.split(".")
    if len(parts) != 4:
        raise ValueError(f"not a dotted-quad IpAddress: {address!r}")
    return encode_tlv(IP_ADDRESS, bytes(int(p) for p in parts))


def encode_value(tag: int, value: object) -> bytes:
    """A typed value as a full TLV. `value` is the seam's plain form for that type."""
    if tag == INTEGER:
        assert isinstance(value, int)
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"INTEGER {value} out of range")
        return encode_integer(value)
    if tag in (OCTET_STRING, OPAQUE):
        if isinstance(value, str):
            value = value.encode()
        assert isinstance(value, bytes | bytearray | memoryview)
        return encode_tlv(tag, bytes(value))
    if tag == NULL:
        return b"\x05\x00"
    if tag == OBJECT_IDENTIFIER:
        assert isinstance(value, str | list | tuple)
        return encode_oid(value)
    if tag == IP_ADDRESS:
        if isinstance(value, bytes):
            if len(value) != 4:
                raise ValueError("IpAddress needs 4 octets")
            return encode_tlv(IP_ADDRESS, value)
        assert isinstance(value, str)
        return encode_ip_address(value)
    if tag in (COUNTER32, GAUGE32, TIMETICKS, UINTEGER32):
        assert isinstance(value, int)
        return encode_unsigned(value, tag, MAX_UINT32)
    if tag == COUNTER64:
        assert isinstance(value, int)
        return encode_unsigned(value, tag, MAX_UINT64)
    if tag in _EXCEPTIONS:
        return bytes((tag, 0))
    raise ValueError(f"cannot encode tag 0x{tag:02x}")


def encode_varbind(oid: str | bytes, tag: int = NULL, value: object = None) -> bytes:
    """One VarBind. `oid` is dotted text, or the OID's content octets when already encoded."""
    name = encode_tlv(OBJECT_IDENTIFIER, oid) if isinstance(oid, bytes) else encode_oid(oid)
    return encode_tlv(SEQUENCE, name + encode_value(tag, value))


# a NULL-valued varbind's first four octets for an OID of n content octets (n < 0x7C: the
# varbind's own length, n + 4, still fits the short form, at most 0x7F)
_SHORT_NULL_VARBIND = 0x7C
_NULL_VARBIND_HEAD = [bytes((SEQUENCE, n + 4, OBJECT_IDENTIFIER, n))
                      for n in range(_SHORT_NULL_VARBIND)]
_NULL = b"\x05\x00"


def encode_null_varbinds(oids: Iterable[bytes]) -> bytes:
    """The VarBindList of a request: each OID (content octets) with a NULL value."""
    parts: list[bytes] = []
    heads = _NULL_VARBIND_HEAD
    for raw in oids:
        n = len(raw)
        if n < _SHORT_NULL_VARBIND:
            parts += (heads[n], raw, _NULL)
        else:
            parts.append(encode_tlv(SEQUENCE, encode_tlv(OBJECT_IDENTIFIER, raw) + _NULL))
    return encode_tlv(SEQUENCE, b"".join(parts))


# --------------------------------------------------------------------------- decoding


def read_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode a definite length at `pos`; answer (length, position after it)."""
    if pos >= end:
        raise SnmpDecodeError("truncated: length missing")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise SnmpDecodeError("indefinite length is not allowed in SNMP")
    if count > 4 or pos + count > end:
        raise SnmpDecodeError("length field too long or truncated")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Decode the TLV header at `pos`; answer (tag, content start, content end)."""
    if pos + 2 > end:
        raise SnmpDecodeError("truncated: TLV header")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise SnmpDecodeError("multi-octet tags are not used in SNMP")
    n = data[pos + 1]
    if n < 0x80:
        start = pos + 2
    elif n == 0x82 and pos + 4 <= end:  # what Net-SNMP uses for most SEQUENCEs
        n = data[pos + 2] << 8 | data[pos + 3]
        start = pos + 4
    else:
        n, start = read_length(data, pos + 1, end)
    stop = start + n
    if stop > end:
        raise SnmpDecodeError(f"truncated: tag 0x{tag:02x} needs {n} octets")
    return tag, start, stop


def expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """Decode a TLV that must carry `tag`; answer (content start, content end)."""
    if pos + 2 <= end and data[pos] == tag:  # the short form, read in place
        n = data[pos + 1]
        stop = pos + 2 + n
        if n < 0x80 and stop <= end:
            return pos + 2, stop
    got, start, stop = read_tlv(data, pos, end)
    if got != tag:
        raise SnmpDecodeError(f"expected tag 0x{tag:02x}, got 0x{got:02x}")
    return start, stop


def read_integer(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode an INTEGER TLV at `pos`; answer (value, position after it)."""
    # Message headers are mostly these: read the short form in place, without read_tlv.
    if pos + 2 <= end and data[pos] == INTEGER:
        n = data[pos + 1]
        stop = pos + 2 + n
        if 0 < n <= _MAX_INTEGER_OCTETS and stop <= end:
            return int.from_bytes(data[pos + 2 : stop], "big", signed=True), stop
    start, stop = expect(data, pos, end, INTEGER)
    if not 0 < stop - start <= _MAX_INTEGER_OCTETS:
        raise SnmpDecodeError("INTEGER of invalid size")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def read_octets(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """Decode an OCTET STRING TLV at `pos`; answer (its octets, position after it)."""
    if pos + 2 <= end and data[pos] == OCTET_STRING:
        n = data[pos + 1]
        stop = pos + 2 + n
        if n < 0x80 and stop <= end:
            return data[pos + 2 : stop], stop
    start, stop = expect(data, pos, end, OCTET_STRING)
    return data[start:stop], stop


def oid_arcs(raw: bytes, *, first_combined: bool = True) -> list[int]:
    """Sub-identifiers of OID content octets, validated. With `first_combined` (a whole
    OID) the first sub-identifier is split into the two first arcs."""
    arcs: list[int] = []
    value = 0
    fresh = True
    for octet in raw:
        if fresh and octet == 0x80:
            raise SnmpDecodeError("OID sub-identifier with a leading 0x80 octet")
        value = (value << 7) | (octet & 0x7F)
        if octet & 0x80:
            fresh = False
            if value > MAX_UINT32 >> 7:
                raise SnmpDecodeError("OID sub-identifier exceeds 32 bits")
            continue
        arcs.append(value)
        value = 0
        fresh = True
    if not fresh:
        raise SnmpDecodeError("OID ends inside a sub-identifier")
    if first_combined:
        if not arcs:
            raise SnmpDecodeError("empty OBJECT IDENTIFIER")
        head = arcs[0]
        if head < 80:
            arcs[0:1] = [head // 40, head % 40]
        else:
            arcs[0:1] = [2, head - 80]
    if len(arcs) > MAX_OID_ARCS:
        raise SnmpDecodeError("OID longer than 128 arcs")
    return arcs


def oid_to_str(raw: bytes) -> str:
    """Dotted text (no leading dot) of OID content octets."""
    if raw.isascii() and raw:  # every sub-identifier fits one octet: the common case
        head = raw[0]
        if head < 40:
            text = "0." + _DEC[head]
        elif head < 80:
            text = "1." + _DEC[head - 40]
        else:
            text = "2." + _DEC[head - 80]
        if len(raw) == 1:
            return text
        if len(raw) > MAX_OID_ARCS - 1:
            raise SnmpDecodeError("OID longer than 128 arcs")
        return text + "." + ".".join(map(_DEC.__getitem__, raw[1:]))
    return ".".join(map(str, oid_arcs(raw)))


def suffix_to_str(raw: bytes) -> str:
    """Dotted text of sub-identifiers that follow a prefix (no first-arc rule)."""
    if raw.isascii():
        return ".".join(map(_DEC.__getitem__, raw))
    return ".".join(map(str, oid_arcs(raw, first_combined=False)))


def suffix_order_key(raw: bytes) -> bytes:
    """A byte string that sorts like the sub-identifiers of `raw` sort numerically.

    BER octets alone do not (0x82 0x00 = 256 sorts after 0x81 0x80 0x00 = 16384), so
    multi-octet arcs become a length marker above 0x7F followed by their big-endian value.
    One-octet arcs stay as they are, so a plain suffix is its own key.
    """
    if raw.isascii():
        return raw
    out = bytearray()
    for arc in oid_arcs(raw, first_combined=False):
        if arc < 0x80:
            out.append(arc)
        else:
            body = arc.to_bytes((arc.bit_length() + 7) // 8, "big")
            out.append(0x80 + len(body))
            out += body
    return bytes(out)


def decode_value(tag: int, data: bytes, start: int, stop: int) -> Value:
    """One value's content octets as the seam's plain value."""
    n = stop - start
    if tag == INTEGER:
        if not 0 < n <= _MAX_INTEGER_OCTETS:
            raise SnmpDecodeError("INTEGER of invalid size")
        return int.from_bytes(data[start:stop], "big", signed=True)
    if tag in _OCTETS:
        return data[start:stop]
    if tag in UNSIGNED32_TAGS:
        if not 0 < n <= 5:
            raise SnmpDecodeError(f"32-bit unsigned of {n} octets")
        value = int.from_bytes(data[start:stop], "big")
        if value > MAX_UINT32:
            raise SnmpDecodeError("32-bit unsigned out of range")
        return value
    if tag == COUNTER64:
        if not 0 < n <= 9:
            raise SnmpDecodeError(f"Counter64 of {n} octets")
        value = int.from_bytes(data[start:stop], "big")
        if value > MAX_UINT64:
            raise SnmpDecodeError("Counter64 out of range")
        return value
    if tag == OBJECT_IDENTIFIER:
        return oid_to_str(data[start:stop])
    if tag == IP_ADDRESS:
        if n != 4:
            raise SnmpDecodeError(f"IpAddress of {n} octets")
        return ".".join(map(_DEC.__getitem__, data[start:stop]))
    if tag == NULL:
        if n:
            raise SnmpDecodeError("NULL with content")
        return None
    exc = _EXCEPTIONS.get(tag)
    if exc is not None:
        if n:
            raise SnmpDecodeError("exception value with content")
        return exc
    raise SnmpDecodeError(f"unknown value tag 0x{tag:02x}")


def decode_varbinds(data: bytes, pos: int, end: int) -> list[tuple[bytes, Value]]:
    """The VarBinds in data[pos:end] (the VarBindList's content) as (OID octets, value).

    OIDs stay as their content octets: a walk compares them with its roots' octets and
    decodes only the suffix; `oid_to_str` gives the full text when wanted.
    """
    if end > len(data):
        raise SnmpDecodeError("truncated: varbind list past the end of the packet")
    out: list[tuple[bytes, Value]] = []
    append = out.append
    dec = _DEC
    unsigned32 = UNSIGNED32_TAGS
    try:
        while pos < end:
            # VarBind ::= SEQUENCE { name OBJECT IDENTIFIER, value }
            if data[pos] != SEQUENCE:
                raise SnmpDecodeError("varbind is not a SEQUENCE")
            n = data[pos + 1]
            pos += 2
            if n >= 0x80:
                n, pos = read_length(data, pos - 1, end)
            vb_end = pos + n
            if vb_end > end:
                raise SnmpDecodeError("truncated varbind")
            if data[pos] != OBJECT_IDENTIFIER:
                raise SnmpDecodeError("varbind name is not an OBJECT IDENTIFIER")
            n = data[pos + 1]
            pos += 2
            if n >= 0x80:
                n, pos = read_length(data, pos - 1, vb_end)
            stop = pos + n
            if stop > vb_end or n == 0 or data[stop - 1] >= 0x80:
                raise SnmpDecodeError("malformed varbind name")
            name = data[pos:stop]
            # value
            pos = stop + 2
            if pos > vb_end:
                raise SnmpDecodeError("varbind without a value")
            tag = data[stop]
            n = data[stop + 1]
            if n >= 0x80:
                n, pos = read_length(data, stop + 1, vb_end)
            stop = pos + n
            if stop != vb_end:
                raise SnmpDecodeError("varbind value does not fill its varbind")
            value: Value
            if tag == INTEGER:
                if not 0 < n <= _MAX_INTEGER_OCTETS:
                    raise SnmpDecodeError("INTEGER of invalid size")
                value = int.from_bytes(data[pos:stop], "big", signed=True)
            elif tag == OCTET_STRING:
                value = data[pos:stop]
            elif tag in unsigned32:
                value = int.from_bytes(data[pos:stop], "big")
                if not 0 < n <= 5 or value > MAX_UINT32:
                    raise SnmpDecodeError("32-bit unsigned out of range")
            elif tag == IP_ADDRESS and n == 4:
                value = ".".join(map(dec.__getitem__, data[pos:stop]))
            else:
                value = decode_value(tag, data, pos, stop)
            append((name, value))
            pos = stop
    except IndexError:
        raise SnmpDecodeError("truncated varbind list") from None
    return out
