"""The native SNMP engine: our own BER codec and USM behind the seam, on asyncio UDP.

    client = open_client(target)        # cheap; no I/O until the first call
    values = await client.get(["1.3.6.1.2.1.1.3.0"])
    table = await client.walk(["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.10"])
    await client.close()

All clients on one event loop share one UDP socket (see `transport`). A walk asks for all
its roots side by side in each GETBULK (GETNEXT on v1) and drops a root from the request
once its subtree ends. Each request waits for an answer that passes its checks
(`answers`): a datagram that fails one is dropped and counted, never the end of the
request. Every failure is one of the seam's errors, a defect included (SnmpInternalError).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from collector.snmp import ber, message, transport
from collector.snmp.answers import (
    NOT_IN_TIME_WINDOWS,
    UNKNOWN_ENGINE_IDS,
    CommunityCheck,
    DiscoveryCheck,
    V3Check,
    V3Reply,
)
from collector.snmp.ber import GET_BULK_REQUEST, GET_NEXT_REQUEST, GET_REQUEST, UNSIGNED32_TAGS
from collector.snmp.client import (
    NO_SUCH_OBJECT,
    Missing,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpError,
    SnmpInternalError,
    SnmpResponseError,
    SnmpTimeout,
    SnmpTransportError,
    SnmpWalkError,
    Target,
    Value,
    WalkResult,
)
from collector.snmp.message import NO_SUCH_NAME, TOO_BIG, V1, V2C, V3, error_status_name
from collector.snmp.usm import REPORT_MEANINGS, UsmSession

_VERSIONS = {"1": V1, "2c": V2C, "3": V3}
_EMPTY_VARBINDS = b"\x30\x00"
# secured requests in a row without an authentic answer before the session is forgotten
# and the agent discovered again
REDISCOVER_AFTER = 3

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _seam_errors_only(
    method: Callable[_P, Awaitable[_R]],
) -> Callable[_P, Awaitable[_R]]:
    """Whatever goes wrong inside the engine reaches the caller as one of the seam's
    errors: an unexpected exception (a defect) becomes SnmpInternalError of that call, so
    the poll it ends is a counted error with a reason, not a traceback."""

    @functools.wraps(method)
    async def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(*args, **kwargs)
        except SnmpError:
            raise
        except Exception as exc:
            target = getattr(args[0], "target", "?")
            raise SnmpInternalError(
                f"{target}: native engine failed: {type(exc).__name__}: {exc}") from exc

    return guarded

# Walk suffixes (OID octets after a root -> dotted text and sort key). Table indexes repeat
# in every column and every poll, so most suffixes are decoded once per process.
_SUFFIX_CACHE_LIMIT = 100_000
_suffixes: dict[bytes, tuple[str, bytes]] = {}
# Dotted OIDs the poller asks for, encoded once.
_OID_CACHE_LIMIT = 100_000
_encoded_oids: dict[str, bytes] = {}


def encoded_oid(oid: str) -> bytes:
    raw = _encoded_oids.get(oid)
    if raw is None:
        raw = ber.encode_oid_content(oid)
        if len(_encoded_oids) >= _OID_CACHE_LIMIT:
            _encoded_oids.clear()
        _encoded_oids[oid] = raw
    return raw


# a one-octet INTEGER's value (two's complement)
_SIGNED_OCTET = [b - 256 if b >= 0x80 else b for b in range(256)]


def _suffix(tail: bytes) -> tuple[str, bytes]:
    entry = _suffixes.get(tail)
    if entry is None:
        entry = (ber.suffix_to_str(tail), ber.suffix_order_key(tail))
        if len(_suffixes) >= _SUFFIX_CACHE_LIMIT:
            _suffixes.clear()
        _suffixes[tail] = entry
    return entry


class _Column:
    """One root of a walk: where its next request starts and the rows so far."""

    __slots__ = ("done", "last_key", "last_tail", "plen", "prefix", "root", "rows")

    def __init__(self, root: str, prefix: bytes | None = None) -> None:
        self.root = root
        if prefix is None:
            prefix = encoded_oid(root)
        self.prefix = prefix
        self.plen = len(prefix)
        self.last_tail = b""  # OID octets after the prefix of the last row (next request)
        self.last_key = b""  # sort key of that suffix; the root itself sorts first
        self.rows: list[tuple[str, Value]] = []
        self.done = False


class _WalkPlan:
    """What a walk of these roots needs every time, computed once: each root's cleaned
    text and encoded prefix, the scalars that ride along (see `get_walk`) with the OID
    octets their answers must name, and the first request's VarBindList."""

    __slots__ = ("first_varbinds", "roots", "scalars")

    def __init__(self, roots: Sequence[str], scalars: Sequence[str]) -> None:
        self.roots = [(root, clean, encoded_oid(clean)) for root in dict.fromkeys(roots)
                      for clean in [root.strip().lstrip(".")]]
        self.scalars = tuple((oid, encoded_oid(oid)) for oid in scalars)
        parents = [encoded_oid(oid[:-2]) for oid in scalars]
        self.first_varbinds = ber.encode_null_varbinds(
            [*parents, *(p for _, _, p in self.roots)])


