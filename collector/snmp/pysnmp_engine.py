"""The pysnmp engine behind the client seam (pysnmp 7, its asyncio v3arch API).

Everything pysnmp-specific stays in this file: its value classes become plain Python values
before they leave, its error indications become the seam's error classes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as pysnmp_auth
from pysnmp.proto import errind, rfc1902, rfc1905

from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpError,
    SnmpResponseError,
    SnmpTimeout,
    SnmpTransportError,
    SnmpWalkError,
    Target,
    Value,
    WalkResult,
    oid_key,
)

_AUTH = {
    "MD5": pysnmp_auth.USM_AUTH_HMAC96_MD5,
    "SHA": pysnmp_auth.USM_AUTH_HMAC96_SHA,
    "SHA224": pysnmp_auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": pysnmp_auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": pysnmp_auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": pysnmp_auth.USM_AUTH_HMAC384_SHA512,
}
# Net-SNMP's AES-192/256 localise keys the way pysnmp's "Blumenthal" variant does
_PRIV = {
    "DES": pysnmp_auth.USM_PRIV_CBC56_DES,
    "AES": pysnmp_auth.USM_PRIV_CFB128_AES,
    "AES192": pysnmp_auth.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": pysnmp_auth.USM_PRIV_CFB256_AES_BLUMENTHAL,
}

_AUTH_ERRORS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnsupportedSecurityLevel,
    errind.UnknownSecurityName,
    errind.NotInTimeWindow,
    errind.UnknownEngineID,
    errind.UnsupportedAuthProtocol,
    errind.UnsupportedPrivProtocol,
)

# one SnmpEngine per event loop: it holds the sockets and what it learnt of v3 agents
_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnmpEngine] = (
    weakref.WeakKeyDictionary()
)


def _engine() -> SnmpEngine:
    loop = asyncio.get_running_loop()
    engine = _ENGINES.get(loop)
    if engine is None:
        engine = _ENGINES[loop] = SnmpEngine()
    return engine


def _plain(value: Any) -> Value:
    """A pysnmp value object -> the seam's plain value."""
    if isinstance(value, rfc1905.NoSuchObject):
        return NO_SUCH_OBJECT
    if isinstance(value, rfc1905.NoSuchInstance):
        return NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.EndOfMibView):
        return END_OF_MIB_VIEW
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asNumbers())
    if isinstance(value, univ.OctetString):
        return value.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(n) for n in value.asTuple())
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    raise SnmpDecodeError(f"unexpected value type {type(value).__name__}")


def _oid_str(name: Any) -> str:
    return ".".join(str(n) for n in tuple(name))


