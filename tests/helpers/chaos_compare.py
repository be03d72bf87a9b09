"""The chaos harness's verdict: the store (and the pages received) against the script.

`compare(observed)` takes what the harness played (each fault with the wall-clock times it
was injected and cleared, the blind spans after each kill) and what it found (transitions,
outages, exposure, alerts, trap events from the store; pages from the webhook receiver),
and answers one `Check` per fault and check, plus site-wide checks:

* every scripted transition is in the store exactly once (entering the fault's condition,
  and leaving it), at the time of the script within one poll interval;
* outages (device and load) and exposure: one row per fault, each edge within one poll
  interval of the script, and so the duration;
* every alert the fault should raise fired once, was paged at least once, resolved, and
  its resolution paged; no incident paged twice (two firing pages with different
  idempotency keys: two leaders at once, or a restart paging again);
* the traps the simulated device sent are in the store once each;
* nothing unscripted: no status left a healthy device but the script's faults, no alert
  left firing.

An edge that fell while no instance was watching (a kill, until the instance that took over
had polled every device) cannot be seen on time: its tolerance runs to the end of that blind
span plus one interval, and a trap sent then may be lost (UDP to a dead process), which the
table says rather than hides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.helpers.chaos_script import Fault, Script

# how much earlier than the harness's clock an edge may be recorded: a poll is dated by its
# start, and one that started just before the fault file was replaced may still read the
# new value (the simulator re-reads the file every 50 ms) - or, for a silent agent coming
# back, get the answer to its retry (so up to timeout x retries more: _Clock.early)
EARLY = 0.3
# scheduling slack on a loaded machine beyond the one interval (the event loop of a busy
# instance runs a tick late); kept small so "within one poll interval" stays the claim
SLACK = 0.5
# a fault watched for less than this (seconds; the rest fell in blind spans) may leave no
# outage, exposure or alert: three polls, and the longest alert hold time of the script
UNSEEN = 5.0


@dataclass(frozen=True)
class Played:
    """A fault as the harness played it: wall-clock times of injection and clearing."""

    fault: Fault
    start: float
    end: float


@dataclass(frozen=True)
class Transition:
    ts: float
    kind: str
    subject: str
    old: str | None
    new: str
    conditions: frozenset[str]


@dataclass(frozen=True)
class Span:
    """An outage or exposure row."""

    kind: str
    subject: str
    start: float
    end: float | None


@dataclass(frozen=True)
class AlertRow:
    fingerprint: str
    name: str
    labels: dict[str, str]
    state: str
    active_since: float
    fired: float | None
    resolved: float | None


@dataclass(frozen=True)
class TrapRow:
    ts: float
    device: str | None
    trap_oid: str


@dataclass(frozen=True)
class Page:
    """One alert in one message the receiver got: who sent it (the receiver path of the
    member), when, firing or resolved, for which alert, with which idempotency key."""

    ts: float
    member: str
    status: str
    fingerprint: str
    name: str
    starts_at: str
    key: str


@dataclass
class Observed:
    script: Script
    t0: float  # wall-clock time of the script's second 0
    played: list[Played]
    blind: list[tuple[float, float]]  # kill -> the taking-over instance has polled all
    transitions: list[Transition]
    outages: list[Span]
    exposures: list[Span]
    alerts: list[AlertRow]
    traps: list[TrapRow]
    pages: list[Page]
    kills: list[float] = field(default_factory=list)  # wall-clock times of the kills


@dataclass(frozen=True)
class Check:
    fault: str  # "#3 battery ups-a" or "site"
    check: str
    expected: str
    found: str
    ok: bool


@dataclass
class Result:
    checks: list[Check]
    summary: str
    observed: Observed | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def table(self) -> str:
        return render(self.checks) + "\n" + self.summary


class _Clock:
    """Edge tolerances: one poll interval late (plus SLACK), EARLY early; an edge in a
    blind span may be as late as its end plus one interval."""

    def __init__(self, observed: Observed) -> None:
        script = observed.script
        self.t0 = observed.t0
        self.interval = script.interval
        self.early = EARLY + script.timeout * script.retries
        self.blind = sorted(observed.blind)

    def in_blind(self, ts: float) -> tuple[float, float] | None:
        for start, end in self.blind:
            # a poll that started just before the kill never finished
            if start - self.interval - SLACK <= ts <= end:
                return start, end
        return None

    def latest(self, ts: float) -> float:
        span = self.in_blind(ts)
        base = max(ts, span[1]) if span else ts
        return base + self.interval + SLACK

    def window(self, ts: float) -> tuple[float, float]:
        """Where an edge at `ts` may be recorded. In a blind span, anywhere in it: the
        instance starting up dates its first polls by their start, and its loop runs late
        while it loads (seconds, on a loaded machine)."""
        span = self.in_blind(ts)
        return (span[0] if span else ts) - self.early, self.latest(ts)

    def watched(self, start: float, end: float) -> float:
        """Seconds of [start, end] that some instance was watching."""
        seen = end - start
        for b_start, b_end in self.blind:
            seen -= max(0.0, min(end, b_end) - max(start, b_start))
        return seen

    def rel(self, ts: float | None) -> str:
        return "-" if ts is None else f"{ts - self.t0:.2f} s"

    def edge(self, ts: float) -> str:
        lo, hi = self.window(ts)
        blind = " (blind)" if self.in_blind(ts) else ""
        return f"{self.rel(ts)} (+{hi - ts:.1f}/-{ts - lo:.1f}){blind}"

    def found(self, want: float, got: float | None) -> str:
        if got is None:
            return "none"
        return f"{self.rel(got)} ({got - want:+.2f})"


def _entries(rows: Sequence[Transition], condition: str) -> tuple[list[float], list[float]]:
    """When a subject's chain of recorded statuses took `condition` on, and took it off.
    A row after a restart (old None) that repeats what the subject already had is neither."""
    on: list[float] = []
    off: list[float] = []
    had = False
    for row in rows:
        has = condition in row.conditions
        if has and not had:
            on.append(row.ts)
        elif had and not has:
            off.append(row.ts)
        had = has
    return on, off


def _within(times: Iterable[float], lo: float, hi: float) -> list[float]:
    return [t for t in times if lo <= t <= hi]


def compare(observed: Observed) -> Result:
    clock = _Clock(observed)
    checks: list[Check] = []
    chains: dict[tuple[str, str], list[Transition]] = {}
    for row in sorted(observed.transitions, key=lambda r: r.ts):
        chains.setdefault((row.kind, row.subject), []).append(row)
    for played in observed.played:
        checks.extend(_fault_checks(played, observed, chains, clock))
    checks.extend(_site_checks(observed, chains, clock))
    interval = observed.script.interval
    summary = (f"{observed.script.describe()}; {len(observed.kills)} kills played, blind "
               f"{sum(e - s for s, e in observed.blind):.1f} s in all; "
               f"tolerance: one poll interval ({interval:g} s) + {SLACK} s late, "
               f"{clock.early:g} s early; {sum(c.ok for c in checks)}/{len(checks)} checks "
               f"pass")
    return Result(checks, summary, observed)


def _fault_checks(played: Played, observed: Observed,
                  chains: dict[tuple[str, str], list[Transition]], clock: _Clock
                  ) -> list[Check]:
    fault = played.fault
    kind = fault.kind
    label = f"{fault.label()} {clock.rel(played.start)}..{clock.rel(played.end)}"
    out: list[Check] = []
    lo, hi = played.start - clock.early, clock.latest(played.end)

    def edge_check(what: str, want: float, times: list[float]) -> None:
        w_lo, w_hi = clock.window(want)
        got = times[0] if len(times) == 1 else None
        ok = len(times) == 1 and w_lo <= times[0] <= w_hi
        found = clock.found(want, got) if len(times) <= 1 else \
            f"{len(times)} times: " + ", ".join(clock.rel(t) for t in times)
        out.append(Check(label, what, f"once at {clock.edge(want)}", found, ok))

    # the transitions into the condition and out of it, exactly once each
    on, off = _entries(chains.get(fault.subject, []), kind.condition)
    subject = fault.subject[1]
    edge_check(f"{subject} takes {kind.condition}", played.start, _within(on, lo, hi))
    edge_check(f"{subject} drops {kind.condition}", played.end,
               _within(off, played.start, hi + clock.interval))

    spans: list[tuple[str, list[Span]]] = []
    if kind.outage:
        spans.append(("device outage", [s for s in observed.outages
                                        if s.kind == "device" and s.subject == fault.device]))
    if kind.load:
        spans.append((f"load outage {kind.load}", [
            s for s in observed.outages if s.kind == "load" and s.subject == kind.load]))
    if kind.exposure:
        spans.append((f"exposure {kind.exposure}", [
            s for s in observed.exposures
            if s.kind == kind.exposure and s.subject == fault.device]))
    watched = clock.watched(played.start, played.end)
    unseen = watched < UNSEEN
    for what, rows in spans:
        overlapping = [s for s in rows if s.start <= hi and (s.end is None or s.end >= lo)]
        if unseen and not overlapping:
            out.append(Check(label, what, "none, or 1 row", f"none: only {watched:.1f} s "
                             f"of it watched", True))
            continue
        out.append(_span_check(label, what, played, overlapping, clock))

    for name in kind.alerts:
        out.extend(_alert_checks(label, name, played, observed, clock, lo, hi,
                                 watched if unseen else None))

    for oid in fault.traps(cleared=False):
        out.append(_trap_check(label, oid, played.start, fault.device, observed, clock))
    for oid in fault.traps(cleared=True):
        out.append(_trap_check(label, oid, played.end, fault.device, observed, clock))
    return out


def _span_check(label: str, what: str, played: Played, rows: list[Span], clock: _Clock
                ) -> Check:
    want = played.end - played.start
    expected = (f"1 row {clock.rel(played.start)}..{clock.rel(played.end)} "
                f"({want:.1f} s)")
    if len(rows) != 1:
        found = f"{len(rows)} rows: " + ", ".join(
            f"{clock.rel(r.start)}..{clock.rel(r.end)}" for r in rows)
        return Check(label, what, expected, found, False)
    row = rows[0]
    s_lo, s_hi = clock.window(played.start)
    e_lo, e_hi = clock.window(played.end)
    ok = row.end is not None and s_lo <= row.start <= s_hi and e_lo <= row.end <= e_hi
    got = None if row.end is None else row.end - row.start
    found = (f"{clock.rel(row.start)}..{clock.rel(row.end)} "
             + ("(open)" if got is None else f"({got:.1f} s, {got - want:+.2f})"))
    return Check(label, what, expected, found, ok)


def _alert_checks(label: str, name: str, played: Played, observed: Observed,
                  clock: _Clock, lo: float, hi: float, unseen: float | None) -> list[Check]:
    device = played.fault.device
    incidents = [a for a in observed.alerts
                 if a.name == name and a.labels.get("device") == device
                 and a.fired is not None and lo <= a.active_since <= hi]
    out: list[Check] = []
    if unseen is not None and not incidents:
        return [Check(label, f"{name} fires once", "none, or 1 incident",
                      f"none: only {unseen:.1f} s of it watched", True)]
    if len(incidents) != 1:
        found = f"{len(incidents)} incidents" + (": " + ", ".join(
            f"fired {clock.rel(a.fired)}" for a in incidents) if incidents else "")
        out.append(Check(label, f"{name} fires once", "1 incident", found, False))
        return out
    alert = incidents[0]
    resolved_ok = alert.resolved is not None and alert.resolved >= played.end - clock.early
    out.append(Check(label, f"{name} fires once, resolves",
                     f"fired after {clock.rel(played.start)}, resolved after "
                     f"{clock.rel(played.end)}",
                     f"fired {clock.rel(alert.fired)}, resolved {clock.rel(alert.resolved)}",
                     resolved_ok))
    out.append(_page_check(label, name, alert, observed.pages))
    return out


def _page_check(label: str, name: str, alert: AlertRow, pages: Sequence[Page]) -> Check:
    # a page belongs to an incident by its alert's fingerprint and startsAt (the time it
    # fired, as the message says it to the millisecond): the same alert firing again later
    # is another incident
    mine = [p for p in pages if p.fingerprint == alert.fingerprint
            and alert.fired is not None and abs(_epoch(p.starts_at) - alert.fired) < 0.002]
    firing = [p for p in mine if p.status == "firing"]
    resolved = [p for p in mine if p.status == "resolved"]
    keys = {p.key for p in firing}
    members = sorted({p.member for p in firing})
    ok = len(keys) == 1 and len(resolved) >= 1
    found = (f"{len(firing)} firing ({len(keys)} distinct, from {', '.join(members) or '-'}), "
             f"{len(resolved)} resolved")
    return Check(label, f"{name} paged", "paged once (retries keep their key), resolved "
                 "paged", found, ok)


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("nan")


def _trap_check(label: str, oid: str, want: float, device: str, observed: Observed,
                clock: _Clock) -> Check:
    lo, hi = want - EARLY, clock.latest(want) + 1.0  # the simulator sends within 0.1 s
    got = [t for t in observed.traps if t.device == device and t.trap_oid.strip(".") == oid
           and lo <= t.ts <= hi]
    blind = clock.in_blind(want) is not None
    ok = len(got) == 1 or (blind and len(got) == 0)
    expected = "once" + (" (or lost: sent while no instance listened)" if blind else "")
    found = f"{len(got)}" + (f" at {clock.rel(got[0].ts)}" if got else "")
    return Check(label, f"trap {oid}", expected, found, ok)


def _site_checks(observed: Observed, chains: dict[tuple[str, str], list[Transition]],
                 clock: _Clock) -> list[Check]:
    out: list[Check] = []
    # statuses that left healthy with no scripted fault to explain them
    explained: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for played in observed.played:
        explained.setdefault(played.fault.subject, []).append(
            (played.start - clock.early, clock.latest(played.end) + clock.interval))
    stray: list[str] = []
    for (kind, subject), rows in chains.items():
        if kind != "device" and (kind, subject) not in explained:
            continue
        spans = explained.get((kind, subject), [])
        if kind == "component":  # a silent agent takes all its components to unknown
            spans = spans + explained.get(("device", subject.split("/", 1)[0]), [])
        previous: Transition | None = None
        for row in rows:
            moved = previous is None or (row.new, row.conditions) != (previous.new,
                                                                     previous.conditions)
            first = previous is None and row.new == "ok"
            previous = row
            if not moved or first or row.ts < observed.t0:
                continue
            if row.new == "ok" and any(lo <= row.ts <= hi for lo, hi in spans):
                continue
            if not any(lo <= row.ts <= hi for lo, hi in spans):
                if row.new == "ok" and row.old is None:
                    continue  # the first status seen after a restart, healthy
                stray.append(f"{subject} {row.old}->{row.new} {sorted(row.conditions)} at "
                             f"{clock.rel(row.ts)}")
    out.append(Check("site", "no unscripted status changes", "none",
                     "none" if not stray else f"{len(stray)}: " + "; ".join(stray[:6]),
                     not stray))
    unresolved = [a for a in observed.alerts if a.state != "resolved"]
    out.append(Check("site", "every alert resolved at the end", "0 pending or firing",
                     "0" if not unresolved else f"{len(unresolved)}: " + ", ".join(
                         f"{a.name}{{device={a.labels.get('device', '')}}} {a.state}"
                         for a in unresolved[:6]),
                     not unresolved))
    problems: list[str] = []
    for alert in observed.alerts:
        if alert.fired is None:
            continue
        check = _page_check("site", alert.name, alert, observed.pages)
        if not check.ok:
            problems.append(f"{alert.name}{{device={alert.labels.get('device', '')}}}: "
                            f"{check.found}")
    out.append(Check("site", "every fired alert paged once and resolved",
                     f"{sum(a.fired is not None for a in observed.alerts)} alerts",
                     "all" if not problems else "; ".join(problems[:6]), not problems))
    return out


def render(checks: Sequence[Check]) -> str:
    header = ("fault", "check", "expected", "found", "result")
    rows = [header] + [(c.fault, c.check, c.expected, c.found, "pass" if c.ok else "FAIL")
                       for c in checks]
    widths = [min(max(len(r[i]) for r in rows), limit)
              for i, limit in enumerate((44, 40, 52, 60, 6))]

    def cut(text: str, width: int) -> str:
        return text if len(text) <= width else text[:width - 1] + "…"

    lines = []
    for i, row in enumerate(rows):
        cells = (cut(v, w).ljust(w) for v, w in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def transition_from_row(row: Any) -> Transition:
    return Transition(float(row.ts), row.kind, row.subject, row.old, row.new,
                      frozenset(json.loads(row.conditions or "[]")))
