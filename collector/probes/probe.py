"""Reachability of the dedicated network's links and agency sites, probed from the data center.

A probe target (a link, an agency site) is a device in tierwatch's state. It has checks,
each an ICMP echo or a TCP connect, and each check keeps a sliding window of its last N
attempts: loss ratio, mean round-trip time and jitter (mean absolute difference of
successive round-trip times, RFC 3550's D without its smoothing) come from that window.

`probe_round()` makes one attempt per check and returns the target's `PollResult`:

* every check gets a component, named by the check ("icmp 198.18.1.2", "tcp 10.0.0.1:22");
  `judge()` gives it ok / degraded (losses, slow, jittery) / failed (refused, or no answer
  for `fail_after` attempts);
* a round in which nothing answered is a failed poll (reason: timeout, unreachable, ...),
  so the state's unreachable-after-N rule applies to a site exactly as to an SNMP device;
* a site can also fold in its edge router's uplink interfaces, as the SNMP poller sees
  them (`uplink_components()`).

A TCP "connection refused" is an answer: the host is reachable, the service is not.
"""

from __future__ import annotations

import asyncio
import errno
import math
import socket
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from collector.probes.icmp import UNREACHABLE_ERRNOS, IcmpSocket, ProbeFailure, is_ipv4
from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status

ANSWERED = frozenset({"ok", "refused"})

METADATA: dict[str, MetricMeta] = {
    "probe_success": MetricMeta("gauge", "1 when the check's last attempt succeeded"),
    "probe_rtt_seconds": MetricMeta(
        "gauge", "Round-trip time of the check's last answered attempt (echo reply, "
        "TCP handshake)"),
    "probe_rtt_mean_seconds": MetricMeta(
        "gauge", "Mean round-trip time over the check's window of attempts"),
    "probe_jitter_seconds": MetricMeta(
        "gauge", "Mean absolute difference of successive round-trip times over the window"),
    "probe_loss_ratio": MetricMeta(
        "gauge", "Share of the window's attempts that got no answer, 0 to 1"),
    "probe_window_attempts": MetricMeta(
        "gauge", "Attempts in the check's window (loss and jitter are over these)"),
}


@dataclass(frozen=True)
class Check:
    name: str  # the component name
    method: Literal["icmp", "tcp"]
    host: str
    port: int | None = None
    timeout: float = 1.0
    rollup: bool = True  # whether a failing check counts toward its target's status

    @property
    def target(self) -> str:
        if self.port is None:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: str  # ok | refused | timeout | unreachable | dns | error | icmp_unavailable
    rtt: float | None = None
    message: str = ""

    @property
    def answered(self) -> bool:
        return self.outcome in ANSWERED


@dataclass(frozen=True)
class Thresholds:
    """When a check that answers is still not ok."""

    loss: float = 0.2  # share of the window lost -> degraded
    rtt: float | None = None  # mean RTT above this -> degraded
    jitter: float | None = None  # jitter above this -> degraded
    fail_after: int = 3  # this many unanswered attempts in a row -> failed