# Net-SNMP answers a GETBULK with at most 100 varbinds (maxGetbulkResponses) and cuts the
# repetitions to fit: scalars ride along only where they cost the walk no repetition.
_BULK_VARBINDS = 100
_WALK_PLAN_LIMIT = 10_000
_ROW_HINT_LIMIT = 64  # walk plans whose row counts a client keeps (a device has a few)
_walk_plans: dict[tuple[tuple[str, ...], tuple[str, ...]], _WalkPlan] = {}


def _walk_plan(roots: Sequence[str], scalars: tuple[str, ...]) -> _WalkPlan:
    key = (tuple(roots), scalars)
    plan = _walk_plans.get(key)
    if plan is None:
        plan = _WalkPlan(roots, scalars)
        if len(_walk_plans) >= _WALK_PLAN_LIMIT:
            _walk_plans.clear()
        _walk_plans[key] = plan
    return plan


def _is_scalar(oid: str) -> bool:
    """An instance `x.0` whose parent `x` is a whole OID: GETNEXT(x) answers it."""
    return oid.endswith(".0") and oid.count(".") >= 2


def _absorb(data: bytes, pos: int, end: int, active: list[_Column]) -> tuple[int, int]:
    """Take the rows of one GETBULK/GETNEXT answer (the VarBindList content
    data[pos:end]) into the columns that asked for them; (rows taken, varbinds seen).

    Varbinds come row by row, one per asked column in asking order. A column ends at
    endOfMibView or at the first OID past its subtree; an OID that does not increase
    within a column raises SnmpWalkError. This is the walk's hot loop: it decodes each
    varbind in place and never decodes what it does not keep.
    """
    width = len(active)
    suffixes = _suffixes
    unsigned32 = UNSIGNED32_TAGS
    small = _SIGNED_OCTET
    taken = 0
    seen = 0
    i = 0  # the column of the next varbind
    if end > len(data):
        raise SnmpDecodeError("truncated: varbind list past the end of the packet")
    try:
        while pos < end:
            if data[pos] != 0x30:  # VarBind SEQUENCE
                raise SnmpDecodeError("varbind is not a SEQUENCE")
            n = data[pos + 1]
            pos += 2
            if n >= 0x80:
                n, pos = ber.read_length(data, pos - 1, end)
            vb_end = pos + n
            if vb_end > end or data[pos] != 0x06:
                raise SnmpDecodeError("truncated varbind, or its name is not an OID")
            n = data[pos + 1]
            pos += 2
            if n >= 0x80:
                n, pos = ber.read_length(data, pos - 1, vb_end)
            name_end = pos + n
            if name_end + 2 > vb_end or n == 0 or data[name_end - 1] >= 0x80:
                raise SnmpDecodeError("malformed varbind name")
            column = active[i]
            i += 1
            if i == width:
                i = 0
            seen += 1
            if column.done:
                pos = vb_end
                continue
            tag = data[name_end]
            n = data[name_end + 1]
            vpos = name_end + 2
            if n >= 0x80:
                n, vpos = ber.read_length(data, name_end + 1, vb_end)
            if vpos + n != vb_end:
                raise SnmpDecodeError("varbind value does not fill its varbind")
            # (a slice compare: startswith() with bounds parses its arguments slowly)
            tail_at = pos + column.plen
            if tag >= 0x80 or data[pos:tail_at] != column.prefix:
                if tag >= 0x80:
                    ber.decode_value(tag, data, vpos, vb_end)  # only the 3 exceptions pass
                column.done = True  # endOfMibView, or the next OID is past the subtree
                pos = vb_end
                continue
            tail = data[tail_at:name_end]
            entry = suffixes.get(tail)
            if entry is None:
                entry = _suffix(tail)
            suffix, key = entry
            if key <= column.last_key:
                raise SnmpWalkError(
                    f"OID not increasing under {column.root}: "
                    f".{suffix or '(the root)'} after {len(column.rows)} rows"
                )
            value: Value
            if tag == 0x02:  # INTEGER
                if n == 1:
                    value = small[data[vpos]]
                elif not 0 < n <= 8:
                    raise SnmpDecodeError("INTEGER of invalid size")
                else:
                    value = int.from_bytes(data[vpos:vb_end], "big", signed=True)
            elif tag == 0x04:  # OCTET STRING
                value = data[vpos:vb_end]
            elif tag in unsigned32:
                if n == 1:
                    value = data[vpos]
                else:
                    value = int.from_bytes(data[vpos:vb_end], "big")
                    if not 0 < n <= 5 or value > 0xFFFFFFFF:
                        raise SnmpDecodeError("32-bit unsigned out of range")
            else:
                value = ber.decode_value(tag, data, vpos, vb_end)
            column.last_key = key
            column.last_tail = tail
            column.rows.append((suffix, value))
            taken += 1
            pos = vb_end
    except IndexError:
        raise SnmpDecodeError("truncated varbind list") from None
    return taken, seen


