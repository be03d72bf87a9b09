"""SNMP messages: v1/v2c community messages, v3 messages (RFC 3412) and their PDUs.

Encoding takes OIDs as content octets (see `ber.encode_oid_content`) so a client encodes
each OID once. Decoding comes in two depths: `parse_*` functions answer positions and
raw varbinds for the client's hot path; `decode_message` answers everything as plain
values (dotted OIDs), for traps, tests and tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from collector.snmp import ber
from collector.snmp.ber import (
    GET_BULK_REQUEST,
    INTEGER,
    OCTET_STRING,
    SEQUENCE,
    TRAP_V1,
    encode_integer,
    encode_tlv,
    expect,
    read_integer,
    read_octets,
    read_tlv,
)
from collector.snmp.client import SnmpDecodeError, Value

V1 = 0
V2C = 1
V3 = 3

# v1/v2c error-status values (RFC 3416)
ERROR_STATUS_NAMES = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)
TOO_BIG = 1
NO_SUCH_NAME = 2


class SnmpRangeError(SnmpDecodeError):
    """A well-formed field outside the range its definition allows: msgID or msgMaxSize
    (RFC 3412 6), msgAuthoritativeEngineBoots/Time (RFC 3414 2.4: 0..2^31-1). Its own class
    so that what refuses the message can count it apart from undecodable octets."""


class SnmpVersionError(SnmpDecodeError):
    """A well-formed message of another SNMP version than the one expected."""


class Dropped(Exception):
    """An answer that fails one of the checks on what may answer a request. It is counted
    under `reason` (one of DROP_REASONS) and the request keeps waiting for an answer that
    passes them, until its deadline: a forged datagram that arrives first wins nothing."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Every reason a datagram reaching the native engine can be refused for; a closed set, so
# tierwatch_snmp_dropped_total{reason} has a series for each from the start.
DROP_REASONS = (
    "undecodable",  # not an SNMP message, or malformed BER
    "unknown_id",  # no outstanding request has its msgID / request-id (late, duplicate, forged)
    "wrong_address",  # the id is outstanding, but the sender is not the agent it went to
    "out_of_range",  # a field beyond its range: engine boots/time above 2^31-1, msgID ...
    "wrong_version",  # another SNMP version than the request's
    "invalid_flags",  # msgFlags with privacy but no authentication (RFC 3412 7.2.5)
    "unknown_security_model",  # not the User-based Security Model
    "bad_engine_id",  # msgAuthoritativeEngineID is not the agent's engine (RFC 3414 3.2.3)
    "wrong_user",  # msgUserName is not the request's user (RFC 3414 3.2.4)
    "wrong_security_level",  # msgFlags auth/priv differ from the request's (downgrade)
    "bad_digest",  # the HMAC does not verify (RFC 3414 3.2.6)
    "not_in_time_window",  # authentic but outside the time window: a replay (RFC 3414 3.2.7)
    "decryption_error",  # the ScopedPDU does not decrypt (RFC 3414 3.2.8)
    "unauthenticated_report",  # a Report without authentication, outside discovery
    "wrong_context",  # contextEngineID / contextName differ from the request's
    "wrong_pdu",  # not a Response (or a Report where one may come)
    "wrong_request_id",  # the PDU's request-id is not the request's
    "internal_error",  # a check itself failed unexpectedly (a defect; the answer is dropped)
)

# RFC 3412 6: msgID and msgMaxSize are INTEGER (0..2147483647), msgMaxSize at least 484;
# RFC 3414 2.4: msgAuthoritativeEngineBoots/Time are INTEGER (0..2147483647).
MAX_INT32 = 2**31 - 1
MIN_MESSAGE_SIZE = 484


def error_status_name(status: int) -> str:
    if 0 <= status < len(ERROR_STATUS_NAMES):
        return ERROR_STATUS_NAMES[status]
    return f"error-status {status}"


@dataclass(slots=True)
class Pdu:
    """A PDU with its varbinds as (dotted OID, value). For GetBulk, error_status and
    error_index hold non-repeaters and max-repetitions, as on the wire."""

    tag: int
    request_id: int
    error_status: int = 0
    error_index: int = 0
    varbinds: list[tuple[str, Value]] = field(default_factory=list)


