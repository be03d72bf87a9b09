"""An optional engine on snmpkit (Rust core; AGPL-3.0, extra `tierwatch[fast]`).

Imported only when a config asks for `snmp.engine: snmpkit`. It adapts snmpkit's
`Manager` to the seam; what snmpkit's API shapes here:

- one UDP socket per client (snmpkit has no shared socket);
- a walk runs its roots concurrently, one GETBULK stream per root, because snmpkit's
  `get_bulk` drops exception values, so answers to several roots in one PDU cannot be
  told apart by position;
- values are read from the variant's field (`int()` of a Counter64 above 2**63 comes
  out negative in snmpkit 1.9);
- privacy: DES, AES, AES192, AES256 (snmpkit has no Cisco "AES192C"/"AES256C");
- snmpkit 1.9 decrypts v3 answers with its own estimate of the agent's clock instead of
  the boots/time the answer carries, so about half of all AES answers fail to decrypt
  once a second has passed since discovery; `_Manager` passes the answer's own values.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from snmpkit.core import Value as KitValue
from snmpkit.core import decode_snmp_v3_response
from snmpkit.manager import (
    AuthenticationError,
    GenericError,
    Manager,
    UnreachableError,
)
from snmpkit.manager import SnmpError as KitError
from snmpkit.manager import TimeoutError as KitTimeout

from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    Missing,
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
from collector.snmp.message import NO_SUCH_NAME, error_status_name, parse_v3_message


def _field(value: Any) -> Any:
    return value._0


_CONVERT: dict[type, Callable[[Any], Value]] = {
    KitValue.Integer: _field,
    KitValue.Counter32: _field,
    KitValue.Gauge32: _field,
    KitValue.TimeTicks: _field,
    KitValue.Counter64: _field,
    KitValue.OctetString: bytes,
    KitValue.Opaque: bytes,
    KitValue.ObjectIdentifier: lambda v: str(v._0),
    KitValue.IpAddress: str,
    KitValue.Null: lambda v: None,
    KitValue.NoSuchObject: lambda v: NO_SUCH_OBJECT,
    KitValue.NoSuchInstance: lambda v: NO_SUCH_INSTANCE,
    KitValue.EndOfMibView: lambda v: END_OF_MIB_VIEW,
}


def plain(value: Any) -> Value:
    """An snmpkit value as the seam's plain value."""
    try:
        return _CONVERT[type(value)](value)
    except KeyError:
        raise SnmpDecodeError(f"snmpkit value of unknown type {type(value).__name__}") from None


_VERSIONS = {"1": 1, "2c": 2, "3": 3}


class _Manager(Manager):
    """snmpkit's Manager, decrypting v3 answers with the answer's own engine boots and
    time (RFC 3826 3.1.2.1 builds the IV from them), not with a local estimate."""

    def _decode_response(self, response_data: bytes) -> Any:
        if self.version != 3:
            return super()._decode_response(response_data)
        try:
            msg = parse_v3_message(response_data)
        except SnmpDecodeError:
            return super()._decode_response(response_data)  # snmpkit reports it
        kwargs: dict[str, Any] = {
            "engine_boots": msg.engine_boots,
            "engine_time": msg.engine_time,
        }
        if self._auth_key and self.auth_protocol:
            kwargs.update(auth_protocol=self.auth_protocol, auth_key=self._auth_key)
        if self._priv_key and self.priv_protocol:
            kwargs.update(priv_protocol=self.priv_protocol, priv_key=self._priv_key)
        try:
            return decode_snmp_v3_response(response_data, **kwargs)
        except ValueError as exc:
            raise AuthenticationError(str(exc)) from exc