def _skip_varbinds(data: bytes, pos: int, end: int, count: int) -> int:
    """Where the `count` varbinds from `pos` end (the non-repeaters of an answer; what
    is in them is read and checked by whoever takes them)."""
    for _ in range(count):
        if pos >= end or data[pos] != 0x30:
            raise SnmpDecodeError("fewer answers than non-repeaters")
        n, body = ber.read_length(data, pos + 1, end)
        pos = body + n
    return pos


class _Batch:
    """One request of a walk whose rows are known (`_batch_plan`): the columns asked as
    repeaters and as non-repeaters (positions in the walk's column list), and the
    VarBindList, the scalars' parents ahead in the first request (a walk's batches start
    with its scalars still to ask: `_walk_in_batches` is where a walk begins)."""

    __slots__ = ("lone", "non_repeaters", "repeated", "repetitions", "varbinds")

    def __init__(self, plan: _WalkPlan, repetitions: int, lone: list[int],
                 repeated: list[int], first: bool) -> None:
        prefixes = [plan.roots[i][2] for i in (*lone, *repeated)]
        parents = [encoded_oid(oid[:-2]) for oid, _ in plan.scalars] if first else []
        self.repetitions = repetitions
        self.lone = lone
        self.repeated = repeated
        self.non_repeaters = len(parents) + len(lone)
        self.varbinds = ber.encode_null_varbinds([*parents, *prefixes])