@dataclass(slots=True)
class TrapV1Pdu:
    enterprise: str
    agent_address: str
    generic_trap: int
    specific_trap: int
    timestamp: int
    varbinds: list[tuple[str, Value]] = field(default_factory=list)
    tag: int = TRAP_V1


@dataclass(slots=True)
class CommunityMessage:
    version: int  # 0 = SNMPv1, 1 = SNMPv2c
    community: bytes
    pdu: Pdu | TrapV1Pdu


# --------------------------------------------------------------------------- PDUs


def encode_pdu(
    tag: int,
    request_id: int,
    varbind_list: bytes,
    error_status: int = 0,
    error_index: int = 0,
) -> bytes:
    """A PDU around an encoded VarBindList (for GetBulk: non-repeaters, max-repetitions)."""
    return encode_pdu_with_id(
        tag, request_id, pdu_body_after_id(varbind_list, error_status, error_index)
    )


def pdu_body_after_id(varbind_list: bytes, error_status: int = 0, error_index: int = 0) -> bytes:
    """What follows the request-id in a PDU; a client computes it once per request and
    reuses it under a fresh id (`encode_pdu_with_id`)."""
    return encode_integer(error_status) + encode_integer(error_index) + varbind_list


def encode_pdu_with_id(tag: int, request_id: int, body_after_id: bytes) -> bytes:
    return encode_tlv(tag, encode_integer(request_id) + body_after_id)


def encode_typed_varbinds(varbinds: Sequence[tuple[str, int, object]]) -> bytes:
    """A VarBindList from (dotted OID, BER tag, plain value) triples."""
    return encode_tlv(
        SEQUENCE, b"".join(ber.encode_varbind(oid, tag, value) for oid, tag, value in varbinds)
    )


def encode_trap_v1_pdu(
    enterprise: str,
    agent_address: str,
    generic_trap: int,
    specific_trap: int,
    timestamp: int,
    varbind_list: bytes,
) -> bytes:
    return encode_tlv(
        TRAP_V1,
        ber.encode_oid(enterprise)
        + ber.encode_ip_address(agent_address)
        + encode_integer(generic_trap)
        + encode_integer(specific_trap)
        + ber.encode_unsigned(timestamp, ber.TIMETICKS, ber.MAX_UINT32)
        + varbind_list,
    )


def parse_pdu_header(data: bytes, pos: int, end: int) -> tuple[int, int, int, int, int, int]:
    """A request/response PDU at `pos`: (tag, request-id, error-status, error-index,
    VarBindList content start, content end)."""
    tag, start, stop = read_tlv(data, pos, end)
    if tag not in ber.PDU_TAGS or tag == TRAP_V1:
        raise SnmpDecodeError(f"not a PDU: tag 0x{tag:02x}")
    request_id, pos = read_integer(data, start, stop)
    error_status, pos = read_integer(data, pos, stop)
    error_index, pos = read_integer(data, pos, stop)
    vb_start, vb_stop = expect(data, pos, stop, SEQUENCE)
    if vb_stop != stop:
        raise SnmpDecodeError("trailing octets after the VarBindList")
    return tag, request_id, error_status, error_index, vb_start, vb_stop


