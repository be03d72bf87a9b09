"""What may answer a request: the checks a datagram passes before it ends one.

The shared socket (`transport`) hands a datagram to a request only when it carries the
request's id (request-id on v1/v2c, msgID on v3) and comes from the agent's address and
port. The request's check, one of the callables here, then decides: it returns the answer,
or raises `message.Dropped(reason)`; a dropped datagram is counted under its reason and the
request keeps waiting until its deadline, so a forged datagram that arrives first wins
nothing (RFC 3412 7.2 and RFC 3414 3.2 refuse such messages and do not end the request).

    check = V3Check(session, request_id)      # one per request
    reply = await shared.request(data, address, msg_id, timeout, check)
    if reply is None:                          # deadline: nothing acceptable came
        check.hint, check.refused              # what was refused, for the error message

The checks run in the socket's read callback, once per datagram, so they stay cheap: the
usual layouts are read in place (`message.parse_*`).
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import ber, message
from collector.snmp.ber import REPORT, RESPONSE
from collector.snmp.client import SnmpDecodeError
from collector.snmp.message import Dropped, SnmpRangeError, SnmpVersionError
from collector.snmp.usm import SECURITY_LEVEL, UsmSession, report_name

UNKNOWN_ENGINE_IDS = "usmStatsUnknownEngineIDs"
NOT_IN_TIME_WINDOWS = "usmStatsNotInTimeWindows"
_MIN_ENGINE_ID, _MAX_ENGINE_ID = 5, 32  # SnmpEngineID ::= OCTET STRING (SIZE(5..32))

# (tag, request-id, error-status, error-index, VarBindList start, end) of a PDU
PduHeader = tuple[int, int, int, int, int, int]


def _undecodable(exc: SnmpDecodeError) -> Dropped:
    if isinstance(exc, SnmpRangeError):
        return Dropped("out_of_range")
    if isinstance(exc, SnmpVersionError):
        return Dropped("wrong_version")
    return Dropped("undecodable")


class CommunityCheck:
    """v1/v2c: a Response of the request's version carrying its request-id. (The
    community is not checked: it crosses the network in clear, so it proves nothing.)"""

    __slots__ = ("refused", "request_id", "version")

    def __init__(self, version: int, request_id: int) -> None:
        self.version = version
        self.request_id = request_id
        self.refused = ""  # the last refusal's reason and detail, for the error message

    def __call__(self, data: bytes) -> tuple[int, int, bytes, int, int]:
        """(error-status, error-index, the datagram, VarBindList content start, end)."""
        try:
            version, tag, rid, status, index, start, stop = message.parse_community_response(
                data)
        except SnmpDecodeError as exc:
            self.refused = f"undecodable: {exc}"
            raise _undecodable(exc) from None
        if version != self.version:
            self.refused = "wrong_version"
            raise Dropped("wrong_version")
        if tag != RESPONSE:
            self.refused = "wrong_pdu"
            raise Dropped("wrong_pdu")
        if rid != self.request_id:
            self.refused = "wrong_request_id"
            raise Dropped("wrong_request_id")
        return status, index, data, start, stop


@dataclass(slots=True)
class V3Reply:
    """An answer a v3 request accepted: a Response (`report` empty) or an authenticated
    Report (`report` names its counter), and the message's engine boots/time."""

    report: str
    status: int
    index: int
    scoped: bytes  # the plaintext ScopedPDU
    start: int  # its VarBindList content
    stop: int
    boots: int
    engine_time: int


def _report_counter(scoped: bytes, start: int, stop: int) -> str:
    try:
        varbinds = ber.decode_varbinds(scoped, start, stop)
    except SnmpDecodeError:
        raise Dropped("undecodable") from None
    return report_name(ber.oid_to_str(varbinds[0][0])) if varbinds else "empty Report"


