"""The SNMP client seam: what the poller needs from an SNMP engine, and nothing more.

Two calls per device: `get(oids)` and `walk(roots)` (GETBULK, or GETNEXT on v1). Values come
back as plain Python objects so the poller's mapping never touches an engine's types:

    INTEGER, Counter32/64, Gauge32, TimeTicks, Unsigned32  -> int
    OCTET STRING, Opaque                                   -> bytes
    OBJECT IDENTIFIER                                      -> str (dotted, no leading dot)
    IpAddress                                              -> str (dotted quad)
    NULL                                                   -> None
    noSuchObject, noSuchInstance, endOfMibView             -> the `Missing` singletons

The engine behind the seam is chosen by name (`snmp.engine` in the config); each engine
module registers a factory here. A `FakeSnmpClient` sits beside the seam for unit tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


class Missing:
    """An SNMP exception value: the agent answered, but has nothing at that OID."""

    __slots__ = ("_global", "name")

    def __init__(self, name: str, global_name: str) -> None:
        self.name = name
        self._global = global_name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:  # singletons stay singletons through pickle and copy
        return self._global


NO_SUCH_OBJECT = Missing("noSuchObject", "NO_SUCH_OBJECT")
NO_SUCH_INSTANCE = Missing("noSuchInstance", "NO_SUCH_INSTANCE")
END_OF_MIB_VIEW = Missing("endOfMibView", "END_OF_MIB_VIEW")

Value = int | bytes | str | None | Missing
# walk() answers, per requested root, the rows under it: (index suffix, value), where the
# suffix is the OID after the root without its leading dot ("1" under ifDescr is ifIndex 1).
WalkResult = dict[str, list[tuple[str, Value]]]

Version = Literal["1", "2c", "3"]
AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "AES", "AES192", "AES256"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Resolved credentials (secrets already read from the environment).

    `repr` hides every secret, so a credentials object in a log line or a traceback
    never leaks a community or a key.
    """

    version: Version
    community: str = field(default="", repr=False)
    user: str = ""
    auth_protocol: AuthProtocol | None = None
    auth_key: str = field(default="", repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: str = field(default="", repr=False)
    context: str = ""

    @property
    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if self.priv_protocol:
            return "authPriv"
        if self.auth_protocol:
            return "authNoPriv"
        return "noAuthNoPriv"


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how to reach one agent."""

    host: str
    port: int
    credentials: Credentials
    timeout: float = 2.0  # seconds per request attempt
    retries: int = 1  # further attempts after the first one times out
    max_repetitions: int = 25
    max_rows: int = 100_000  # a walk that yields more is cut and counted as an error

    def __str__(self) -> str:
        return f"udp://{self.host}:{self.port}"


class SnmpError(Exception):
    """Base of every error the seam raises. `reason` feeds poll_errors_total{reason}."""

    reason = "error"


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1). Also what a wrong community looks like."""

    reason = "timeout"


class SnmpAuthError(SnmpError):
    """SNMPv3 refused: unknown user, wrong digest (password), decryption failure."""

    reason = "auth"


class SnmpResponseError(SnmpError):
    """The agent answered with an error-status (noSuchName on v1, genErr, tooBig ...)."""

    reason = "response"

    def __init__(self, status: str, index: int = 0, oid: str = "") -> None:
        super().__init__(f"agent answered {status} at varbind {index} ({oid or '?'})")
        self.status = status
        self.index = index
        self.oid = oid


class SnmpWalkError(SnmpError):
    """A walk that would not end: OIDs not increasing, or more rows than max_rows."""

    reason = "walk"


class SnmpDecodeError(SnmpError):
    """A packet that cannot be decoded."""

    reason = "decode"


class SnmpTransportError(SnmpError):
    """The socket itself failed (host unreachable, address not resolvable)."""

    reason = "transport"


class SnmpInternalError(SnmpError):
    """An unexpected exception inside an engine (a defect), turned into an error of the
    poll it happened in: counted under its reason, never a traceback per poll."""

    reason = "internal"


class SnmpClient(Protocol):
    """One agent's client. Engines implement it; the poller depends on nothing else."""

    target: Target

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        """GET these OIDs (dotted, no leading dot); the answer maps each asked OID."""
        ...

    async def walk(self, roots: Sequence[str]) -> WalkResult:
        """Walk every root subtree (GETBULK on v2c/v3, GETNEXT on v1).

        Engines may walk several roots in one request (columns of one table side by side);
        the result is the same either way. Raises SnmpWalkError when an agent returns
        non-increasing OIDs or more than target.max_rows rows.
        """
        ...

    async def close(self) -> None: ...

    # An engine may also offer `async get_walk(oids, roots) -> (dict, WalkResult)`: the
    # answers of get(oids) and walk(roots) in fewer requests. The poller uses it if present.


ClientFactory = Callable[[Target], SnmpClient]

# engine name -> "module:function" building a client; imported on first use so an
# optional engine's absence only matters to configs that ask for it.
ENGINES: dict[str, str] = {
    "pysnmp": "collector.snmp.pysnmp_engine:open_client",
    "native": "collector.snmp.native_engine:open_client",
    "snmpkit": "collector.snmp.snmpkit_engine:open_client",  # optional extra tierwatch[fast]
}


# engine name -> the extra that installs what it needs
ENGINE_EXTRAS: dict[str, str] = {"snmpkit": "fast"}
DEFAULT_ENGINE = "native"


class EngineUnavailable(RuntimeError):
    pass


def engine_factory(name: str) -> ClientFactory:
    try:
        spec = ENGINES[name]
    except KeyError:
        raise EngineUnavailable(
            f"unknown SNMP engine {name!r} (known: {', '.join(sorted(ENGINES))})"
        ) from None
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = ENGINE_EXTRAS.get(name)
        hint = f" (install the extra: pip install 'tierwatch[{extra}]')" if extra else ""
        raise EngineUnavailable(f"SNMP engine {name!r} is not installed{hint}: {exc}") from exc
    factory: ClientFactory = getattr(module, attr)
    return factory


def open_client(target: Target, engine: str = DEFAULT_ENGINE) -> SnmpClient:
    return engine_factory(engine)(target)


def oid_key(oid: str) -> tuple[int, ...]:
    """Numeric sort key of a dotted OID."""
    return tuple(int(part) for part in oid.split(".") if part)


class FakeSnmpClient:
    """An in-memory agent for unit tests; records every call it gets.

    `values` maps dotted OIDs to values. `error`, when set, is raised by every call (an
    SnmpError, or any exception a defective engine might raise).
    """

    def __init__(
        self,
        values: Mapping[str, Value],
        target: Target | None = None,
        *,
        error: Exception | None = None,
    ) -> None:
        self.values = {oid.lstrip("."): v for oid, v in values.items()}
        self.target = target or Target("fake", 161, Credentials(version="2c", community="x"))
        self.error = error
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.closed = False

    def _maybe_fail(self) -> None:
        if self.error is not None:
            raise self.error

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        self.calls.append(("get", tuple(oids)))
        self._maybe_fail()
        return {oid: self.values.get(oid.lstrip("."), NO_SUCH_OBJECT) for oid in oids}

    async def walk(self, roots: Sequence[str]) -> WalkResult:
        self.calls.append(("walk", tuple(roots)))
        self._maybe_fail()
        ordered = sorted(self.values, key=oid_key)
        result: WalkResult = {}
        for root in roots:
            prefix = root.lstrip(".") + "."
            result[root] = [
                (oid[len(prefix) :], self.values[oid]) for oid in ordered if oid.startswith(prefix)
            ]
        return result

    async def close(self) -> None:
        self.closed = True
