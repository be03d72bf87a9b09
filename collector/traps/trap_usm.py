"""The User-based Security Model on the receiving side of notifications (RFC 3414 3.2).

A trap's sender is the authoritative engine: each user's keys are localized to the engine
ids the configuration lists for it, and this receiver keeps, per sending engine, the latest
boots and time it authenticated (RFC 3414 2.3, the non-authoritative side). An inform's
receiver is authoritative: the sender discovers this receiver's engine id and clock first,
and every user's keys are also localized to it.

`ReceiverUsm.open` runs the checks of RFC 3414 3.2 in order and answers the plaintext
ScopedPDU, or raises `Refused` with a reason from `REASONS` (and, where the protocol needs
one, the Report to send back). Stricter than the RFC where it costs a genuine sender
nothing:

* a message must come at exactly the security level its user is configured for: an authPriv
  user's notification sent authNoPriv or noAuthNoPriv is refused (the RFC leaves lower
  levels to access control; a receiver that only logs has none);
* boots or time above 2^31-1 are refused as malformed before anything else reads them;
* a copy of a message already accepted is refused as a duplicate while it would still be in
  the time window: a genuine sender never sends the same octets twice (every message has a
  fresh msgID, and with privacy a fresh salt: RFC 3412 7.1.5, RFC 3414 8.1.1.1, RFC 3826
  3.1.2.1), so a copy is a replay or a network duplicate. An inform's copy is answered
  again (its Response may have been lost) but not handed on twice.

Only authenticated messages move a remote engine's clock; Reports are sent only for the
discovery that informs need (unknown engine id) and for an authenticated inform outside the
window, so the receiver is no reflector for forged datagrams.
"""

from __future__ import annotations

import hmac
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from collector.snmp import ber, message
from collector.snmp.client import Credentials, SnmpError
from collector.snmp.usm import (
    Authenticator,
    Privacy,
    auth_key,
    normalize_protocol,
    priv_key,
)

TIME_WINDOW = 150  # seconds, RFC 3414 2.2.3
MAX_BOOTS = 2**31 - 1
_DUPLICATE_MEMORY = 2 * TIME_WINDOW + 5  # longer than any copy could stay in the window
_DUPLICATES_PER_ENGINE = 10_000

_USM_STATS = "1.3.6.1.6.3.15.1.1."
UNKNOWN_ENGINE_IDS = _USM_STATS + "4.0"
NOT_IN_TIME_WINDOWS = _USM_STATS + "2.0"

# why a v3 datagram was refused (each a `tierwatch_traps_dropped_total` reason)
REASONS = ("unknown_security_model", "malformed", "engine_discovery", "unknown_engine_id",
           "unknown_user", "unsupported_security_level", "wrong_digest", "not_in_time_window",
           "decryption_error", "duplicate")


