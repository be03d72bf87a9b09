"""Alert evaluation: a pure function of rules, live series and time.

`evaluate(rules, source, now, previous)` walks each rule's instances through

    inactive -> pending (the condition holds, for less than `for`) -> firing -> resolved

exactly as Prometheus' alerting rules do; an alert is its label set (the rule's labels over
the series' labels, plus alertname), so the same labels from two evaluations, or from two
rules, are one alert. `inhibited()` applies Alertmanager's inhibition semantics; `decide()`
says which notifications an alert is owed now (first page, repeat, escalation, resolved).
Nothing here reads a clock, a socket or the store: tests drive it with a fake `now`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from alerts import template
from alerts.matchers import match_all
from alerts.promql import EvalError, Source
from alerts.rules import InhibitRule, Rule
from alerts.series_history import LiveSource, View


class AlertState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    INACTIVE = "inactive"  # a pending alert whose condition went away before `for`


def fingerprint(labels: Mapping[str, str]) -> str:
    text = "\x00".join(f"{k}\x01{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One alert and what has been done about it. Frozen: every change is a new value."""

    fingerprint: str
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: AlertState
    value: float
    active_since: float
    fired_at: float | None = None
    resolved_at: float | None = None
    # bookkeeping the notification policy reads (kept in the store across restarts)
    id: int | None = None
    notified_at: float | None = None
    escalated_at: float | None = None
    muted: str | None = None  # maintenance:<id> | inhibited
    acked_at: float | None = None
    ack_until: float | None = None
    silence_id: str | None = None

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def acked(self, now: float) -> bool:
        return self.acked_at is not None and (self.ack_until is None or now < self.ack_until)


@dataclass(frozen=True)
class Transition:
    alert: Alert
    old: AlertState | None  # None: a new alert
    new: AlertState


@dataclass
class Evaluation:
    active: dict[str, Alert] = field(default_factory=dict)  # pending and firing, by fingerprint
    transitions: list[Transition] = field(default_factory=list)
    errors: list[tuple[Rule, str]] = field(default_factory=list)  # rules that could not run


def alert_labels(series: Mapping[str, str], rule: Rule) -> dict[str, str]:
    """The series' labels, the rule's over them (an empty one removes the label, as in
    Prometheus), and alertname."""
    labels = {**series, **rule.labels, "alertname": rule.name}
    return {k: v for k, v in labels.items() if v != ""}


def evaluate(rules: Sequence[Rule], source: Source | View, now: float,
             previous: Mapping[str, Alert],
             hold: Callable[[Alert], bool] | None = None) -> Evaluation:
    """`source`: the series as of `now` (a plain view: no range functions' history).

    `hold(alert)`: the alert's series are missing for want of sight, not because the
    condition ended (its device is unreachable, or not polled yet since a restart): keep it
    as it is rather than resolve it.

    A rule whose evaluation fails (what Prometheus refuses too: many-to-many matching, one
    label set twice) keeps its alerts as they were, as Prometheus does, and is listed in
    `errors`."""
    src: Source = LiveSource(source, now) if isinstance(source, Mapping) else source
    result = Evaluation()
    failed: set[str] = set()
    for rule in rules:
        try:
            series = rule.expr.eval(src)
        except EvalError as exc:
            result.errors.append((rule, str(exc)))
            failed.add(rule.name)
            continue
        for inst in series:
            labels = alert_labels(inst.labels, rule)
            fp = fingerprint(labels)
            if fp in result.active:
                continue  # the same labels from another series or rule: one alert
            annotations = {k: template.render(v, labels, inst.value)
                           for k, v in rule.annotations.items()}
            prev = previous.get(fp)
            if prev is None:
                state = AlertState.FIRING if rule.for_ <= 0 else AlertState.PENDING
                alert = Alert(fp, rule.name, labels, annotations, state, inst.value, now,
                              fired_at=now if state == AlertState.FIRING else None)
                result.transitions.append(Transition(alert, None, state))
            else:
                firing = (prev.state == AlertState.FIRING
                          or now - prev.active_since >= rule.for_)
                state = AlertState.FIRING if firing else AlertState.PENDING
                alert = replace(prev, labels=labels, annotations=annotations, state=state,
                                value=inst.value,
                                fired_at=prev.fired_at if prev.fired_at is not None
                                else (now if firing else None))
                if state != prev.state:
                    result.transitions.append(Transition(alert, prev.state, state))
            result.active[fp] = alert
    for fp, prev in previous.items():
        if fp in result.active:
            continue
        if prev.name in failed or (hold is not None and hold(prev)):
            result.active[fp] = prev
            continue
        if prev.state == AlertState.FIRING:
            gone = replace(prev, state=AlertState.RESOLVED, resolved_at=now)
            result.transitions.append(Transition(gone, AlertState.FIRING, AlertState.RESOLVED))
        else:
            gone = replace(prev, state=AlertState.INACTIVE)
            result.transitions.append(Transition(gone, prev.state, AlertState.INACTIVE))
    return result


