"""A sweep: every address of some ranges asked who it is, with each configured credential in
turn, a bounded number at a time and no faster than a rate.

For each address the credentials are tried in order with one GET of sysObjectID, sysName
and sysDescr: silence means the next one (a wrong community is silence), so is an SNMPv3
refusal (unknown user, wrong key). The first that answers is the device's; a second GET
reads the OIDs the profiles' `detect:` lists, and `profile: auto`'s choice is made as the
poller would make it (collector.profiles.choose_auto), with its reasons.

Every answer is hostile: values of the wrong type, control characters, oversized text are
reported on the device and counted, never trusted; an address whose datagrams the engine
refused (garbage, not an SNMP answer to us) is reported as such, apart from the silent
ones; nothing an agent sends stops the sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from collector.config import DeviceConfig
from collector.discovery.enterprises import vendor
from collector.discovery.portcheck import port_unreachable
from collector.profiles import choose_auto, detect_oids
from collector.snmp import transport
from collector.snmp.client import (
    Credentials,
    Missing,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpResponseError,
    SnmpTimeout,
    Target,
    Value,
    engine_factory,
)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IDENTITY = [SYS_OBJECT_ID, SYS_NAME, SYS_DESCR]
DETECT_BATCH = 16  # detect OIDs per GET, well below what any agent's PDU can hold
MAX_NAME = 255  # sysName is at most 255 octets (SNMPv2-MIB)
MAX_DESCR = 1024  # sysDescr: 255 in the MIB; some agents send more, we keep this much
_OID = re.compile(r"^\d+(\.\d+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

Outcome = Literal["found", "no_answer", "bad_answer", "refused"]
# what the engine refuses from an SNMPv3 agent that does not take our user or keys
V3_REFUSALS = ("unauthenticated_report", "bad_digest", "decryption_error", "wrong_user",
               "wrong_security_level", "not_in_time_window", "bad_engine_id")
# what a sweep refuses, by reason: the labels of tierwatch_discovery_refused_total
REFUSAL_REASONS = ("undecodable_datagram", "bad_answer", "bad_sys_object_id", "bad_text")


@dataclass(frozen=True)
class NamedCredentials:
    name: str  # the key in `credentials:`
    credentials: Credentials


@dataclass(frozen=True)
class SweepOptions:
    timeout: float = 1.0  # seconds per attempt
    retries: int = 1
    concurrency: int = 64  # addresses in flight at once
    rate: float = 200.0  # requests started per second; 0: no limit
    engine: str = "native"  # the native engine can tell garbage from silence
    profile_dirs: tuple[Path, ...] = ()


@dataclass
class AddressResult:
    host: str
    port: int
    outcome: Outcome
    detail: str = ""
    credential: str | None = None
    sys_object_id: str = ""
    sys_name: str = ""
    sys_descr: str = ""
    vendor: str = ""
    profiles: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    configured: str | None = None  # id of the configured device at this address
    problems: list[str] = field(default_factory=list)  # odd answers, reported

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port != 161 else host

    @property
    def known_model(self) -> bool:
        """Whether a profile claims the device (by sysObjectID or a detect OID)."""
        return self.profiles != ["system"]

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "host": self.host, "port": self.port,
                "outcome": self.outcome, "detail": self.detail,
                "credentials": self.credential, "sys_object_id": self.sys_object_id,
                "sys_name": self.sys_name, "sys_descr": self.sys_descr,
                "vendor": self.vendor, "profiles": self.profiles, "reasons": self.reasons,
                "configured": self.configured, "problems": self.problems}


@dataclass
class SweepReport:
    results: list[AddressResult]
    duration: float
    refused: dict[str, int]  # by REFUSAL_REASONS

    def of(self, outcome: Outcome) -> list[AddressResult]:
        return [r for r in self.results if r.outcome == outcome]

    @property
    def found(self) -> list[AddressResult]:
        return self.of("found")

    @property
    def new(self) -> list[AddressResult]:
        return [r for r in self.found if r.configured is None]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("found", "no_answer", "bad_answer", "refused"), 0)
        for r in self.results:
            out[r.outcome] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {"swept": len(self.results), "duration_seconds": round(self.duration, 3),
                "counts": self.counts(), "refused": self.refused,
                "devices": [r.to_json() for r in self.results if r.outcome != "no_answer"],
                "no_answer": [r.address for r in self.of("no_answer")]}


class RateLimit:
    """Requests started at most `rate` a second, evenly spaced (no burst)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        at = max(now, self._next)
        self._next = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class _Configured:
    """The configured devices by address, to match what a sweep finds."""

    def __init__(self, devices: Iterable[DeviceConfig]) -> None:
        self.by_address: dict[tuple[str, int], str] = {}
        self.by_name: dict[str, str] = {}
        for device in devices:
            host, port = device.host_port
            self.by_address[(_normal(host.strip("[]")), port)] = device.id
            for name in (device.id, device.name):
                if name:
                    self.by_name[name.casefold()] = device.id

    def match(self, host: str, port: int) -> str | None:
        return self.by_address.get((_normal(host), port))