class PysnmpClient:
    def __init__(self, target: Target) -> None:
        self.target = target
        cred = target.credentials
        self._auth: CommunityData | UsmUserData
        if cred.version == "3":
            kwargs: dict[str, Any] = {}
            if cred.auth_protocol:
                kwargs["authKey"] = cred.auth_key
                kwargs["authProtocol"] = _AUTH[cred.auth_protocol]
            if cred.priv_protocol:
                kwargs["privKey"] = cred.priv_key
                kwargs["privProtocol"] = _PRIV[cred.priv_protocol]
            self._auth = UsmUserData(cred.user, **kwargs)
        else:
            self._auth = CommunityData(cred.community, mpModel=0 if cred.version == "1" else 1)
        self._context = ContextData(contextName=cred.context) if cred.context else ContextData()
        self._transport: UdpTransportTarget | Udp6TransportTarget | None = None

    async def _target(self) -> UdpTransportTarget | Udp6TransportTarget:
        if self._transport is None:
            address = (self.target.host, self.target.port)
            cls = Udp6TransportTarget if ":" in self.target.host else UdpTransportTarget
            try:
                self._transport = await cls.create(
                    address, timeout=self.target.timeout, retries=self.target.retries
                )
            except Exception as exc:  # pysnmp raises its own error for a bad host name
                raise SnmpTransportError(f"{self.target}: {exc}") from None
        return self._transport

    def _check(self, indication: Any, status: Any, index: Any, var_binds: Any) -> None:
        if indication:
            if isinstance(indication, errind.RequestTimedOut):
                raise SnmpTimeout(f"{self.target}: no answer")
            if isinstance(indication, _AUTH_ERRORS):
                raise SnmpAuthError(f"{self.target}: SNMPv3 refused: {indication}")
            if isinstance(indication, errind.OidNotIncreasing):
                raise SnmpWalkError(f"{self.target}: OIDs not increasing")
            if isinstance(indication, (errind.ParseError, errind.DeserializationError)):
                raise SnmpDecodeError(f"{self.target}: {indication}")
            raise SnmpError(f"{self.target}: {indication}")
        if status and int(status):
            i = int(index)
            oid = _oid_str(var_binds[i - 1][0]) if 0 < i <= len(var_binds) else ""
            raise SnmpResponseError(status.prettyPrint(), i, oid)

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        if not oids:
            return {}
        transport = await self._target()
        out: dict[str, Value] = {}
        # v1 fails a whole GET on one unknown OID: ask in chunks, then one by one on error
        for start in range(0, len(oids), 32):
            chunk = list(oids[start : start + 32])
            await self._get_chunk(transport, chunk, out)
        return out

    async def _get_chunk(self, transport: Any, chunk: list[str], out: dict[str, Value]) -> None:
        indication, status, index, var_binds = await get_cmd(
            _engine(), self._auth, transport, self._context,
            *(ObjectType(ObjectIdentity(oid)) for oid in chunk), lookupMib=False,
        )
        if (not indication and status and int(status) == 2
                and self.target.credentials.version == "1"):
            bad = int(index) - 1  # noSuchName: that OID is missing; ask the rest again
            if 0 <= bad < len(chunk):
                out[chunk[bad]] = NO_SUCH_OBJECT
                rest = chunk[:bad] + chunk[bad + 1 :]
                if rest:
                    await self._get_chunk(transport, rest, out)
                return
        self._check(indication, status, index, var_binds)
        for oid, (_, value) in zip(chunk, var_binds, strict=False):
            out[oid] = _plain(value)

    async def walk(self, roots: Sequence[str]) -> WalkResult:
        transport = await self._target()
        result: WalkResult = {root: [] for root in roots}
        # walk the roots side by side, each column dropping out when it leaves its subtree
        cursors = {root: root for root in roots}
        last: dict[str, tuple[int, ...]] = {}
        rows = 0
        v1 = self.target.credentials.version == "1"
        reps = self.target.max_repetitions
        while cursors:
            active = list(cursors)
            objects = [ObjectType(ObjectIdentity(cursors[r])) for r in active]
            if v1:
                indication, status, index, var_binds = await next_cmd(
                    _engine(), self._auth, transport, self._context, *objects, lookupMib=False
                )
                if not indication and status and int(status) == 2:  # noSuchName: end of view
                    bad = int(index) - 1
                    if 0 <= bad < len(active):
                        del cursors[active[bad]]
                        continue
                    break
            else:
                indication, status, index, var_binds = await bulk_cmd(
                    _engine(), self._auth, transport, self._context, 0, reps, *objects,
                    lookupMib=False,
                )
                if not indication and status and int(status) == 1 and reps > 1:  # tooBig
                    reps = max(1, reps // 2)
                    continue
            self._check(indication, status, index, var_binds)
            if not var_binds:
                break
            flat = list(var_binds)
            width = len(active)
            done: set[str] = set()
            for i, (name, value) in enumerate(flat):
                root = active[i % width]
                if root in done:
                    continue
                oid = _oid_str(name)
                plain = _plain(value)
                prefix = root + "."
                if plain is END_OF_MIB_VIEW or not oid.startswith(prefix):
                    done.add(root)
                    continue
                key = oid_key(oid)
                if root in last and key <= last[root]:
                    raise SnmpWalkError(
                        f"{self.target}: agent returned {oid} after a later OID (not increasing)"
                    )
                last[root] = key
                result[root].append((oid[len(prefix):], plain))
                cursors[root] = oid
                rows += 1
                if rows > self.target.max_rows:
                    raise SnmpWalkError(
                        f"{self.target}: walk exceeded {self.target.max_rows} rows"
                    )
            for root in done:
                cursors.pop(root, None)
        return result

    async def close(self) -> None:
        self._transport = None


def open_client(target: Target) -> PysnmpClient:
    return PysnmpClient(target)
