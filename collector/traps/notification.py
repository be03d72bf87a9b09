"""Notifications on the native codec: what a trap receiver reads from a PDU, and the
Response that acknowledges an inform.

A notification is handed on in the SNMPv2 form whatever the version it came in: sysUpTime.0,
snmpTrapOID.0, then the sender's varbinds. An SNMPv1 Trap-PDU is converted as RFC 3584
section 3.1 says: snmpTrapOID.0 is snmpTraps.(generic-trap + 1) for the generic traps and
enterprise.0.specific-trap for the others; the agent-addr becomes snmpTrapAddress.0 and the
enterprise snmpTrapEnterprise.0. (RFC 3584 also appends snmpTrapCommunity.0; it is left out
here: the community is a secret, and the varbinds end up in the store.)

Pure functions over bytes; `SnmpDecodeError` for anything malformed.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import ber, message
from collector.snmp.ber import INFORM_REQUEST, RESPONSE, SEQUENCE, TRAP_V1, TRAP_V2
from collector.snmp.client import SnmpDecodeError, Value

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ENTERPRISE = "1.3.6.1.6.3.1.1.4.3.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"  # the v1 agent-addr, after RFC 3584 conversion
SNMP_TRAPS = "1.3.6.1.6.3.1.1.5"  # coldStart is .1, ... (generic-trap + 1)
ENTERPRISE_SPECIFIC = 6


class NotANotification(Exception):
    """A well-formed PDU that is not a trap or an inform (a GET sent to the trap port)."""

    def __init__(self, tag: int) -> None:
        super().__init__(f"PDU 0x{tag:02x} is not a notification")
        self.tag = tag


@dataclass(frozen=True, slots=True)
class Notification:
    """A trap or an inform in the SNMPv2 form.

    `varbind_list` is the PDU's VarBindList content as received (an inform's Response
    echoes it); empty for v1 traps, which are never answered.
    """

    tag: int  # TRAP_V1, TRAP_V2 or INFORM_REQUEST, as received
    request_id: int
    trap_oid: str
    varbinds: tuple[tuple[str, Value], ...]
    varbind_list: bytes = b""

    @property
    def inform(self) -> bool:
        return self.tag == INFORM_REQUEST


_OID_TEXT: dict[bytes, str] = {}  # a site's traps repeat a few hundred OIDs: decode each once
_OID_TEXT_LIMIT = 4096  # OIDs come from the network: a bounded cache, emptied when full


def _oid_text(raw: bytes) -> str:
    text = _OID_TEXT.get(raw)
    if text is None:
        text = ber.oid_to_str(raw)
        if len(_OID_TEXT) >= _OID_TEXT_LIMIT:
            _OID_TEXT.clear()
        _OID_TEXT[raw] = text
    return text


def _text(data: bytes, start: int, stop: int) -> list[tuple[str, Value]]:
    varbinds = ber.decode_varbinds(data, start, stop)
    return [(_oid_text(raw), value) for raw, value in varbinds]


def parse_notification(data: bytes, pos: int, end: int) -> Notification:
    """The PDU at data[pos:end] (which it must fill exactly) as a notification."""
    tag, _, stop = ber.read_tlv(data, pos, end)
    if stop != end:
        raise SnmpDecodeError("trailing octets after the PDU")
    if tag == TRAP_V1:
        pdu = message.decode_pdu(data, pos, end)
        assert isinstance(pdu, message.TrapV1Pdu)
        return from_v1(pdu)
    if tag not in ber.PDU_TAGS:
        raise SnmpDecodeError(f"not a PDU: tag 0x{tag:02x}")
    if tag not in (TRAP_V2, INFORM_REQUEST):
        raise NotANotification(tag)
    tag, request_id, status, index, vb_start, vb_stop = message.parse_pdu_header(data, pos, end)
    if status or index:
        raise SnmpDecodeError("a notification with error-status or error-index set")
    varbinds = _text(data, vb_start, vb_stop)
    # RFC 3416 4.2.6/4.2.7: the first two varbinds are sysUpTime.0 and snmpTrapOID.0
    if (len(varbinds) < 2 or varbinds[0][0] != SYS_UPTIME or not isinstance(varbinds[0][1], int)
            or varbinds[1][0] != SNMP_TRAP_OID or not isinstance(varbinds[1][1], str)):
        raise SnmpDecodeError("a notification must start with sysUpTime.0 and snmpTrapOID.0")
    return Notification(tag, request_id, varbinds[1][1], tuple(varbinds),
                        data[vb_start:vb_stop])


def from_v1(pdu: message.TrapV1Pdu) -> Notification:
    """RFC 3584 3.1: an SNMPv1 Trap-PDU in the SNMPv2 form (without snmpTrapCommunity.0)."""
    if not 0 <= pdu.generic_trap <= ENTERPRISE_SPECIFIC or pdu.specific_trap < 0:
        raise SnmpDecodeError(f"generic-trap {pdu.generic_trap} / specific-trap "
                              f"{pdu.specific_trap} out of range")
    if pdu.generic_trap == ENTERPRISE_SPECIFIC:
        trap_oid = f"{pdu.enterprise}.0.{pdu.specific_trap}"
    else:
        trap_oid = f"{SNMP_TRAPS}.{pdu.generic_trap + 1}"
    varbinds: list[tuple[str, Value]] = [(SYS_UPTIME, pdu.timestamp), (SNMP_TRAP_OID, trap_oid)]
    varbinds += [vb for vb in pdu.varbinds if vb[0] not in (SNMP_TRAP_ADDRESS,
                                                            SNMP_TRAP_ENTERPRISE)]
    varbinds += [(SNMP_TRAP_ADDRESS, pdu.agent_address), (SNMP_TRAP_ENTERPRISE, pdu.enterprise)]
    return Notification(TRAP_V1, 0, trap_oid, tuple(varbinds))


def parse_community_notification(data: bytes) -> tuple[int, bytes, Notification]:
    """(version, community, notification) of a v1/v2c datagram."""
    version, community, pos, stop = message.parse_community_message(data)
    notification = parse_notification(data, pos, stop)
    if (notification.tag == TRAP_V1) != (version == message.V1):
        raise SnmpDecodeError("a v1 Trap-PDU only in SNMPv1, SNMPv2 notifications only after")
    return version, community, notification


def response_pdu(notification: Notification) -> bytes:
    """The Response that acknowledges an inform: same request-id, the same varbinds
    (RFC 3416 4.2.7)."""
    return message.encode_pdu(RESPONSE, notification.request_id,
                              ber.encode_tlv(SEQUENCE, notification.varbind_list))


def community_response(version: int, community: bytes, notification: Notification) -> bytes:
    return message.encode_community_message(message.community_header(version, community),
                                            response_pdu(notification))