def inhibited(alerts: Iterable[Alert], rules: Sequence[InhibitRule]) -> dict[str, str]:
    """Target fingerprint -> the firing source fingerprint that inhibits it.

    Alertmanager's rule: a firing alert matching a rule's source matchers mutes alerts that
    match its target matchers and have equal values for the `equal` labels; an alert that
    matches both sides cannot be muted by another that does too (nor by itself).
    """
    pool = list(alerts)
    out: dict[str, str] = {}
    for rule in rules:
        sources = [a for a in pool
                   if a.state == AlertState.FIRING and match_all(rule.source, a.labels)]
        if not sources:
            continue
        for target in pool:
            if target.fingerprint in out or not match_all(rule.target, target.labels):
                continue
            target_both = match_all(rule.source, target.labels)
            for source in sources:
                if source.fingerprint == target.fingerprint:
                    continue
                if target_both and match_all(rule.target, source.labels):
                    continue
                if all(source.labels.get(n, "") == target.labels.get(n, "")
                       for n in rule.equal):
                    out[target.fingerprint] = source.fingerprint
                    break
    return out


# --------------------------------------------------------------------------- notifications


class Notice(StrEnum):
    FIRING = "firing"  # first page
    REPEAT = "repeat"  # still firing, nobody acknowledged it (direct delivery only)
    ESCALATION = "escalation"  # critical, unacknowledged after the delay: second receiver
    RESOLVED = "resolved"  # over; sent only for alerts someone was paged about
    ESCALATION_RESOLVED = "escalation_resolved"


@dataclass(frozen=True)
class Policy:
    repeat_every: float | None = 4 * 3600.0  # None: the receiver repeats (Alertmanager)
    escalate_after: float | None = None
    escalate_severities: frozenset[str] = frozenset({"critical"})


def decide(alert: Alert, now: float, policy: Policy) -> list[Notice]:
    """What `alert` is owed now. The caller records what it queued (notified_at ...)."""
    if alert.state == AlertState.RESOLVED:
        out = []
        if alert.notified_at is not None:
            out.append(Notice.RESOLVED)
        if alert.escalated_at is not None:
            out.append(Notice.ESCALATION_RESOLVED)
        return out
    if alert.state != AlertState.FIRING or alert.muted:
        return []
    if alert.notified_at is None:
        return [Notice.FIRING]
    out = []
    acked = alert.acked(now)
    if (not acked and policy.repeat_every is not None
            and now - alert.notified_at >= policy.repeat_every):
        out.append(Notice.REPEAT)
    if (not acked and alert.escalated_at is None and policy.escalate_after is not None
            and alert.severity in policy.escalate_severities
            and now - alert.notified_at >= policy.escalate_after):
        out.append(Notice.ESCALATION)
    return out