def _normal(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.casefold()


def _text(value: Value, limit: int, what: str, problems: list[str],
          refused: dict[str, int]) -> str:
    if value is None or isinstance(value, Missing):
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        problems.append(f"{what} is a number ({value}), not text")
        refused["bad_text"] += 1
        return str(value)
    cleaned = _CONTROL.sub("", text).strip()
    if cleaned != text.strip() or "\ufffd" in cleaned:
        problems.append(f"{what} holds control characters or invalid UTF-8 (removed)")
        refused["bad_text"] += 1
    if len(cleaned) > limit:
        problems.append(f"{what} is {len(cleaned)} characters long (cut to {limit})")
        refused["bad_text"] += 1
        cleaned = cleaned[:limit]
    return cleaned


class Sweeper:
    """One sweep's machinery: credentials in order, engine, limits, the configured devices
    to match, and counters of what was refused."""

    def __init__(self, credentials: Sequence[NamedCredentials],
                 options: SweepOptions = SweepOptions(),
                 configured: Iterable[DeviceConfig] = ()) -> None:
        if not credentials:
            raise ValueError("a sweep needs at least one credential")
        self.credentials = list(credentials)
        self.options = options
        self.configured = _Configured(configured)
        self.factory = engine_factory(options.engine)
        self.detect = detect_oids(options.profile_dirs)
        self.rate = RateLimit(options.rate)
        self.refused = dict.fromkeys(REFUSAL_REASONS, 0)

    async def sweep(self, addresses: Sequence[tuple[str, int]],
                    progress: Callable[[AddressResult], None] | None = None) -> SweepReport:
        started = time.monotonic()
        results: list[AddressResult | None] = [None] * len(addresses)
        queue = iter(enumerate(addresses))

        async def worker() -> None:
            for i, (host, port) in queue:
                results[i] = result = await self.probe(host, port)
                if progress is not None:
                    progress(result)

        workers = min(self.options.concurrency, len(addresses)) or 1
        # hold the native engine's shared sockets for the whole sweep: what they refused
        # from each sender is counted on them, and they close when their last client does
        held = []
        if self.options.engine == "native":
            for family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    held.append(transport.acquire(family))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            for shared in held:
                transport.release(shared)
        done = [r for r in results if r is not None]
        return SweepReport(done, time.monotonic() - started, dict(self.refused))

    def _client(self, host: str, port: int, creds: Credentials) -> SnmpClient:
        return self.factory(Target(host, port, creds, timeout=self.options.timeout,
                                   retries=self.options.retries))

    async def probe(self, host: str, port: int) -> AddressResult:
        """Who answers at host:port, with which credential; never raises for what the
        network sends (a defect in an engine is reported on the address). A host that
        says the port is unreachable ends the probe at once."""
        result = AddressResult(host, port, "no_answer", "no answer")
        await self.rate.wait()
        wait = self.options.timeout * (self.options.retries + 1) * len(self.credentials)
        check = asyncio.create_task(port_unreachable(host, port, wait))
        asking = asyncio.create_task(self._ask(result))
        done, _ = await asyncio.wait({check, asking}, return_when=asyncio.FIRST_COMPLETED)
        if check in done and check.result() and not asking.done():
            asking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asking
            result.outcome, result.detail = "no_answer", "port unreachable"
            return result
        await asking
        check.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await check
        return result

    async def _ask(self, result: AddressResult) -> None:
        """Each credential in turn, until one answers; the outcome goes into `result`."""
        host, port = result.host, result.port
        refused_before = _refused(host, port)
        auth_refusals: list[str] = []
        errors: list[str] = []
        for i, named in enumerate(self.credentials):
            client = self._client(host, port, named.credentials)
            try:
                if i:
                    await self.rate.wait()
                got = await self._identity(client)
                result.outcome, result.credential = "found", named.name
                await self._describe(result, client, got)
                break
            except SnmpTimeout:
                continue
            except SnmpAuthError as exc:
                auth_refusals.append(f"{named.name}: {exc}")
            except SnmpError as exc:
                errors.append(f"{named.name}: {exc.reason}: {exc}")
                self.refused["bad_answer"] += 1
            except Exception as exc:  # a defect in an engine: this address's, not the sweep's
                errors.append(f"{named.name}: internal error: {type(exc).__name__}: {exc}")
            finally:
                await client.close()
        if result.outcome == "found":
            return
        after = _refused(host, port)
        refusals = {k: n - refused_before.get(k, 0) for k, n in after.items()
                    if n > refused_before.get(k, 0)}
        # an SNMPv3 agent that does not take our user or key says so in a Report our
        # engine refuses (unauthenticated, or failing its checks): not garbage
        for reason in V3_REFUSALS:
            if refusals.pop(reason, 0):
                auth_refusals.append(f"SNMPv3 {reason.replace('_', ' ')}")
        garbage = sum(refusals.values())
        if errors or garbage:
            result.outcome = "bad_answer"
            parts = []
            if garbage:
                self.refused["undecodable_datagram"] += garbage
                parts.append(f"{garbage} datagram(s) refused (not an SNMP answer to our "
                             f"request)")
            result.detail = "; ".join([*parts, *errors])
        elif auth_refusals:
            result.outcome = "refused"
            result.detail = "answers SNMPv3 but refuses our credentials: " + \
                "; ".join(dict.fromkeys(auth_refusals))

    async def _identity(self, client: SnmpClient) -> dict[str, Value]:
        try:
            return await client.get(IDENTITY)
        except SnmpResponseError:
            # an agent that will not take three OIDs in one PDU still answers one
            return await client.get([SYS_OBJECT_ID])

    async def _describe(self, result: AddressResult, client: SnmpClient,
                        got: Mapping[str, Value]) -> None:
        problems = result.problems
        oid = got.get(SYS_OBJECT_ID)
        if isinstance(oid, str) and _OID.match(oid):
            result.sys_object_id = oid
        elif oid is None or isinstance(oid, Missing):
            problems.append("no sysObjectID")
        else:
            problems.append(f"sysObjectID is not an OBJECT IDENTIFIER ({_show(oid)})")
            self.refused["bad_sys_object_id"] += 1
        result.sys_name = _text(got.get(SYS_NAME), MAX_NAME, "sysName", problems,
                                self.refused)
        result.sys_descr = _text(got.get(SYS_DESCR), MAX_DESCR, "sysDescr", problems,
                                 self.refused)
        result.vendor = vendor(result.sys_object_id)
        answers: dict[str, Value] = {}
        for start in range(0, len(self.detect), DETECT_BATCH):
            batch = self.detect[start:start + DETECT_BATCH]
            try:
                await self.rate.wait()
                answers.update(await client.get(batch))
            except SnmpError as exc:
                problems.append(f"detect OIDs unreadable ({exc.reason}): auto chooses by "
                                f"sysObjectID alone")
                break
        choice = choose_auto(result.sys_object_id, answers, self.options.profile_dirs)
        result.profiles, result.reasons = choice.profiles, choice.reasons
        result.configured = self.configured.match(result.host, result.port)
        if result.configured is None and result.sys_name:
            same = self.configured.by_name.get(result.sys_name.casefold())
            if same is not None:
                problems.append(f"sysName {result.sys_name!r} is the name of configured "
                                f"device {same!r} at another address")
        result.detail = "answers"


def _show(value: Value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refused(host: str, port: int) -> dict[str, int]:
    try:
        return transport.refused_from(host, port)
    except RuntimeError:  # no running loop: nothing to count
        return {}