def _batch_plan(plan: _WalkPlan, rows: Sequence[int], limit: int,
                room: int = _BULK_VARBINDS) -> list[_Batch]:
    """The requests of a walk of `plan` on an agent whose last walk of it had `rows` rows
    per column. A column-parallel walk asks every column in every request, so the
    repetitions a request can hold shrink as columns are added: four rows of 40 columns
    take three requests (two rows, two rows, then the end of each). Here the columns go in
    batches whose repetitions (at most `limit`, the target's max_repetitions) cover each
    one's rows plus the one past its end, as many columns a request as the agent answers
    (`room` repeated varbinds in all: Net-SNMP's 100, or more where this agent has been
    seen to answer more in one GETBULK); a column that had no rows is one GETNEXT among the
    first request's non-repeaters, with the scalars. Four rows of 40 columns then take two
    requests from Net-SNMP."""
    lone = [i for i, n in enumerate(rows) if n == 0]
    groups: list[tuple[int, list[int]]] = []
    group: list[int] = []
    reps = 0
    for i, n in enumerate(rows):
        if n == 0:
            continue
        want = min(limit, n + 1)
        wider = max(reps, want)
        if group and (len(group) + 1) * wider > room:
            groups.append((reps, group))
            group, wider = [], want
        group.append(i)
        reps = wider
    if group or not groups:
        groups.append((reps or 1, group))
    return [_Batch(plan, reps, lone if k == 0 else [], group, k == 0)
            for k, (reps, group) in enumerate(groups)]