class V3Check:
    """An answer to one secured request (RFC 3414 3.2, RFC 3412 7.2.10-12):

    - a Response at exactly the request's security level (msgFlags auth/priv), from the
      agent's engine, for our user, authentic, timely, decrypted, naming the request's
      context and carrying its request-id;
    - or an authenticated Report for our user from the agent's engine: a notInTimeWindows
      one corrects our clock (it answers our random msgID under the agent's key, so it is
      fresh whatever time it carries), another ends the request with its error.

    An unauthenticated Report is refused (`unauthenticated_report`): anyone who sees a
    request can send one. Its counter is kept in `hint`: when nothing authentic answers
    before the deadline, it is the likeliest explanation (a wrong password gives exactly
    that), and an unknownEngineIDs one makes the client discover the agent again.
    """

    __slots__ = ("hint", "refused", "request_id", "session")

    def __init__(self, session: UsmSession, request_id: int) -> None:
        self.session = session
        self.request_id = request_id
        self.hint = ""  # the counter named by the last unauthenticated Report
        self.refused = ""  # the last refusal's reason

    def __call__(self, data: bytes) -> V3Reply:
        try:
            return self._check(data)
        except Dropped as refused:
            self.refused = refused.reason
            raise

    def _check(self, data: bytes) -> V3Reply:
        usm = self.session
        try:
            msg = message.parse_v3_message(data)
        except SnmpDecodeError as exc:
            raise _undecodable(exc) from None
        scoped, authenticated, timely = usm.open_answer(data, msg)
        try:
            tag, rid, status, index, start, stop = message.parse_scoped_response(scoped)
        except SnmpDecodeError:
            raise Dropped(
                "decryption_error" if msg.flags & message.FLAG_PRIV else "undecodable"
            ) from None
        if tag == RESPONSE:
            if msg.flags & SECURITY_LEVEL != usm.flags:
                raise Dropped("wrong_security_level")
            if not timely:
                raise Dropped("not_in_time_window")
            if not message.scoped_context_is(scoped, usm.scoped_head):
                raise Dropped("wrong_context")
            if rid != self.request_id:
                raise Dropped("wrong_request_id")
            return V3Reply("", status, index, scoped, start, stop, msg.engine_boots,
                           msg.engine_time)
        if tag != REPORT:
            raise Dropped("wrong_pdu")
        # A Report carries the request-id when the agent could read it, else 0 (RFC 3412
        # 7.1 3 b: it cannot, in a request it failed to authenticate or decrypt).
        if rid != self.request_id and rid != 0:
            raise Dropped("wrong_request_id")
        counter = _report_counter(scoped, start, stop)
        if not authenticated:
            self.hint = counter
            raise Dropped("unauthenticated_report")
        if counter != NOT_IN_TIME_WINDOWS and not timely:
            raise Dropped("not_in_time_window")
        return V3Reply(counter, 0, 0, scoped, start, stop, msg.engine_boots, msg.engine_time)


class DiscoveryCheck:
    """The answer to an engine-ID discovery probe (RFC 3414 4): a noAuthNoPriv Report of
    usmStatsUnknownEngineIDs carrying the probe's request-id (or 0) and an engine ID of
    5 to 32 octets. The only unauthenticated message a v3 request accepts; its boots and
    time serve the first request only (see `UsmSession.learn_engine`)."""

    __slots__ = ("refused", "request_id")

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self.refused = ""

    def __call__(self, data: bytes) -> message.V3Message:
        try:
            return self._check(data)
        except Dropped as refused:
            self.refused = refused.reason
            raise

    def _check(self, data: bytes) -> message.V3Message:
        try:
            msg = message.parse_v3_message(data)
        except SnmpDecodeError as exc:
            raise _undecodable(exc) from None
        if msg.security_model != message.USM_SECURITY_MODEL:
            raise Dropped("unknown_security_model")
        if msg.flags & message.FLAG_PRIV and not msg.flags & message.FLAG_AUTH:
            raise Dropped("invalid_flags")
        if msg.flags & SECURITY_LEVEL:
            raise Dropped("wrong_security_level")
        try:
            tag, rid, _, _, start, stop = message.parse_scoped_response(msg.scoped)
        except SnmpDecodeError:
            raise Dropped("undecodable") from None
        if tag != REPORT:
            raise Dropped("wrong_pdu")
        if rid != self.request_id and rid != 0:
            raise Dropped("wrong_request_id")
        if _report_counter(msg.scoped, start, stop) != UNKNOWN_ENGINE_IDS:
            raise Dropped("wrong_pdu")
        if not _MIN_ENGINE_ID <= len(msg.engine_id) <= _MAX_ENGINE_ID:
            raise Dropped("bad_engine_id")
        return msg