class Refused(Exception):
    def __init__(self, reason: str, detail: str, report: bytes | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.report = report


@dataclass(frozen=True, slots=True)
class Opened:
    """A v3 message that passed the checks."""

    scoped: bytes  # the plaintext ScopedPDU (a decrypted one may carry padding after it)
    user: str
    authoritative: bool  # sent to this receiver's engine (an inform), not by a trap engine
    duplicate: bool  # a copy of a message already accepted (only informs get this far)


@dataclass(slots=True)
class _UserKeys:
    user: bytes
    flags: int  # FLAG_AUTH / FLAG_PRIV as configured
    auth: Authenticator | None
    priv: Privacy | None


@dataclass(slots=True)
class _RemoteClock:
    """The local notion of a sending engine's clock (RFC 3414 2.3)."""

    boots: int = 0
    latest_time: int = 0  # latestReceivedEngineTime
    at: float = 0.0  # local clock when latest_time was received
    known: bool = False

    def engine_time(self, now: float) -> int:
        return self.latest_time + int(now - self.at)


def new_engine_id() -> bytes:
    """A random engine id (RFC 3411 SnmpEngineID: enterprise bit set, format 5 = octets an
    administrator chose), used when the configuration names none."""
    return bytes.fromhex("8000000005") + os.urandom(8)


class ReceiverUsm:
    """USM for a notification receiver; `clock` is monotonic seconds (injectable)."""

    def __init__(self, users: Iterable[tuple[Credentials, Iterable[bytes]]], engine_id: bytes,
                 boots: int, clock: Callable[[], float]) -> None:
        if not 1 <= boots < MAX_BOOTS:
            raise ValueError("engine boots out of range")
        self.engine_id = engine_id
        self.boots = boots
        self.clock = clock
        self._started = clock()
        self._keys: dict[tuple[bytes, bytes], _UserKeys] = {}
        self._users: set[bytes] = set()
        self._clocks: dict[bytes, _RemoteClock] = {}
        self._seen: dict[bytes, OrderedDict[bytes, float]] = {}
        for credentials, engine_ids in users:
            name = credentials.user.encode()
            self._users.add(name)
            for engine in {engine_id, *engine_ids}:
                self._keys[(name, engine)] = _localize(credentials, engine)
                if engine != engine_id:
                    self._clocks.setdefault(engine, _RemoteClock())

    def engine_time(self) -> int:
        return int(self.clock() - self._started)

    def remote_clock(self, engine_id: bytes) -> tuple[int, int] | None:
        """(boots, local notion of time) of a sending engine, once one was authenticated."""
        clock = self._clocks.get(engine_id)
        if clock is None or not clock.known:
            return None
        return clock.boots, clock.engine_time(self.clock())

    # ------------------------------------------------------------------ incoming

    def open(self, data: bytes, msg: message.V3Message) -> Opened:
        """RFC 3414 3.2 for a notification (or the discovery probe before an inform)."""
        if msg.security_model != message.USM_SECURITY_MODEL:
            raise Refused("unknown_security_model", f"security model {msg.security_model}")
        flags = msg.flags & (message.FLAG_AUTH | message.FLAG_PRIV)
        if flags == message.FLAG_PRIV:
            raise Refused("malformed", "msgFlags with privacy but no authentication")
        if msg.engine_boots > MAX_BOOTS or msg.engine_time > MAX_BOOTS:
            raise Refused("malformed", "engine boots or time above 2^31-1")
        authoritative = msg.engine_id == self.engine_id
        # 3.2.3: an engine id this receiver does not know
        if not authoritative and msg.engine_id not in self._clocks:
            if not flags and msg.flags & message.FLAG_REPORTABLE:
                raise Refused("engine_discovery", "engine id discovery",
                              self._report(msg, UNKNOWN_ENGINE_IDS, b"", None, 0))
            raise Refused("unknown_engine_id", f"engine id {msg.engine_id.hex() or '(empty)'}")
        # 3.2.4: the user, for this engine
        keys = self._keys.get((msg.user, msg.engine_id))
        if keys is None:
            if msg.user in self._users:
                raise Refused("unknown_engine_id", f"user {_show(msg.user)} is not configured "
                              f"for engine id {msg.engine_id.hex()}")
            raise Refused("unknown_user", f"unknown user {_show(msg.user)}")
        # 3.2.5: exactly the configured level (stricter than the RFC: no downgrade)
        if flags != keys.flags:
            raise Refused("unsupported_security_level",
                          f"user {_show(msg.user)} sent at level {flags}, configured {keys.flags}")
        if keys.auth is None:  # a noAuthNoPriv user: nothing to verify, nothing to replay-check
            return Opened(msg.scoped, msg.user.decode("utf-8", "replace"), authoritative, False)
        # 3.2.6: the digest
        auth = keys.auth
        n = auth.length
        if len(msg.auth_params) != n:
            raise Refused("wrong_digest", "digest of the wrong length")
        off = msg.auth_offset
        whole = memoryview(data)
        expected = auth.digest_parts(whole[:off], bytes(n), whole[off + n:])
        if not hmac.compare_digest(expected, msg.auth_params):
            raise Refused("wrong_digest", f"digest does not verify for user {_show(msg.user)}")
        # 3.2.7: timeliness; from here on the message is authentic
        now = self.clock()
        if authoritative:
            local_time = self.engine_time()
            if (self.boots >= MAX_BOOTS or msg.engine_boots != self.boots
                    or abs(msg.engine_time - local_time) > TIME_WINDOW):
                report = None
                if msg.flags & message.FLAG_REPORTABLE:  # the sender learns our clock from it
                    report = self._report(msg, NOT_IN_TIME_WINDOWS, msg.user, keys, 0)
                raise Refused("not_in_time_window",
                              f"boots/time {msg.engine_boots}/{msg.engine_time}, this "
                              f"receiver's {self.boots}/{local_time}", report)
        else:
            remote = self._clocks[msg.engine_id]
            _timely(remote, msg.engine_boots, msg.engine_time, now)
        # the exact same octets again: a replay within the window
        duplicate = self._duplicate(msg.engine_id, msg.auth_params, now)
        if duplicate and not authoritative:
            raise Refused("duplicate", "a copy of a trap already received")
        # 3.2.8: decryption
        scoped = msg.scoped
        if keys.priv is not None:
            try:
                scoped = keys.priv.decrypt(msg.scoped, msg.priv_params, msg.engine_boots,
                                           msg.engine_time)
                message.parse_scoped_pdu(scoped)  # a wrong privacy key gives garbage
            except SnmpError as exc:
                raise Refused("decryption_error", f"cannot decrypt: {exc}") from None
        return Opened(scoped, msg.user.decode("utf-8", "replace"), authoritative, duplicate)

    def _duplicate(self, engine_id: bytes, digest: bytes, now: float) -> bool:
        seen = self._seen.setdefault(engine_id, OrderedDict())
        while seen:
            oldest, at = next(iter(seen.items()))
            if now - at < _DUPLICATE_MEMORY and len(seen) < _DUPLICATES_PER_ENGINE:
                break
            del seen[oldest]
        if digest in seen:
            return True
        seen[digest] = now
        return False

    # ------------------------------------------------------------------ outgoing

    def response(self, msg: message.V3Message, user: str, context_engine_id: bytes,
                 context_name: bytes, pdu: bytes) -> bytes:
        """A Response to an inform, at the inform's own security level, from this engine."""
        keys = self._keys[(user.encode(), self.engine_id)]
        scoped = message.encode_scoped_pdu(context_engine_id, context_name, pdu)
        return self._encode(msg.msg_id, keys.flags, msg.user, keys, scoped)

    def _report(self, msg: message.V3Message, counter: str, user: bytes,
                keys: _UserKeys | None, value: int) -> bytes:
        """A Report (RFC 3412 7.1.3 and 3414 3.2): authNoPriv when the user is known."""
        request_id = 0
        try:  # the offending PDU's request-id, when it can be read (plaintext only)
            if not msg.flags & message.FLAG_PRIV:
                _, _, pos, stop = message.parse_scoped_pdu(msg.scoped)
                request_id = message.parse_pdu_header(msg.scoped, pos, stop)[1]
        except SnmpError:
            pass
        varbinds = ber.encode_tlv(ber.SEQUENCE, ber.encode_varbind(counter, ber.COUNTER32,
                                                                   value))
        pdu = message.encode_pdu(ber.REPORT, request_id, varbinds)
        scoped = message.encode_scoped_pdu(self.engine_id, b"", pdu)
        flags = message.FLAG_AUTH if keys is not None and keys.auth is not None else 0
        return self._encode(msg.msg_id, flags, user, keys, scoped)

    def _encode(self, msg_id: int, flags: int, user: bytes, keys: _UserKeys | None,
                scoped: bytes) -> bytes:
        boots, engine_time = self.boots, self.engine_time()
        salt = b""
        if flags & message.FLAG_PRIV:
            assert keys is not None and keys.priv is not None
            cipher, salt = keys.priv.encrypt(scoped, boots, engine_time)
            scoped = ber.encode_tlv(ber.OCTET_STRING, cipher)
        auth = keys.auth if keys is not None and flags & message.FLAG_AUTH else None
        n = auth.length if auth is not None else 0
        params, offset = message.encode_usm_parameters(self.engine_id, boots, engine_time, user,
                                                       bytes(n), salt)
        data, auth_at = message.encode_v3_message(msg_id, flags, params, offset, scoped)
        if auth is None:
            return data
        return data[:auth_at] + auth.digest(data) + data[auth_at + n:]


def _timely(remote: _RemoteClock, boots: int, engine_time: int, now: float) -> None:
    """RFC 3414 3.2.7 b: adopt a newer clock reading, then refuse what is outside the window."""
    if not remote.known or boots > remote.boots or (
            boots == remote.boots and engine_time > remote.latest_time):
        remote.boots, remote.latest_time, remote.at, remote.known = boots, engine_time, now, True
    if remote.boots >= MAX_BOOTS or boots < remote.boots or (
            boots == remote.boots and engine_time < remote.engine_time(now) - TIME_WINDOW):
        raise Refused("not_in_time_window",
                      f"boots/time {boots}/{engine_time}, the engine's clock here "
                      f"{remote.boots}/{remote.engine_time(now)}")


def _localize(credentials: Credentials, engine_id: bytes) -> _UserKeys:
    auth_name = normalize_protocol(credentials.auth_protocol) if credentials.auth_protocol else ""
    priv_name = normalize_protocol(credentials.priv_protocol) if credentials.priv_protocol else ""
    auth = priv = None
    flags = 0
    if auth_name:
        flags |= message.FLAG_AUTH
        auth = Authenticator(auth_name, auth_key(credentials.auth_key.encode(), engine_id,
                                                 auth_name))
    if priv_name:
        if not auth_name:
            raise ValueError("SNMPv3 privacy needs an authentication protocol")
        flags |= message.FLAG_PRIV
        password = (credentials.priv_key or credentials.auth_key).encode()
        priv = Privacy(priv_name, priv_key(password, engine_id, auth_name, priv_name))
    return _UserKeys(credentials.user.encode(), flags, auth, priv)


def _show(user: bytes) -> str:
    """A user name for a log line: printable, bounded (it comes from the network)."""
    text = user[:32].decode("ascii", "replace")
    return repr("".join(c if c.isprintable() else "?" for c in text))