def _text_varbinds(data: bytes, start: int, stop: int) -> list[tuple[str, Value]]:
    return [(ber.oid_to_str(raw), value) for raw, value in ber.decode_varbinds(data, start, stop)]


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu | TrapV1Pdu:
    """Any PDU at `pos`, fully decoded."""
    tag, start, stop = read_tlv(data, pos, end)
    if tag == TRAP_V1:
        e_start, e_stop = expect(data, start, stop, ber.OBJECT_IDENTIFIER)
        enterprise = ber.oid_to_str(data[e_start:e_stop])
        a_start, a_stop = expect(data, e_stop, stop, ber.IP_ADDRESS)
        address = ber.decode_value(ber.IP_ADDRESS, data, a_start, a_stop)
        generic, pos = read_integer(data, a_stop, stop)
        specific, pos = read_integer(data, pos, stop)
        t_start, t_stop = expect(data, pos, stop, ber.TIMETICKS)
        timestamp = ber.decode_value(ber.TIMETICKS, data, t_start, t_stop)
        vb_start, vb_stop = expect(data, t_stop, stop, SEQUENCE)
        if vb_stop != stop:
            raise SnmpDecodeError("trailing octets after the VarBindList")
        assert isinstance(address, str) and isinstance(timestamp, int)
        return TrapV1Pdu(
            enterprise,
            address,
            generic,
            specific,
            timestamp,
            _text_varbinds(data, vb_start, vb_stop),
        )
    tag, request_id, status, index, vb_start, vb_stop = parse_pdu_header(data, pos, end)
    return Pdu(tag, request_id, status, index, _text_varbinds(data, vb_start, vb_stop))


# --------------------------------------------------------------------------- v1 / v2c


def community_header(version: int, community: bytes) -> bytes:
    """The octets that open every message of one (version, community): computed once."""
    return encode_integer(version) + encode_tlv(OCTET_STRING, community)


def encode_community_message(header: bytes, pdu: bytes) -> bytes:
    return encode_tlv(SEQUENCE, header + pdu)