class Window:
    """The last N attempts of one check."""

    def __init__(self, size: int) -> None:
        self.attempts: deque[Attempt] = deque(maxlen=size)

    def add(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    @property
    def last(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def loss(self) -> float:
        if not self.attempts:
            return 0.0
        return sum(not a.answered for a in self.attempts) / len(self.attempts)

    def rtts(self) -> list[float]:
        return [a.rtt for a in self.attempts if a.answered and a.rtt is not None]

    @property
    def rtt_mean(self) -> float | None:
        rtts = self.rtts()
        return math.fsum(rtts) / len(rtts) if rtts else None

    @property
    def jitter(self) -> float | None:
        rtts = self.rtts()
        if len(rtts) < 2:
            return None
        return math.fsum(abs(b - a) for a, b in pairwise(rtts)) / (
            len(rtts) - 1)

    @property
    def unanswered_in_a_row(self) -> int:
        count = 0
        for attempt in reversed(self.attempts):
            if attempt.answered:
                break
            count += 1
        return count


def judge(check: Check, window: Window, limits: Thresholds) -> ComponentStatus:
    """The check's status from its window."""
    last = window.last
    if last is None:
        return ComponentStatus(check.name, Status.UNKNOWN, "not probed yet", rollup=check.rollup)
    if last.outcome == "refused":
        return ComponentStatus(check.name, Status.FAILED,
                               f"{check.target}: connection refused (port closed)",
                               frozenset({"port_closed"}), check.rollup)
    lost = window.unanswered_in_a_row
    n = len(window.attempts)
    if lost >= limits.fail_after:
        return ComponentStatus(check.name, Status.FAILED,
                               f"{check.target}: no answer to the last {lost} attempts "
                               f"({last.message or last.outcome})",
                               frozenset({"no_reply"}), check.rollup)
    reasons: list[str] = []
    conditions: set[str] = set()
    if lost:
        reasons.append(f"no answer to the last {lost} attempt{'s' if lost > 1 else ''}")
        conditions.add("packet_loss")
    if window.loss >= limits.loss and window.loss > 0:
        reasons.append(f"{window.loss:.0%} lost over the last {n} attempts")
        conditions.add("packet_loss")
    mean = window.rtt_mean
    if limits.rtt is not None and mean is not None and mean > limits.rtt:
        reasons.append(f"round trip {mean * 1000:.1f} ms (limit {limits.rtt * 1000:g} ms)")
        conditions.add("slow")
    jitter = window.jitter
    if limits.jitter is not None and jitter is not None and jitter > limits.jitter:
        reasons.append(f"jitter {jitter * 1000:.1f} ms (limit {limits.jitter * 1000:g} ms)")
        conditions.add("jitter")
    if reasons:
        return ComponentStatus(check.name, Status.DEGRADED, f"{check.target}: "
                               + "; ".join(reasons), frozenset(conditions), check.rollup)
    return ComponentStatus(check.name, Status.OK, "", rollup=check.rollup)


class Prober:
    """Makes single attempts. One per process: it owns the shared ICMP socket."""

    def __init__(self, icmp: IcmpSocket | None, icmp_problem: str = "") -> None:
        self.icmp = icmp
        self.icmp_problem = icmp_problem or "ICMP probing is off"

    async def attempt(self, check: Check) -> Attempt:
        try:
            if check.method == "icmp":
                rtt = await self._echo(check)
            else:
                rtt = await tcp_connect(check.host, check.port or 0, check.timeout)
        except ProbeFailure as exc:
            return Attempt(exc.outcome, None, str(exc))
        except ConnectionRefusedError:
            return Attempt("refused", None, f"{check.target}: connection refused")
        return Attempt("ok", rtt)

    async def _echo(self, check: Check) -> float:
        if self.icmp is None:
            raise ProbeFailure("icmp_unavailable", self.icmp_problem)
        address = check.host
        if not is_ipv4(address):
            address = await resolve_ipv4(address)
        return await self.icmp.echo(address, check.timeout)

    def close(self) -> None:
        if self.icmp is not None:
            self.icmp.close()
            self.icmp = None


async def resolve_ipv4(host: str) -> str:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, family=socket.AF_INET)
    except OSError as exc:
        raise ProbeFailure("dns", f"{host}: cannot resolve: {exc.strerror or exc}") from None
    if not infos:
        raise ProbeFailure("dns", f"{host}: no IPv4 address")
    return str(infos[0][4][0])


async def tcp_connect(host: str, port: int, timeout: float) -> float:
    """Time to complete a TCP handshake; ConnectionRefusedError or ProbeFailure otherwise."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise ProbeFailure("timeout", f"{host}:{port}: no handshake within {timeout:g}s"
                           ) from None
    except ConnectionRefusedError:
        raise
    except socket.gaierror as exc:
        raise ProbeFailure("dns", f"{host}: cannot resolve: {exc.strerror or exc}") from None
    except OSError as exc:
        if exc.errno in UNREACHABLE_ERRNOS:
            raise ProbeFailure("unreachable", f"{host}:{port}: {exc.strerror}") from None
        if exc.errno == errno.ECONNRESET:  # a reset during the handshake: a closed port
            raise ConnectionRefusedError from None
        raise ProbeFailure("error", f"{host}:{port}: {exc.strerror or exc}") from None
    rtt = time.perf_counter() - started
    writer.close()  # the handshake was the probe; no need to wait for the close
    return rtt


@dataclass
class ProbeTarget:
    """A link or a site: its checks and their windows. The windows are its only state."""

    device: str
    checks: list[Check]
    base_labels: dict[str, str]
    limits: Thresholds = field(default_factory=Thresholds)
    window: int = 10
    windows: dict[str, Window] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for check in self.checks:
            self.windows.setdefault(check.name, Window(self.window))


async def probe_round(target: ProbeTarget, prober: Prober, now: float | None = None,
                      extra: Sequence[ComponentStatus] = ()) -> PollResult:
    """One attempt per check, at once; the target's samples and statuses."""
    ts = time.time() if now is None else now
    started = time.perf_counter()
    attempts = await asyncio.gather(*(prober.attempt(c) for c in target.checks))
    result = PollResult(target.device, ts, metadata=METADATA)
    for check, attempt in zip(target.checks, attempts, strict=True):
        window = target.windows[check.name]
        window.add(attempt)
        result.samples.extend(_samples(target, check, window, ts))
        result.components.append(judge(check, window, target.limits))
    result.components.extend(extra)
    if attempts and not any(a.answered for a in attempts):
        outcome, _count = Counter(a.outcome for a in attempts).most_common(1)[0]
        result.error = outcome
        result.message = "; ".join(dict.fromkeys(
            a.message or a.outcome for a in attempts))[:500]
    result.duration = time.perf_counter() - started
    return result


def _samples(target: ProbeTarget, check: Check, window: Window, ts: float) -> list[Sample]:
    labels = {**target.base_labels, "check": check.name, "method": check.method,
              "target": check.target}
    last = window.last
    assert last is not None
    out = [Sample("probe_success", labels, 1.0 if last.outcome == "ok" else 0.0, ts),
           Sample("probe_loss_ratio", labels, window.loss, ts),
           Sample("probe_window_attempts", labels, float(len(window.attempts)), ts)]
    if last.answered and last.rtt is not None:
        out.append(Sample("probe_rtt_seconds", labels, last.rtt, ts))
    if (mean := window.rtt_mean) is not None:
        out.append(Sample("probe_rtt_mean_seconds", labels, mean, ts))
    if (jitter := window.jitter) is not None:
        out.append(Sample("probe_jitter_seconds", labels, jitter, ts))
    return out


def uplink_components(router: str, uplinks: Iterable[str],
                      statuses: Mapping[tuple[str, str], ComponentStatus],
                      router_reachable: bool | None) -> list[ComponentStatus]:
    """A site's view of its edge router's uplink interfaces, as the SNMP poller sees them.

    An uplink the router reports down makes the site degraded (it still has the others);
    every uplink down makes it failed. What the router cannot tell (router unreachable,
    interface unknown) does not count against the site: its probes speak for it then.
    """
    names = list(uplinks)
    out: list[ComponentStatus] = []
    down = 0
    for name in names:
        comp = f"uplink {name}"
        seen = statuses.get((router, name))
        if router_reachable is not True or seen is None or seen.status == Status.UNKNOWN:
            why = "router unreachable" if router_reachable is False else (
                "not reported by the router" if seen is None else seen.reason or "unknown")
            out.append(ComponentStatus(comp, Status.UNKNOWN, f"{router} {name}: {why}",
                                       rollup=False))
        elif seen.status == Status.FAILED:
            down += 1
            out.append(ComponentStatus(comp, Status.DEGRADED,
                                       f"{router} reports {name} down: {seen.reason}",
                                       frozenset({"uplink_down"})))
        else:
            out.append(ComponentStatus(comp, seen.status, seen.reason, seen.conditions))
    if names and down == len(names):
        out = [ComponentStatus(c.component, Status.FAILED,
                               f"{c.reason} (every uplink of {router} is down)",
                               c.conditions | {"no_uplink"}) for c in out]
    return out