class SnmpkitClient:
    """One agent's client over an snmpkit Manager. Implements the seam's SnmpClient."""

    def __init__(self, target: Target) -> None:
        self.target = target
        c = target.credentials
        self._manager_args: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "version": _VERSIONS[c.version],
            "timeout": target.timeout,
            "retries": target.retries + 1,  # snmpkit counts attempts
        }
        if c.version == "3":
            self._manager_args.update(
                user=c.user,
                auth_protocol=c.auth_protocol,
                auth_password=c.auth_key or None,
                priv_protocol=c.priv_protocol,
                priv_password=c.priv_key or None,
                context_name=c.context,
            )
        else:
            self._manager_args["community"] = c.community
        self._manager: Manager | None = None

    def __repr__(self) -> str:
        return f"SnmpkitClient({self.target}, v{self.target.credentials.version})"

    async def _connected(self) -> Manager:
        if self._manager is None:
            manager = _Manager(**self._manager_args)
            await self._guard(manager.connect())
            self._manager = manager
        return self._manager

    async def _guard(self, call: Any) -> Any:
        """Await an snmpkit call, answering the seam's errors for snmpkit's."""
        try:
            return await call
        except SnmpError:
            raise
        except KitTimeout as exc:
            raise SnmpTimeout(f"{self.target}: {exc}") from None
        except AuthenticationError as exc:
            raise SnmpAuthError(f"{self.target}: {exc}") from None
        except UnreachableError as exc:
            raise SnmpTransportError(f"{self.target}: {exc}") from None
        except GenericError as exc:
            raise SnmpResponseError(error_status_name(exc.status), exc.index) from None
        except (KitError, ValueError) as exc:
            raise SnmpDecodeError(f"{self.target}: {exc}") from None

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        manager = await self._connected()
        asked = list(dict.fromkeys(oid.strip().lstrip(".") for oid in oids))
        found: dict[str, Value] = {}
        while asked:
            try:
                values = await self._guard(manager.get_many(*asked, raise_exceptions=False))
            except SnmpResponseError as exc:
                # v1: drop the OID the agent named and ask for the rest
                if exc.status == error_status_name(NO_SUCH_NAME) and 1 <= exc.index <= len(asked):
                    found[asked.pop(exc.index - 1)] = NO_SUCH_OBJECT
                    continue
                raise
            found.update(zip(asked, map(plain, values), strict=True))
            break
        return {oid: found[oid.strip().lstrip(".")] for oid in oids}

    async def walk(self, roots: Sequence[str]) -> WalkResult:
        manager = await self._connected()
        unique = list(dict.fromkeys(roots))
        budget = [self.target.max_rows]
        rows = await asyncio.gather(*(self._walk_root(manager, r, budget) for r in unique))
        return dict(zip(unique, rows, strict=True))

    async def _walk_root(
        self, manager: Manager, root: str, budget: list[int]
    ) -> list[tuple[str, Value]]:
        base = root.strip().lstrip(".")
        prefix = base + "."
        rows: list[tuple[str, Value]] = []
        cursor = base
        last_key: tuple[int, ...] = oid_key(base)
        v1 = self.target.credentials.version == "1"
        while True:
            if v1:
                try:
                    answer = [await self._guard(manager.get_next(cursor))]
                except SnmpResponseError as exc:
                    if exc.status == error_status_name(NO_SUCH_NAME):
                        return rows
                    raise
            else:
                answer = await self._guard(
                    manager.get_bulk(cursor, max_repetitions=self.target.max_repetitions)
                )
            if not answer:
                return rows  # snmpkit dropped an endOfMibView
            for oid, value in answer:
                converted = plain(value)
                if converted.__class__ is Missing or not oid.startswith(prefix):
                    return rows
                key = oid_key(oid)
                if key <= last_key:
                    raise SnmpWalkError(f"{self.target}: OID not increasing under {base}: {oid}")
                last_key = key
                rows.append((oid[len(prefix) :], converted))
                budget[0] -= 1
                if budget[0] < 0:
                    raise SnmpWalkError(f"{self.target}: walk exceeds {self.target.max_rows} rows")
                cursor = oid

    async def close(self) -> None:
        if self._manager is not None:
            await self._manager.close()
            self._manager = None


def open_client(target: Target) -> SnmpkitClient:
    return SnmpkitClient(target)