def encode_request(
    version: int,
    community: bytes,
    tag: int,
    request_id: int,
    oids: list[bytes],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A v1/v2c request for OIDs given as content octets."""
    varbinds = ber.encode_null_varbinds(oids)
    if tag == GET_BULK_REQUEST:
        pdu = encode_pdu(tag, request_id, varbinds, non_repeaters, max_repetitions)
    else:
        pdu = encode_pdu(tag, request_id, varbinds)
    return encode_community_message(community_header(version, community), pdu)


def parse_community_message(data: bytes) -> tuple[int, bytes, int, int]:
    """(version, community, PDU position, PDU end) of a v1/v2c message."""
    start, stop = expect(data, 0, len(data), SEQUENCE)
    if stop != len(data):
        raise SnmpDecodeError("trailing octets after the message")
    version, pos = read_integer(data, start, stop)
    if version not in (V1, V2C):
        raise SnmpVersionError(f"not a community message: version {version}")
    community, pos = read_octets(data, pos, stop)
    return version, community, pos, stop


def parse_community_response(data: bytes) -> tuple[int, int, int, int, int, int, int]:
    """A v1/v2c message carrying a request/response PDU, checked as strictly as
    `decode_community_message` but without decoding the varbinds: (version, PDU tag,
    request-id, error-status, error-index, VarBindList content start, end).

    The client's per-answer path: short-form small INTEGERs are read in place, anything
    else goes through the general readers.
    """
    end = len(data)
    tag, p, stop = read_tlv(data, 0, end)
    if tag != SEQUENCE or stop != end:
        raise SnmpDecodeError("not an SNMP message (outer SEQUENCE)")
    try:
        if data[p] == INTEGER and data[p + 1] == 1:
            version = data[p + 2]
            p += 3
        else:
            version, p = read_integer(data, p, stop)
        if version != V1 and version != V2C:
            raise SnmpVersionError(f"not a community message: version {version}")
        if data[p] != OCTET_STRING:
            raise SnmpDecodeError("community is not an OCTET STRING")
        n = data[p + 1]
        if n < 0x80:
            p += 2 + n
        else:
            _, p = read_octets(data, p, stop)
        tag, p, pdu_stop = read_tlv(data, p, stop)
        if pdu_stop != stop:
            raise SnmpDecodeError("trailing octets after the PDU")
        if tag not in ber.PDU_TAGS or tag == TRAP_V1:
            raise SnmpDecodeError(f"not a request/response PDU: tag 0x{tag:02x}")
        numbers = [0, 0, 0]
        for i in range(3):  # request-id, error-status, error-index
            if data[p] == INTEGER and 0 < (n := data[p + 1]) <= 8 and p + 2 + n <= pdu_stop:
                numbers[i] = int.from_bytes(data[p + 2 : p + 2 + n], "big", signed=True)
                p += 2 + n
            else:
                numbers[i], p = read_integer(data, p, pdu_stop)
        vb_tag, vb_start, vb_stop = read_tlv(data, p, pdu_stop)
    except IndexError:
        raise SnmpDecodeError("truncated message") from None
    if vb_tag != SEQUENCE or vb_stop != pdu_stop:
        raise SnmpDecodeError("malformed VarBindList")
    return version, tag, numbers[0], numbers[1], numbers[2], vb_start, vb_stop


def decode_community_message(data: bytes) -> CommunityMessage:
    version, community, pos, stop = parse_community_message(data)
    pdu = decode_pdu(data, pos, stop)
    _check_pdu_ends(data, pos, stop)
    return CommunityMessage(version, community, pdu)


def _check_pdu_ends(data: bytes, pos: int, stop: int) -> None:
    _, _, pdu_stop = read_tlv(data, pos, stop)
    if pdu_stop != stop:
        raise SnmpDecodeError("trailing octets after the PDU")


# --------------------------------------------------------------------------- v3

FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
USM_SECURITY_MODEL = 3
MAX_MESSAGE_SIZE = 65507  # the largest UDP payload over IPv4


@dataclass(slots=True)
class V3Message:
    """A decoded v3 message envelope. `scoped` is the ScopedPDU TLV when plaintext, or
    the encrypted octets when FLAG_PRIV is set. `auth_offset` locates the
    msgAuthenticationParameters content in the message, for digest checks."""

    msg_id: int
    max_size: int
    flags: int
    security_model: int
    engine_id: bytes
    engine_boots: int
    engine_time: int
    user: bytes
    auth_params: bytes
    priv_params: bytes
    auth_offset: int
    scoped: bytes


@dataclass(slots=True)
class ScopedPdu:
    context_engine_id: bytes
    context_name: bytes
    pdu: Pdu | TrapV1Pdu


def encode_usm_parameters(
    engine_id: bytes, boots: int, time: int, user: bytes, auth: bytes, priv: bytes
) -> tuple[bytes, int]:
    """UsmSecurityParameters (RFC 3414 2.4) as the content of msgSecurityParameters,
    and the offset of msgAuthenticationParameters' content within it."""
    head = (
        encode_tlv(OCTET_STRING, engine_id)
        + encode_integer(boots)
        + encode_integer(time)
        + encode_tlv(OCTET_STRING, user)
    )
    auth_tlv = encode_tlv(OCTET_STRING, auth)
    body = head + auth_tlv + encode_tlv(OCTET_STRING, priv)
    seq = encode_tlv(SEQUENCE, body)
    offset = len(seq) - len(body) + len(head) + (len(auth_tlv) - len(auth))
    return seq, offset


def encode_v3_message(
    msg_id: int,
    flags: int,
    security_parameters: bytes,
    auth_offset: int,
    scoped: bytes,
    max_size: int = MAX_MESSAGE_SIZE,
) -> tuple[bytes, int]:
    """A v3 message; answers it and the absolute offset of the authentication parameters.

    `scoped` is the ScopedPDU TLV, or an OCTET STRING TLV of its encryption.
    """
    global_data = encode_tlv(
        SEQUENCE,
        encode_integer(msg_id)
        + encode_integer(max_size)
        + encode_tlv(OCTET_STRING, bytes((flags,)))
        + encode_integer(USM_SECURITY_MODEL),
    )
    head = b"\x02\x01\x03" + global_data + ber.tlv_header(OCTET_STRING, len(security_parameters))
    outer = ber.tlv_header(SEQUENCE, len(head) + len(security_parameters) + len(scoped))
    message = outer + head + security_parameters + scoped
    return message, len(outer) + len(head) + auth_offset


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    return encode_tlv(
        SEQUENCE,
        encode_tlv(OCTET_STRING, context_engine_id) + encode_tlv(OCTET_STRING, context_name) + pdu,
    )


def parse_v3_message(data: bytes) -> V3Message:
    """A v3 message's envelope, strictly checked (see `V3Message`)."""
    return _parse_v3_layout(data) or _parse_v3_general(data)


def _length_at(data: bytes, p: int) -> tuple[int, int]:
    """(length, content start) of the TLV at p when its length has a form agents use;
    (-1, p) otherwise, to send the caller to the general parser."""
    n = data[p + 1]
    if n < 0x80:
        return n, p + 2
    if n == 0x81:
        return data[p + 2], p + 3
    if n == 0x82:
        return data[p + 2] << 8 | data[p + 3], p + 4
    return -1, p


def _parse_v3_layout(data: bytes) -> V3Message | None:
    """The usual layout of a v3 message, read in place: every v3 answer of every poll
    comes through here. None for anything unusual (long forms, odd sizes, damage); the
    general parser then decodes it or says what is wrong. Each field stays within its
    container: a container's end must be met exactly."""
    end = len(data)
    from_bytes = int.from_bytes
    try:
        n, p = _length_at(data, 0)
        if data[0] != SEQUENCE or p + n != end or data[p : p + 3] != b"\x02\x01\x03":
            return None
        p += 3
        if data[p] != SEQUENCE or data[p + 1] >= 0x80:  # msgGlobalData
            return None
        g_end = p + 2 + data[p + 1]
        p += 2
        numbers = []
        for _ in range(2):  # msgID, msgMaxSize
            n = data[p + 1]
            if data[p] != INTEGER or not 0 < n <= 5:
                return None
            numbers.append(from_bytes(data[p + 2 : p + 2 + n], "big", signed=True))
            p += 2 + n
        if data[p] != OCTET_STRING or data[p + 1] != 1 or data[p + 3 : p + 5] != b"\x02\x01":
            return None
        flags = data[p + 2]
        model = from_bytes(data[p + 5 : p + 6], "big", signed=True)
        p += 6
        if p != g_end or data[p] != OCTET_STRING:  # msgSecurityParameters
            return None
        n, p = _length_at(data, p)
        s_end = p + n
        if n < 0 or data[p] != SEQUENCE:
            return None
        n, p = _length_at(data, p)
        if n < 0 or p + n != s_end:
            return None
        fields: list[bytes] = []
        for kind in (OCTET_STRING, INTEGER, INTEGER, OCTET_STRING, OCTET_STRING, OCTET_STRING):
            n = data[p + 1]
            if data[p] != kind or n >= 0x80 or (kind == INTEGER and not 0 < n <= 5):
                return None
            fields.append(data[p + 2 : p + 2 + n])
            if len(fields) == 5:
                auth_offset = p + 2
            p += 2 + n
        if p != s_end:
            return None
        engine_id, boots_octets, time_octets, user, auth_params, priv = fields
        boots = from_bytes(boots_octets, "big", signed=True)
        engine_time = from_bytes(time_octets, "big", signed=True)
        if (len(engine_id) > 32 or len(user) > 32 or not 0 <= boots <= MAX_INT32
                or not 0 <= engine_time <= MAX_INT32
                or not 0 <= numbers[0] <= MAX_INT32
                or not MIN_MESSAGE_SIZE <= numbers[1] <= MAX_INT32):
            return None  # the general parser says which field is wrong
        tag = data[p]
        n, start = _length_at(data, p)
        if n < 0 or start + n != end:
            return None
        if flags & FLAG_PRIV:
            if tag != OCTET_STRING:
                return None
            scoped = data[start:end]
        else:
            if tag != SEQUENCE:
                return None
            scoped = data[p:end]
    except IndexError:
        return None
    return V3Message(
        numbers[0],
        numbers[1],
        flags,
        model,
        engine_id,
        boots,
        engine_time,
        user,
        auth_params,
        priv,
        auth_offset,
        scoped,
    )


def _parse_v3_general(data: bytes) -> V3Message:
    start, stop = expect(data, 0, len(data), SEQUENCE)
    if stop != len(data):
        raise SnmpDecodeError("trailing octets after the message")
    version, pos = read_integer(data, start, stop)
    if version != V3:
        raise SnmpVersionError(f"not a v3 message: version {version}")
    g_start, g_stop = expect(data, pos, stop, SEQUENCE)
    msg_id, p = read_integer(data, g_start, g_stop)
    max_size, p = read_integer(data, p, g_stop)
    flag_octets, p = read_octets(data, p, g_stop)
    model, p = read_integer(data, p, g_stop)
    if p != g_stop or len(flag_octets) != 1:
        raise SnmpDecodeError("malformed msgGlobalData")
    s_start, s_stop = expect(data, g_stop, stop, OCTET_STRING)
    u_start, u_stop = expect(data, s_start, s_stop, SEQUENCE)
    if u_stop != s_stop:
        raise SnmpDecodeError("trailing octets after UsmSecurityParameters")
    engine_id, p = read_octets(data, u_start, u_stop)
    boots, p = read_integer(data, p, u_stop)
    time, p = read_integer(data, p, u_stop)
    user, p = read_octets(data, p, u_stop)
    a_start, a_stop = expect(data, p, u_stop, OCTET_STRING)
    priv, p = read_octets(data, a_stop, u_stop)
    if p != u_stop:
        raise SnmpDecodeError("malformed UsmSecurityParameters")
    if len(engine_id) > 32 or len(user) > 32:
        raise SnmpDecodeError("engine ID or user name longer than 32 octets")
    if not 0 <= msg_id <= MAX_INT32 or not MIN_MESSAGE_SIZE <= max_size <= MAX_INT32:
        raise SnmpRangeError(f"msgID {msg_id} or msgMaxSize {max_size} out of range")
    if not 0 <= boots <= MAX_INT32 or not 0 <= time <= MAX_INT32:
        # a clock past 2^31-1 is no clock an agent can have (RFC 3414 2.2.1); taking it
        # would make every later request of the session unencodable
        raise SnmpRangeError(f"engine boots {boots} or time {time} out of range")
    flags = flag_octets[0]
    scoped_tag, sc_start, sc_stop = read_tlv(data, s_stop, stop)
    if sc_stop != stop:
        raise SnmpDecodeError("trailing octets after the scoped PDU")
    if flags & FLAG_PRIV:
        if scoped_tag != OCTET_STRING:
            raise SnmpDecodeError("encrypted scoped PDU is not an OCTET STRING")
        scoped = data[sc_start:sc_stop]
    else:
        if scoped_tag != SEQUENCE:
            raise SnmpDecodeError("scoped PDU is not a SEQUENCE")
        scoped = data[s_stop:sc_stop]
    return V3Message(
        msg_id,
        max_size,
        flags,
        model,
        engine_id,
        boots,
        time,
        user,
        data[a_start:a_stop],
        priv,
        a_start,
        scoped,
    )


def parse_scoped_pdu(scoped: bytes) -> tuple[bytes, bytes, int, int]:
    """(contextEngineID, contextName, PDU position, PDU end) of a plaintext ScopedPDU.

    Decrypted ScopedPDUs may carry padding after the SEQUENCE (DES pads to 8 octets),
    so only the SEQUENCE's own extent counts.
    """
    start, stop = expect(scoped, 0, len(scoped), SEQUENCE)
    engine_id, pos = read_octets(scoped, start, stop)
    context, pos = read_octets(scoped, pos, stop)
    _, _, pdu_stop = read_tlv(scoped, pos, stop)
    if pdu_stop != stop:
        raise SnmpDecodeError("trailing octets after the PDU")
    return engine_id, context, pos, stop


def parse_scoped_response(scoped: bytes) -> tuple[int, int, int, int, int, int]:
    """The PDU of a plaintext ScopedPDU, as `parse_pdu_header` answers it: (tag,
    request-id, error-status, error-index, VarBindList content start, end). The usual
    layout is read in place; anything else goes through the general readers."""
    try:
        n, p = _length_at(scoped, 0)
        s_end = p + n
        if scoped[0] == SEQUENCE and n >= 0 and s_end <= len(scoped):
            for _ in range(2):  # contextEngineID, contextName
                n = scoped[p + 1]
                if scoped[p] != OCTET_STRING or n >= 0x80:
                    break
                p += 2 + n
            else:
                tag = scoped[p]
                n, q = _length_at(scoped, p)
                if q + n == s_end and tag in ber.PDU_TAGS and tag != TRAP_V1:
                    numbers = []
                    for _ in range(3):
                        n = scoped[q + 1]
                        if scoped[q] != INTEGER or not 0 < n <= 5:
                            break
                        numbers.append(
                            int.from_bytes(scoped[q + 2 : q + 2 + n], "big", signed=True)
                        )
                        q += 2 + n
                    else:
                        n, start = _length_at(scoped, q)
                        if scoped[q] == SEQUENCE and n >= 0 and start + n == s_end:
                            return tag, numbers[0], numbers[1], numbers[2], start, s_end
    except IndexError:
        pass
    _, _, pos, stop = parse_scoped_pdu(scoped)
    return parse_pdu_header(scoped, pos, stop)


def scoped_context_is(scoped: bytes, head: bytes) -> bool:
    """Whether a plaintext ScopedPDU names this contextEngineID and contextName; `head`
    is their two OCTET STRING TLVs as a request carries them (RFC 3412 7.2.12 b: a
    Response names the request's context)."""
    try:
        n = scoped[1]
        p = 2 if n < 0x80 else 2 + (n & 0x7F)
        if scoped[0] == SEQUENCE and scoped[p : p + len(head)] == head:
            return True
        # the same values in another encoding (long-form lengths)
        engine_id, context, _, _ = parse_scoped_pdu(scoped)
        expected_engine, p = read_octets(head, 0, len(head))
        expected_context, _ = read_octets(head, p, len(head))
    except (IndexError, SnmpDecodeError):
        return False
    return engine_id == expected_engine and context == expected_context


def decode_scoped_pdu(scoped: bytes) -> ScopedPdu:
    engine_id, context, pos, stop = parse_scoped_pdu(scoped)
    return ScopedPdu(engine_id, context, decode_pdu(scoped, pos, stop))


# --------------------------------------------------------------------------- any version


def decode_message(data: bytes) -> CommunityMessage | V3Message:
    """Any SNMP message: v1/v2c fully decoded, v3 as its envelope (see decode_scoped_pdu)."""
    start, stop = expect(data, 0, len(data), SEQUENCE)
    version, _ = read_integer(data, start, stop)
    if version == V3:
        return parse_v3_message(data)
    return decode_community_message(data)


def peek_message_id(data: bytes) -> int | None:
    """The id a datagram answers, without decoding it: the request-id of a v1/v2c
    message, the msgID of a v3 one. None when it does not look like SNMP.

    Runs for every datagram the shared socket receives, so it only reads the few octets
    it needs; the client that gets the datagram decodes it strictly.
    """
    try:
        if data[0] != SEQUENCE:
            return None
        n = data[1]
        p = 2 if n < 0x80 else 2 + (n & 0x7F)
        if data[p] != INTEGER or data[p + 1] != 1:
            return None
        version = data[p + 2]
        p += 3
        if version == V3:  # msgGlobalData SEQUENCE, then msgID
            if data[p] != SEQUENCE:
                return None
            n = data[p + 1]
            p += 2 if n < 0x80 else 2 + (n & 0x7F)
        elif version in (V1, V2C):  # community, then the PDU's request-id
            if data[p] != OCTET_STRING or data[p + 1] >= 0x80:
                return None
            p += 2 + data[p + 1]
            if data[p] & 0xE0 != 0xA0:
                return None
            n = data[p + 1]
            p += 2 if n < 0x80 else 2 + (n & 0x7F)
        else:
            return None
        n = data[p + 1]
        if data[p] != INTEGER or not 0 < n <= 5 or p + 2 + n > len(data):
            return None  # (a slice past the end would read a cut id as a shorter one)
        return int.from_bytes(data[p + 2 : p + 2 + n], "big", signed=True)
    except IndexError:
        return None
