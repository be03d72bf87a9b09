"""The alerting part of a running tierwatch: evaluate, remember, notify, silence.

Every `evaluate_every` (and at once after a status change, so a trap pages within seconds)
the component evaluates the built-in rules on the live series, applies inhibition and
maintenance windows, and commits in ONE transaction: the alerts' new states, their history
events, and the notifications they are owed (into the outbox). An alert about a device that
cannot be seen (unreachable, or not polled since a restart) is held, not resolved: losing
sight of a UPS on battery is not the UPS coming back on mains (DeviceUnreachable says so).
The outbox worker delivers the notifications. Acknowledgements and windows are read from
the store on each evaluation, so the CLI and the API act on a running tierwatch through the
store alone.

With Alertmanager configured, notifications go there (firing alerts re-sent every
`resend_every`), an escalation is an `escalated="true"` copy, and acknowledgements and
maintenance windows become Alertmanager silences.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import Metric

from alerts.aio import wait_event
from alerts.config import AlertsConfig
from alerts.engine import (
    Alert,
    AlertState,
    Notice,
    Policy,
    decide,
    evaluate,
    inhibited,
)
from alerts.matchers import Matcher, match_all, parse_all
from alerts.notify import (
    AlertmanagerClient,
    DeliveryError,
    EmailSender,
    WebhookSender,
    alertmanager_alert,
    email_message,
    webhook_message,
)
from alerts.outbox import Deliver, Outbox, OutboxRow
from alerts.rules import RuleSet, load_rule_files
from alerts.series_history import SeriesHistory
from alerts.silences import silence_matchers
from alerts.view import (
    AlertsCollector,
    DeviceIdentity,
    build_view,
    device_identities,
    metric_family,
)
from tierwatch.core.maintenance import Window, covering
from tierwatch.core.maintenance import windows as maintenance_windows
from tierwatch.core.model import DeviceInfo, StatusChange
from tierwatch.core.store import Store
from tierwatch.core.store import alerting as tables
from tierwatch.core.store.alerting import AlertWriter

if TYPE_CHECKING:
    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

ESCALATION_NOTICES = (Notice.ESCALATION, Notice.ESCALATION_RESOLVED)
SILENCE_HORIZON = 24 * 3600.0  # maintenance silences are made this far ahead


def _alert_from_row(row: Any) -> Alert:
    return Alert(
        fingerprint=row.fingerprint, name=row.alertname, labels=json.loads(row.labels),
        annotations=json.loads(row.annotations), state=AlertState(row.state),
        value=row.value if row.value is not None else 0.0, active_since=row.active_since,
        fired_at=row.fired_ts, resolved_at=row.resolved_ts, id=row.id,
        notified_at=row.notified_ts, escalated_at=row.escalated_ts, muted=row.muted,
        acked_at=row.acked_ts, ack_until=row.ack_until, silence_id=row.silence_id)


class AlertsComponent:
    """The built-in alert engine. `devices` lists every device (for `tierwatch_device_info`
    and the subsystem an alert is routed by); `warm_after` is how long after start the
    first evaluation may run even if the first round of polls is not done (the longest poll
    interval); `profile_dirs` are where rule files find device profiles' metric names."""

    def __init__(self, config: AlertsConfig, *,
                 devices: Callable[[], Iterable[DeviceInfo]] = list,
                 warm_after: float = 0.0, profile_dirs: Sequence[Path] = (),
                 ruleset: RuleSet | None = None) -> None:
        self.config = config
        self.ruleset = ruleset
        self.devices = devices
        self.warm_after = warm_after
        self.profile_dirs = profile_dirs
        self.rt: Runtime | None = None
        self.store: Store | None = None
        self.active: dict[str, Alert] = {}
        self.windows: list[Window] = []
        self._known_subsystems: dict[str, str] = {}
        self._answered_before: dict[str, float] = {}  # device -> last answer before start
        esc = config.escalation
        self.policy = Policy(
            repeat_every=None if config.alertmanager else config.repeat_every,
            escalate_after=esc.after if esc else None,
            escalate_severities=frozenset(esc.severities) if esc else frozenset())
        self.routes = [(parse_all(r.matchers), r.receiver) for r in config.routes]
        self.am: AlertmanagerClient | None = None
        self.webhook: WebhookSender | None = None
        self.email: EmailSender | None = None
        self.outbox: Outbox | None = None
        self.history: SeriesHistory | None = None  # what range functions read (rate, *_over_time)
        self._trigger = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._warm = False
        self._last_silence_sync = 0.0
        self._window_signature: tuple[Any, ...] = ()
        # self-metrics
        self.evaluations = {"ok": 0, "error": 0}
        self.last_duration = 0.0
        self.tz = "Asia/Ho_Chi_Minh"

    # ------------------------------------------------------------------ lifetime

    async def start(self, rt: Runtime) -> None:
        self.attach(rt)
        assert self.outbox is not None
        self._tasks = [asyncio.create_task(self._evaluate_forever(), name="alerts-evaluate"),
                       asyncio.create_task(self.outbox.run(), name="alerts-outbox")]
        if self.am is not None:
            self._tasks.append(asyncio.create_task(self._resend_forever(), name="alerts-resend"))

    def attach(self, rt: Runtime, deliver: Deliver | None = None,
               clock: Callable[[], float] = time.time) -> None:
        """Everything start() does but the background tasks (tests drive `cycle` and the
        outbox themselves, with their own clock and delivery)."""
        self.rt = rt
        self.store = rt.store
        self.tz = rt.site.timezone
        if self.ruleset is None:
            self.ruleset = load_rule_files(self.config.rule_files, self.profile_dirs)
        for warning in self.ruleset.warnings:
            log.warning("alerts: %s", warning)
        self.history = SeriesHistory(self.ruleset.windows())
        self._started = clock()
        self.active = self._load_active()
        self._known_subsystems = self._subsystems_of(self.active)
        self._answered_before = {d.id: d.last_success_ts for d in rt.state.devices.values()
                                 if d.last_success_ts is not None}
        if self.config.alertmanager:
            self.am = AlertmanagerClient(self.config.alertmanager)
        if any(r.webhook for r in self.config.receivers):
            self.webhook = WebhookSender()
        if self.config.smtp is not None:
            self.email = EmailSender(self.config.smtp)
        assert self.store is not None
        self.outbox = Outbox(self.store, deliver or self._deliver, self.config.delivery, clock)
        rt.state.subscribe(self._on_changes)
        rt.metrics.register(AlertsCollector(rt.state, self.identities, self.metrics))
        if not (self.am or self.config.receivers):
            log.warning("alerts: no Alertmanager and no receivers configured; alerts are "
                        "evaluated and kept (tierwatch alerts list) but sent nowhere")
        log.info("alerts: %d built-in rules from %s, %d active alerts restored",
                 len(self.ruleset.rules), ", ".join(str(f) for f in self.ruleset.files),
                 len(self.active))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for client in (self.am, self.webhook):
            if client is not None:
                await client.close()

    def _load_active(self) -> dict[str, Alert]:
        assert self.store is not None
        return {row.fingerprint: _alert_from_row(row) for row in tables.active_alerts(self.store)}

    # ------------------------------------------------------------------ evaluation loop

    def identities(self) -> list[DeviceIdentity]:
        devices = list(self.devices())
        found = device_identities(devices, self.config.device_subsystems)
        if not self._known_subsystems:
            return found
        # a `profile: auto` device silent since the start has no profiles yet, so its
        # subsystem would read "other": it keeps the one its restored alerts carry, or the
        # alerts about it would change labels, fire again and page twice
        unresolved = {d.id for d in devices
                      if d.kind == "snmp" and not set(d.profiles) - {"auto"}}
        return [replace(i, subsystem=self._known_subsystems[i.id])
                if i.id in unresolved and i.id in self._known_subsystems else i
                for i in found]

    def _subsystems_of(self, active: dict[str, Alert]) -> dict[str, str]:
        """device -> subsystem, as restored alerts carry it from the device's identity
        (not from their rule's own `subsystem` label)."""
        assert self.ruleset is not None
        own = {r.name for r in self.ruleset.rules if "subsystem" in r.labels}
        return {a.labels["device"]: a.labels["subsystem"] for a in active.values()
                if a.name not in own and "device" in a.labels and "subsystem" in a.labels}

    def _on_changes(self, changes: list[StatusChange]) -> None:
        self._trigger.set()

    def trigger(self) -> None:
        """Evaluate now (an acknowledgement or a window was just written)."""
        self._trigger.set()

    def _is_warm(self, now: float) -> bool:
        """Wait for the first poll round: evaluating before it would resolve every alert
        restored from the store (their series are not there yet) and page them again."""
        if self._warm:
            return True
        assert self.rt is not None
        self._warm = self.rt.ready() or now - self._started > 2 * self.warm_after + 5
        return self._warm

    async def _evaluate_forever(self) -> None:
        while True:
            if await wait_event(self._trigger, self.config.evaluate_every):
                await asyncio.sleep(0.05)  # a burst of changes is one evaluation
            self._trigger.clear()
            now = time.time()
            if not self._is_warm(now):
                continue
            try:
                await self.cycle(now)
            except Exception:
                self.evaluations["error"] += 1
                log.exception("alert evaluation failed")

    async def cycle(self, now: float) -> None:
        """One evaluation: rules, inhibition, windows, acknowledgements; commit; notify."""
        assert self.rt is not None and self.store is not None and self.ruleset is not None
        started = time.perf_counter()
        view = build_view(self.rt.state, self.rt.metrics, self.identities,
                          self.ruleset.metrics())
        if self.rt.tier_only:
            # the tier instance mirrors the shards' devices: their alerts are the shards'
            # (each pages for the devices it polls); here only the site-wide ones
            view = {name: [s for s in samples if "device" not in s.labels]
                    for name, samples in view.items()}
        # blind: unreachable, or not answered since this engine started. A pair member
        # that takes over starts on the standby's mirrored state: statuses, but not the
        # polled series (if_oper_status ...), so an alert on those would read as resolved
        # until the new leader's first poll of the device
        blind = {d.id for d in self.rt.state.devices.values()
                 if d.reachable is False or d.last_success_ts is None
                 or d.last_success_ts == self._answered_before.get(d.id)}
        assert self.history is not None
        result = evaluate(self.ruleset.rules, self.history.source(view, now), now, self.active,
                          hold=lambda alert: alert.labels.get("device", "") in blind)
        for rule, error in result.errors:
            log.error("alerts: rule %s (%s) could not be evaluated: %s", rule.name, rule.file,
                      error)
        self.windows = maintenance_windows(self.store)
        current = self._with_acks(result.active)
        muted = self._muting(current, now)
        self.active = self._commit(now, result.transitions, current, muted)
        self.evaluations["ok"] += 1
        self.last_duration = time.perf_counter() - started
        assert self.outbox is not None
        self.outbox.wake.set()
        if self.am is not None and self.config.alertmanager and self.config.alertmanager.silences:
            await self._sync_silences(now, [t.alert for t in result.transitions
                                            if t.new == AlertState.RESOLVED])

    def _with_acks(self, active: dict[str, Alert]) -> dict[str, Alert]:
        """Acknowledgements written by the CLI or the API since the last evaluation."""
        assert self.store is not None
        ids = [a.id for a in active.values() if a.id is not None]
        if not ids:
            return active
        rows = tables.acknowledgements(self.store, ids)
        out = {}
        for fp, alert in active.items():
            row = rows.get(alert.id) if alert.id is not None else None
            if row is not None:
                alert = replace(alert, acked_at=row.acked_ts, ack_until=row.ack_until,
                                silence_id=row.silence_id)
            out[fp] = alert
        return out

    def _muting(self, active: dict[str, Alert], now: float) -> dict[str, str | None]:
        assert self.ruleset is not None
        inhibitors = inhibited(active.values(), self.ruleset.inhibit)
        out: dict[str, str | None] = {}
        for fp, alert in active.items():
            window = covering(self.windows, alert.labels, now, self.tz)
            if window is not None:
                out[fp] = f"maintenance:{window.id}"
            elif fp in inhibitors:
                out[fp] = "inhibited"
            else:
                out[fp] = None
        return out

    # ------------------------------------------------------------------ the transaction

    def _commit(self, now: float, transitions: list[Any], current: dict[str, Alert],
                muted: dict[str, str | None]) -> dict[str, Alert]:
        assert self.store is not None
        resolved: list[Alert] = []
        fired: set[str] = set()  # alerts that started firing in this evaluation
        titles = {w.id: w.title for w in self.windows}
        with tables.alert_transaction(self.store) as conn:
            for t in transitions:
                alert = t.alert
                if t.new == AlertState.INACTIVE:
                    if alert.id is not None:
                        conn.delete(alert.id)
                    continue
                if t.old is None:
                    alert_id = conn.insert(
                        fingerprint=alert.fingerprint, name=alert.name,
                        severity=alert.severity, labels=alert.labels,
                        annotations=alert.annotations, state=str(alert.state),
                        value=alert.value, active_since=alert.active_since,
                        fired_at=alert.fired_at)
                    alert = replace(alert, id=alert_id)
                    current[alert.fingerprint] = replace(current[alert.fingerprint],
                                                         id=alert_id)
                elif t.new == AlertState.FIRING:
                    assert alert.id is not None
                    conn.firing(alert.id, fired_at=alert.fired_at, value=alert.value,
                                labels=alert.labels, annotations=alert.annotations)
                elif t.new == AlertState.RESOLVED:
                    assert alert.id is not None
                    conn.resolved(alert.id, now)
                    resolved.append(alert)
                if t.new in (AlertState.FIRING, AlertState.RESOLVED):
                    self._event(conn, now, alert, str(t.new))
                if t.new == AlertState.FIRING:
                    fired.add(alert.fingerprint)
            out: dict[str, Alert] = {}
            for fp, alert in current.items():
                new_muted = muted.get(fp)
                if new_muted != alert.muted or (new_muted and fp in fired):
                    alert = self._mute(conn, now, alert, new_muted, titles)
                out[fp] = self._notify(conn, now, alert)
            for alert in resolved:
                self._notify(conn, now, alert)
        return out

    def _event(self, conn: AlertWriter, now: float, alert: Alert, kind: str,
               detail: str = "", maintenance_id: int | None = None, actor: str = "") -> None:
        conn.event(ts=now, alert_id=alert.id, fingerprint=alert.fingerprint, name=alert.name,
                   kind=kind, actor=actor, detail=detail, maintenance_id=maintenance_id)

    def _mute(self, conn: AlertWriter, now: float, alert: Alert, muted: str | None,
              titles: dict[int, str]) -> Alert:
        assert alert.id is not None
        conn.muted(alert.id, muted)
        if muted and muted.startswith("maintenance:") and alert.state == AlertState.FIRING:
            window_id = int(muted.partition(":")[2])
            # the planned event: what the window held back, for the availability report
            self._event(conn, now, alert, "suppressed",
                        detail=f"maintenance window {window_id}: {titles.get(window_id, '')}",
                        maintenance_id=window_id)
        elif muted == "inhibited":
            self._event(conn, now, alert, "inhibited")
        return replace(alert, muted=muted)

    def _notify(self, conn: AlertWriter, now: float, alert: Alert) -> Alert:
        notices = decide(alert, now, self.policy)  # nothing while muted (maintenance ...)
        for notice in notices:
            targets = self._targets(alert, notice)
            for channel, receiver, payload in targets:
                conn.queue(now=now, alert_id=alert.id, channel=channel, receiver=receiver,
                           kind=str(notice), payload=payload)
            sent_to = ", ".join(sorted({r or c for c, r, _ in targets})) or "nobody"
            if notice in (Notice.FIRING, Notice.REPEAT):
                if not targets:
                    continue  # nowhere to send: stays un-notified, sent once a receiver exists
                alert = replace(alert, notified_at=now)
                assert alert.id is not None
                conn.notified(alert.id, now)
                self._event(conn, now, alert, "notified", detail=f"{notice}: {sent_to}")
            elif notice == Notice.ESCALATION:
                alert = replace(alert, escalated_at=now)
                assert alert.id is not None
                conn.escalated(alert.id, now)
                self._event(conn, now, alert, "escalated", detail=sent_to)
            elif targets:
                self._event(conn, now, alert, "notified", detail=f"{notice}: {sent_to}")
        return alert

    # ------------------------------------------------------------------ routing

    def route(self, labels: dict[str, str] | Any) -> str | None:
        for matchers, receiver in self.routes:
            if match_all(matchers, labels):
                return receiver
        return self.config.default_receiver()

    def _targets(self, alert: Alert, notice: Notice) -> list[tuple[str, str, Any]]:
        url = self.config.external_url
        if self.config.alertmanager is not None:
            if notice in ESCALATION_NOTICES and self.config.escalation is None:
                return []
            return [("alertmanager", "", alertmanager_alert(alert, notice, url))]
        if notice in ESCALATION_NOTICES:
            name = self.config.escalation.receiver if self.config.escalation else None
        else:
            name = self.route(alert.labels)
        receiver = self.config.receiver_config(name) if name else None
        if receiver is None:
            return []
        out: list[tuple[str, str, Any]] = []
        if receiver.webhook is not None:
            out.append(("webhook", receiver.name,
                        webhook_message(alert, notice, receiver.name, url)))
        if receiver.email is not None:
            out.append(("email", receiver.name,
                        email_message(alert, notice, receiver.email.to, self.tz, url)))
        return out

    async def _deliver(self, row: OutboxRow, now: float) -> None:
        if row.channel == "alertmanager":
            if self.am is None:
                raise DeliveryError("no Alertmanager is configured any more", retry=False)
            await self.am.post_alerts([row.payload], now)
            return
        receiver = self.config.receiver_config(row.receiver)
        if row.channel == "webhook":
            if receiver is None or receiver.webhook is None or self.webhook is None:
                raise DeliveryError(f"receiver {row.receiver!r} has no webhook any more",
                                    retry=False)
            await self.webhook.send(receiver.webhook, row.payload, row.key)
            return
        if row.channel == "email":
            if self.email is None:
                raise DeliveryError("no smtp section any more", retry=False)
            await self.email.send(row.payload, row.key)
            return
        raise DeliveryError(f"unknown channel {row.channel!r}", retry=False)

    # ------------------------------------------------------------------ Alertmanager

    async def _resend_forever(self) -> None:
        assert self.config.alertmanager is not None
        while True:
            await asyncio.sleep(self.config.alertmanager.resend_every)
            try:
                await self.resend(time.time())
            except DeliveryError as exc:
                log.warning("re-sending firing alerts to Alertmanager failed: %s", exc)
            except Exception:
                log.exception("re-sending firing alerts to Alertmanager failed")

    async def resend(self, now: float) -> int:
        """Post every notified firing alert again (and escalated copies): Alertmanager
        forgets alerts not re-sent, and may have restarted since."""
        assert self.am is not None
        batch = []
        for alert in self.active.values():
            if alert.state != AlertState.FIRING or alert.notified_at is None:
                continue
            batch.append(alertmanager_alert(alert, Notice.FIRING, self.config.external_url))
            if alert.escalated_at is not None:
                batch.append(alertmanager_alert(alert, Notice.ESCALATION,
                                                self.config.external_url))
        if batch:
            # a pair's deposed leader must not re-open in Alertmanager what the new leader
            # resolved: Fenced (store/fencing.py) ends this before anything is posted
            if self.store is not None:
                self.store.confirm_lease()
            await self.am.post_alerts(batch, now)
        return len(batch)

    async def _sync_silences(self, now: float, resolved: list[Alert]) -> None:
        """Maintenance windows and acknowledgements as Alertmanager silences."""
        assert self.am is not None and self.store is not None
        try:
            await self._ack_silences(now, resolved)
            signature = tuple((w.id, w.start, w.end, w.recurrence, w.until, w.scope)
                              for w in self.windows)
            if signature != self._window_signature or now - self._last_silence_sync > 15:
                await self._window_silences(now)
                self._window_signature = signature
                self._last_silence_sync = now
        except DeliveryError as exc:
            log.warning("Alertmanager silences not in step yet (retried): %s", exc)

    async def _ack_silences(self, now: float, resolved: list[Alert]) -> None:
        assert self.am is not None and self.store is not None
        for alert in resolved:
            if alert.silence_id:
                await self.am.expire_silence(alert.silence_id)
                self._set_silence(alert, None)
        for fp, alert in list(self.active.items()):
            if alert.acked(now) and not alert.silence_id and alert.state == AlertState.FIRING:
                matchers = [Matcher("alertname", "=", alert.name)] + [
                    Matcher(k, "=", v) for k, v in sorted(alert.labels.items())
                    if k != "alertname"]
                record = self.store.alert(alert.id) if alert.id is not None else None
                ends = alert.ack_until or now + self.config.ack_for
                silence_id = await self.am.create_silence(
                    matchers, now, ends, (record.acked_by if record else "") or "tierwatch",
                    f"acknowledged: {(record.ack_comment if record else '') or '-'}")
                self._set_silence(alert, silence_id)
                self.active[fp] = replace(alert, silence_id=silence_id)

    def _set_silence(self, alert: Alert, silence_id: str | None) -> None:
        assert self.store is not None and alert.id is not None
        tables.set_silence(self.store, alert.id, silence_id)

    async def _window_silences(self, now: float) -> None:
        assert self.am is not None and self.store is not None
        live = {w.id: w for w in self.windows}
        made = self.store.maintenance_silences(active_only=True)
        have = {(r.window_id, r.occurrence_start, r.matchers) for r in made}
        for window in self.windows:
            for start, end in window.occurrences(now, now + SILENCE_HORIZON, self.tz):
                for matchers in silence_matchers(window.scope):
                    key = " ".join(str(m) for m in matchers)[:255]
                    if (window.id, start, key) in have:
                        continue
                    silence_id = await self.am.create_silence(
                        matchers, max(start, now), end, window.created_by or "tierwatch",
                        f"maintenance #{window.id}: {window.title}")
                    if not self.store.add_maintenance_silence(window.id, start, key,
                                                              silence_id, now):
                        await self.am.expire_silence(silence_id)  # another process won
                    else:
                        log.info("maintenance #%d: Alertmanager silence %s for %s", window.id,
                                 silence_id, key)
        for row in made:  # windows removed since: their silences end now
            if row.window_id not in live:
                await self.am.expire_silence(row.silence_id)
                self.store.expire_maintenance_silence(row.id, now)

    # ------------------------------------------------------------------ for people and APIs

    def metrics(self) -> Iterator[Metric]:
        counts: dict[tuple[str, str, str], int] = {}
        for alert in self.active.values():
            key = (alert.name, alert.severity, str(alert.state))
            counts[key] = counts.get(key, 0) + 1
        yield metric_family(
            "tierwatch_alerts", "gauge", "Active alerts of the built-in engine",
            [({"alertname": n, "severity": s, "state": st}, float(c))
             for (n, s, st), c in sorted(counts.items())])
        outbox = self.outbox
        yield metric_family(
            "tierwatch_notifications", "counter",
            "Notification delivery attempts by channel and result (sent, failed, dead)",
            [({"channel": ch, "result": res}, float(c))
             for (ch, res), c in sorted((outbox.results if outbox else {}).items())])
        yield metric_family("tierwatch_notification_queue", "gauge",
                            "Notifications waiting for delivery",
                            [({"state": "pending"}, float(outbox.pending if outbox else 0))])
        yield metric_family("tierwatch_notification_oldest_pending_seconds", "gauge",
                            "Age of the oldest notification still waiting for delivery",
                            [({}, outbox.oldest_pending_age if outbox else 0.0)])
        yield metric_family("tierwatch_alert_evaluations", "counter",
                            "Evaluations of the built-in rules, by result",
                            [({"result": k}, float(v)) for k, v in self.evaluations.items()])
        yield metric_family("tierwatch_alert_evaluation_duration_seconds", "gauge",
                            "Duration of the last evaluation of the built-in rules",
                            [({}, self.last_duration)])
        now = time.time()
        yield metric_family("tierwatch_maintenance_active", "gauge",
                            "Maintenance windows on now",
                            [({}, float(sum(1 for w in self.windows
                                            if w.active_at(now, self.tz))))])