class NativeSnmpClient:
    """One agent's client. Implements `collector.snmp.client.SnmpClient`."""

    def __init__(self, target: Target) -> None:
        credentials = target.credentials
        try:
            self._version = _VERSIONS[credentials.version]
        except KeyError:
            raise ValueError(f"unknown SNMP version {credentials.version!r}") from None
        self.target = target
        self._header = b""
        self._usm: UsmSession | None = None
        if self._version == V3:
            self._usm = UsmSession(credentials)
        else:
            self._header = message.community_header(self._version, credentials.community.encode())
        self._shared: transport.SharedSocket | None = None
        self._address: tuple[str, int] | None = None
        self._family = socket.AF_INET
        self.requests = 0  # requests sent, retries included
        self.timeouts = 0  # attempts that saw no answer
        self._failures = 0  # secured requests in a row that ended without an answer
        # rows per column of this agent's last walk of each plan, and the requests they
        # make (see `_walk_in_batches`; made again only when the rows change)
        # (an empty list: batches got an error status from this agent; not tried again
        # until the rows change)
        self._row_hints: dict[bytes, tuple[tuple[int, ...], list[_Batch] | None]] = {}
        # the most repeated varbinds this agent has answered in one GETBULK (at least
        # Net-SNMP's cap): what a batch may ask
        self._bulk_room = _BULK_VARBINDS

    def __repr__(self) -> str:
        return f"NativeSnmpClient({self.target}, v{self.target.credentials.version})"

    @property
    def local_address(self) -> tuple[str, int] | None:
        """The shared socket this client sends from (None before its first request)."""
        if self._shared is None:
            return None
        name = self._shared.sock.getsockname()
        return str(name[0]), int(name[1])

    # -- socket and exchange

    async def _socket(self) -> transport.SharedSocket:
        shared = self._shared
        if shared is not None and not shared.closed:
            if shared.loop is asyncio.get_running_loop():
                return shared
            transport.release(shared)  # first used on another loop (tests): move over
        self._shared = None
        if self._address is None:
            await self._resolve()
        self._shared = transport.acquire(self._family)
        return self._shared

    async def _resolve(self) -> None:
        """The agent's address. A name resolves to IPv4 first, as Net-SNMP's "udp:"
        does (agents listen on IPv4 far more often); IPv6 only when there is no IPv4."""
        host, port = self.target.host, self.target.port
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            loop = asyncio.get_running_loop()
            for family in (socket.AF_INET, socket.AF_INET6):
                try:
                    infos = await loop.getaddrinfo(
                        host, port, family=family, type=socket.SOCK_DGRAM
                    )
                except OSError as exc:
                    error = exc
                    continue
                sockaddr = infos[0][4]
                self._family = family
                self._address = (str(sockaddr[0]), int(sockaddr[1]))
                return
            raise SnmpTransportError(f"cannot resolve {host!r}: {error}") from error
        self._family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        self._address = (str(literal), port)

    async def _exchange(self, req_id: int, data: bytes, accept: transport.Accept) -> Any:
        """Send `data` (waiting under `req_id`) and resend it on timeout: the first answer
        `accept` takes, or None when every attempt timed out. Datagrams `accept` refuses
        are dropped and counted, and the attempt goes on waiting."""
        shared = self._shared
        assert shared is not None and self._address is not None
        address = self._address
        timeout = self.target.timeout
        for _ in range(self.target.retries + 1):
            self.requests += 1
            answer = await shared.request(data, address, req_id, timeout, accept)
            if answer is not None:
                return answer
            self.timeouts += 1
        return None

    async def _ready_socket(self) -> transport.SharedSocket:
        shared = self._shared
        if shared is None or shared.closed or shared.loop is not asyncio.get_running_loop():
            shared = await self._socket()
        return shared

    def _no_answer(self) -> SnmpTimeout:
        attempts = self.target.retries + 1
        return SnmpTimeout(
            f"{self.target}: no answer after {attempts} x {self.target.timeout:g} s")

    async def _request(
        self, tag: int, oids: list[bytes] | None = None, non_repeaters: int = 0,
        max_repetitions: int = 0, varbinds: bytes | None = None,
    ) -> tuple[int, int, bytes, int, int]:
        """One PDU round trip: (error-status, error-index, and the answer's VarBindList as
        the octets holding it with its content's start and end). The request's varbinds
        are `oids` (content octets) with NULL values, or `varbinds` already encoded."""
        if varbinds is None:
            assert oids is not None
            varbinds = ber.encode_null_varbinds(oids)
        body = message.pdu_body_after_id(varbinds, non_repeaters, max_repetitions)
        if self._usm is not None:
            return await self._request_v3(tag, body)
        shared = self._shared
        if shared is None or shared.closed or shared.loop is not asyncio.get_running_loop():
            shared = await self._socket()
        req_id = shared.new_id()
        check = CommunityCheck(self._version, req_id)
        data = message.encode_community_message(
            self._header, message.encode_pdu_with_id(tag, req_id, body))
        answer = await self._exchange(req_id, data, check)
        if answer is None:
            if check.refused:
                raise SnmpDecodeError(
                    f"{self.target}: no usable answer before the deadline (last refused: "
                    f"{check.refused})")
            raise self._no_answer()
        result: tuple[int, int, bytes, int, int] = answer
        return result

    async def _request_v3(self, tag: int, body: bytes) -> tuple[int, int, bytes, int, int]:
        """A secured round trip. After REDISCOVER_AFTER requests in a row ended without an
        authentic answer (timeouts, refusals), the session is forgotten and the next
        request discovers the agent again: whatever went wrong with the engine ID or the
        clock (an agent replaced, a poisoned discovery) heals without a restart."""
        usm = self._usm
        assert usm is not None
        try:
            if not usm.discovered:
                await self._discover()
            rediscovered = False
            # A few corrections at most: a notInTimeWindows Report (our clock), one
            # discovery again (an unknownEngineIDs Report while nothing authentic answers).
            for _ in range(4):
                shared = self._shared
                if (shared is None or shared.closed
                        or shared.loop is not asyncio.get_running_loop()):
                    shared = await self._socket()
                msg_id = shared.new_id()
                # request-id drawn apart from msgID: the msgID travels in clear, the
                # request-id (encrypted under authPriv) is a second secret an answer carries
                check = V3Check(usm, transport.random_id())
                data = usm.encode_request(
                    msg_id, message.encode_pdu_with_id(tag, check.request_id, body))
                reply: V3Reply | None = await self._exchange(msg_id, data, check)
                if reply is None:
                    if check.hint == UNKNOWN_ENGINE_IDS and not rediscovered:
                        # Maybe a replaced agent (a new engine ID). The Report cannot be
                        # authenticated, so its engine ID is not taken: discovery again.
                        rediscovered = True
                        await self._discover()
                        continue
                    raise await self._v3_failure(check)
                if not reply.report:
                    self._failures = 0
                    return reply.status, reply.index, reply.scoped, reply.start, reply.stop
                if reply.report == NOT_IN_TIME_WINDOWS:
                    usm.sync_time(reply.boots, reply.engine_time)
                    continue
                raise self._report_error(reply.report, authenticated=True)
            raise SnmpAuthError(
                f"{self.target}: the agent keeps rejecting our engine ID or time")
        except (SnmpTimeout, SnmpAuthError):
            self._failures += 1
            if self._failures >= REDISCOVER_AFTER:
                self._failures = 0
                usm.forget()
            raise

    def _report_error(self, counter: str, *, authenticated: bool) -> SnmpError:
        usm = self._usm
        assert usm is not None
        if not counter.startswith("usmStats"):
            return SnmpResponseError(f"report {counter}")
        how = "" if authenticated else (
            "; an unauthenticated Report, and nothing authentic answered before the deadline")
        return SnmpAuthError(
            f"{self.target}: user {usm.user.decode(errors='replace')!r}: "
            f"{REPORT_MEANINGS.get(counter, counter)} ({counter}{how})")

    async def _v3_failure(self, check: V3Check) -> SnmpError:
        """Why a secured request got no acceptable answer before its deadline."""
        usm = self._usm
        assert usm is not None
        if check.hint:
            return self._report_error(check.hint, authenticated=False)
        if check.refused:
            return SnmpAuthError(
                f"{self.target}: answers came, but none passed the checks (last refused: "
                f"{check.refused})")
        if usm.flags & message.FLAG_PRIV and await self._answers_discovery():
            # snmpd silently drops what it cannot decrypt; the agent is up, so the likely
            # cause is the privacy password or protocol.
            return SnmpAuthError(
                f"{self.target}: agent answers discovery but not our encrypted "
                "requests (privacy password or protocol?)")
        return self._no_answer()

    def _discovery_probe(self, msg_id: int, request_id: int) -> bytes:
        assert self._usm is not None
        pdu = message.encode_pdu(GET_REQUEST, request_id, _EMPTY_VARBINDS)
        return self._usm.discovery_request(msg_id, pdu)

    async def _discover(self) -> None:
        """Learn the agent's engine ID, boots and time from the Report to a probe."""
        usm = self._usm
        assert usm is not None
        shared = await self._ready_socket()
        msg_id = shared.new_id()
        check = DiscoveryCheck(transport.random_id())
        msg = await self._exchange(msg_id, self._discovery_probe(msg_id, check.request_id),
                                   check)
        if msg is None:
            if check.refused:
                raise SnmpTimeout(f"{self.target}: no acceptable answer to engine-ID "
                                  f"discovery (last refused: {check.refused})")
            raise self._no_answer()
        usm.learn_engine(msg.engine_id, msg.engine_boots, msg.engine_time)

    async def _answers_discovery(self) -> bool:
        shared = await self._ready_socket()
        assert self._address is not None
        msg_id = shared.new_id()
        check = DiscoveryCheck(transport.random_id())
        probe = self._discovery_probe(msg_id, check.request_id)
        answer = await shared.request(probe, self._address, msg_id, self.target.timeout, check)
        return answer is not None

    # -- the seam

    @_seam_errors_only
    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        asked = list(dict.fromkeys(oids))
        found: dict[str, Value] = {}
        if asked:
            await self._get_into(asked, [encoded_oid(o) for o in asked], found)
        return {oid: found[oid] for oid in oids}

    async def _get_into(self, oids: list[str], raws: list[bytes], found: dict[str, Value]) -> None:
        while oids:
            status, index, data, vb_start, vb_stop = await self._request(GET_REQUEST, raws)
            if status == 0:
                answer = ber.decode_varbinds(data, vb_start, vb_stop)
                if len(answer) != len(oids):
                    raise SnmpDecodeError(
                        f"{self.target}: {len(answer)} varbinds answer {len(oids)} asked"
                    )
                for oid, raw, (name, value) in zip(oids, raws, answer, strict=True):
                    if name != raw:
                        raise SnmpDecodeError(f"{self.target}: answer names another OID than {oid}")
                    found[oid] = value
                return
            if status == NO_SUCH_NAME and self._version == V1 and 1 <= index <= len(oids):
                # v1 has no exception values: drop the named OID and ask for the rest
                found[oids[index - 1]] = NO_SUCH_OBJECT
                oids = oids[: index - 1] + oids[index:]
                raws = raws[: index - 1] + raws[index:]
                continue
            if status == TOO_BIG and len(oids) > 1:
                half = len(oids) // 2
                await self._get_into(oids[:half], raws[:half], found)
                await self._get_into(oids[half:], raws[half:], found)
                return
            raise self._response_error(status, index, oids)

    def _response_error(self, status: int, index: int, oids: list[str]) -> SnmpResponseError:
        oid = oids[index - 1] if 1 <= index <= len(oids) else ""
        return SnmpResponseError(error_status_name(status), index, oid)

    @_seam_errors_only
    async def walk(self, roots: Sequence[str]) -> WalkResult:
        return await self._walk(_walk_plan(roots, ()), {})

    @_seam_errors_only
    async def get_walk(self, oids: Sequence[str], roots: Sequence[str]
                       ) -> tuple[dict[str, Value], WalkResult]:
        """`get(oids)` and `walk(roots)` with one request fewer (v2c, v3): the scalars
        (OIDs ending in .0) ride in the walk's first GETBULK as non-repeaters, each asked
        as the GETNEXT of its parent, which answers the scalar itself when the agent has
        it (anything else, or endOfMibView, reads as noSuchObject). Other OIDs are asked
        with a GET. Same answers as the two calls; on v1, those two calls."""
        asked = list(dict.fromkeys(oids))
        scalars = tuple(o for o in asked if _is_scalar(o))
        width = len(dict.fromkeys(roots))
        rows = min(max(1, self.target.max_repetitions), _BULK_VARBINDS // max(1, width))
        if (self._version == V1 or not width or not scalars
                or not rows or len(scalars) + width * rows > _BULK_VARBINDS):
            got = await self.get(oids) if oids else {}
            return got, await self.walk(roots) if roots else {}
        found: dict[str, Value] = {}
        others = [o for o in asked if not _is_scalar(o)]
        if others:
            await self._get_into(others, [encoded_oid(o) for o in others], found)
        walked = await self._walk(_walk_plan(roots, scalars), found)
        return {oid: found[oid] for oid in oids}, walked

    async def _walk(self, plan: _WalkPlan, found: dict[str, Value]) -> WalkResult:
        columns = {root: _Column(clean, prefix) for root, clean, prefix in plan.roots}
        active = list(columns.values())
        max_rows = self.target.max_rows
        repetitions = max(1, self.target.max_repetitions)
        v1 = self._version == V1
        scalars = plan.scalars  # answered by the first answer, as its non-repeaters
        known = None if v1 else self._row_hints.get(plan.first_varbinds)
        total = 0
        if known is not None:
            rows, batches = known
            if batches is None:
                batches = _batch_plan(plan, rows, repetitions, self._bulk_room)
                self._row_hints[plan.first_varbinds] = (rows, batches)
            if batches:
                total, scalars, refused = await self._walk_in_batches(active, batches,
                                                                      scalars, found)
                if refused:  # (the walk goes on the usual way; no batches until rows change)
                    self._row_hints[plan.first_varbinds] = (rows, [])
                active = [c for c in active if not c.done]
        # no column has moved yet: the prepared first request still fits
        fresh = len(active) == len(columns) and all(not c.rows and not c.last_tail
                                                    for c in active)
        while active:
            if fresh:
                varbinds = plan.first_varbinds
            else:
                varbinds = ber.encode_null_varbinds([c.prefix + c.last_tail for c in active])
            if v1:
                status, index, data, pos, end = await self._request(
                    GET_NEXT_REQUEST, varbinds=varbinds)
            else:
                status, index, data, pos, end = await self._request(
                    GET_BULK_REQUEST, None, len(scalars), repetitions, varbinds)
            if status:
                if status == TOO_BIG and not v1 and repetitions > 1:
                    repetitions //= 2
                    continue
                if status == NO_SUCH_NAME and v1 and 1 <= index <= len(active):
                    del active[index - 1]  # v1's end of the MIB view for that column
                    fresh = False
                    continue
                raise self._response_error(
                    status, index, [*(o for o, _ in scalars), *(c.root for c in active)])
            if scalars:
                pos = self._take_scalars(data, pos, end, scalars, found)
            fresh = False
            try:
                added, seen = _absorb(data, pos, end, active)
            except SnmpWalkError as exc:
                raise SnmpWalkError(f"{self.target}: {exc}") from None
            if (not seen and not scalars) or (v1 and seen != len(active)):
                raise SnmpWalkError(
                    f"{self.target}: {seen} varbinds answer a walk of {len(active)}"
                )
            scalars = ()
            total += added
            if total > max_rows:
                raise SnmpWalkError(f"{self.target}: walk exceeds {max_rows} rows")
            if seen > self._bulk_room:
                self._bulk_room = seen
            active = [c for c in active if not c.done]
        if not v1:
            rows = tuple([len(c.rows) for c in columns.values()])
            hints = self._row_hints
            if known is None or known[0] != rows:
                if plan.first_varbinds not in hints and len(hints) >= _ROW_HINT_LIMIT:
                    hints.clear()
                hints[plan.first_varbinds] = (rows, None)
        return {root: column.rows for root, column in columns.items()}

    async def _walk_in_batches(self, columns: list[_Column], batches: list[_Batch],
                               scalars: tuple[tuple[str, bytes], ...],
                               found: dict[str, Value]
                               ) -> tuple[int, tuple[tuple[str, bytes], ...], bool]:
        """The walk's first requests when the agent's last walk of the same columns is
        known (`_batch_plan`). Every column still gets the GETNEXT sequence from its root,
        so the rows are the same as the column-parallel walk's. A column that has grown
        since, or an answer cut short, goes on in the column-parallel walk, and so does
        everything after an error status. Returns (rows taken, the scalars still to ask:
        none once the first request, which carries them, is answered, whether an error
        status ended the batches)."""
        total = 0
        for batch in batches:
            status, _, data, pos, end = await self._request(
                GET_BULK_REQUEST, None, batch.non_repeaters, batch.repetitions,
                batch.varbinds)
            if status:
                return total, scalars, True
            if scalars:
                pos = self._take_scalars(data, pos, end, scalars, found)
                scalars = ()
            try:
                if batch.lone:  # one varbind each: a row of a column that had none, or its end
                    lone = [columns[i] for i in batch.lone]
                    split = _skip_varbinds(data, pos, end, len(lone))
                    total += _absorb(data, pos, split, lone)[0]
                    pos = split
                if batch.repeated:
                    added, seen = _absorb(data, pos, end, [columns[i] for i in batch.repeated])
                    total += added
                    if seen > self._bulk_room:
                        self._bulk_room = seen
            except SnmpWalkError as exc:
                raise SnmpWalkError(f"{self.target}: {exc}") from None
            except SnmpDecodeError as exc:  # (the non-repeaters short)
                raise SnmpDecodeError(f"{self.target}: {exc}") from None
            if total > self.target.max_rows:
                raise SnmpWalkError(f"{self.target}: walk exceeds {self.target.max_rows} rows")
        return total, scalars, False

    def _take_scalars(self, data: bytes, pos: int, end: int,
                      scalars: tuple[tuple[str, bytes], ...], found: dict[str, Value]) -> int:
        """Read the non-repeaters that answer `scalars` into `found`; where they end."""
        try:
            split = _skip_varbinds(data, pos, end, len(scalars))
        except SnmpDecodeError as exc:
            raise SnmpDecodeError(f"{self.target}: {exc}") from None
        answers = ber.decode_varbinds(data, pos, split)
        for (oid, expected), (name, value) in zip(scalars, answers, strict=True):
            found[oid] = value if name == expected and not isinstance(value, Missing) \
                else NO_SUCH_OBJECT
        return split

    async def close(self) -> None:
        if self._shared is not None and not self._shared.closed:
            transport.release(self._shared)
        self._shared = None


def open_client(target: Target) -> NativeSnmpClient:
    return NativeSnmpClient(target)


def engine_stats() -> dict[str, int]:
    """Datagrams the shared sockets dropped (wrong address, unknown id, undecodable)."""
    return transport.transport_stats()
