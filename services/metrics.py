"""The services room's series on /metrics (read at scrape time from the component).

    tierwatch_service_up{service}                     1 usable (up or at risk), 0 down
    tierwatch_service_at_risk{service}                1 while checks pass on lost redundancy
    tierwatch_service_state{service,state}            1 for the state it is in (stateset)
    tierwatch_service_availability{service,window}    over 30d and the month so far (store)
    tierwatch_service_target{service}                 its target availability
    tierwatch_agency_service_reachable{agency,service}
    tierwatch_service_check_success{service,check,source}
    tierwatch_service_check_duration_seconds{service,check,source,phase}
    tierwatch_service_check_status_code{service,check,source}
    tierwatch_service_certificate_expiry_timestamp_seconds{service,check,endpoint,subject,issuer}
    tierwatch_service_certificate_days_left{service,check,endpoint,subject}
    tierwatch_service_certificate_valid{service,check,endpoint}
    tierwatch_service_tls_version_info{service,check,source,version}
    tierwatch_service_checks_total{kind,result}
    tierwatch_service_check_refused_total{kind,reason}   hostile answers refused
    tierwatch_service_checks_skipped_total
    tierwatch_service_check_schedule_lag_seconds (histogram: woken late against the beat)
    tierwatch_service_check_slot_wait_seconds (histogram: then waited for a concurrency slot)

Availability is computed by tier/availability.py from the store's service outages and
unmonitored time (tierwatch.core.history.blind_spans), at most once a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from tier.availability import availability
from tier.services import Health
from tierwatch.core.history import blind_spans
from tierwatch.core.store import Store

if TYPE_CHECKING:
    from services.component import ServicesComponent

WINDOWS = ("30d", "month")
CACHE_SECONDS = 60.0


def month_bounds(now: float, timezone: str) -> tuple[float, float]:
    here = datetime.fromtimestamp(now, ZoneInfo(timezone))
    first = here.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = first.replace(year=first.year + (first.month == 12), month=first.month % 12 + 1)
    return first.timestamp(), following.timestamp()


class ServiceAvailability:
    """Per service and window, from the store; recomputed at most every `ttl` seconds."""

    def __init__(self, store: Store, targets: dict[str, float], timezone: str,
                 ttl: float = CACHE_SECONDS) -> None:
        self.store = store
        self.targets = targets
        self.timezone = timezone
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at: float | None = None
        self._figures: dict[tuple[str, str], float | None] = {}

    def invalidate(self) -> None:
        self._at = None

    def figures(self, now: float) -> dict[tuple[str, str], float | None]:
        with self._lock:
            if self._at is None or now - self._at >= self.ttl:
                self._figures = self.compute(now)
                self._at = now
            return self._figures

    def compute(self, now: float) -> dict[tuple[str, str], float | None]:
        periods = {"30d": (now - 30 * 86400.0, now),
                   "month": month_bounds(now, self.timezone)}
        earliest = min(p[0] for p in periods.values())
        outages = self.store.outages(since=earliest, until=now, kind="service")
        blind = blind_spans(self.store, earliest, now)
        out: dict[tuple[str, str], float | None] = {}
        for service, target in self.targets.items():
            spans = [(o.start, o.end) for o in outages if o.subject == service]
            for window, period in periods.items():
                report = availability(spans, period, now=now, unmonitored=blind, target=target)
                out[(service, window)] = report.availability
        return out


class ServicesCollector(Collector):
    def __init__(self, component: ServicesComponent) -> None:
        self.c = component
        rec = component.recorder
        self.availability = (ServiceAvailability(
            rec.store, {s.id: s.target for s in component.topology.nodes}, rec.timezone)
            if rec is not None else None)
        component.subscribe(self._changed)

    def _changed(self, _view: object) -> None:
        if self.availability is not None:
            self.availability.invalidate()

    def collect(self) -> Iterator[Metric]:
        c = self.c
        now = c.clock()
        view = c.view
        up = GaugeMetricFamily("tierwatch_service_up",
                               "1 while the service is usable (up or at risk), 0 while down",
                               labels=["service"])
        risk = GaugeMetricFamily("tierwatch_service_at_risk",
                                 "1 while the service's checks pass but the infrastructure "
                                 "under it lost redundancy", labels=["service"])
        state = GaugeMetricFamily("tierwatch_service_state",
                                  "1 for the state the service is in", labels=["service", "state"])
        target = GaugeMetricFamily("tierwatch_service_target",
                                   "The service's target availability", labels=["service"])
        for spec in c.topology.nodes:
            target.add_metric([spec.id], spec.target)
            s = view.services.get(spec.id) if view is not None else None
            health = s.health if s is not None else Health.UNKNOWN
            for h in Health:
                state.add_metric([spec.id, h.value], 1.0 if h == health else 0.0)
            if health == Health.UNKNOWN:
                continue
            up.add_metric([spec.id], 0.0 if health == Health.DOWN else 1.0)
            risk.add_metric([spec.id], 1.0 if health == Health.AT_RISK else 0.0)
        yield from (up, risk, state, target)

        avail = GaugeMetricFamily("tierwatch_service_availability",
                                  "Share of the monitored time the service was not down",
                                  labels=["service", "window"])
        if self.availability is not None:
            try:
                figures = self.availability.figures(now)
            except Exception:  # a store that cannot answer: no figure, counted
                c.errors["availability"] += 1
                figures = {}
            for (service, window), value in sorted(figures.items()):
                if value is not None:
                    avail.add_metric([service, window], value)
        yield avail

        reach = GaugeMetricFamily("tierwatch_agency_service_reachable",
                                  "1 while the agency can reach the service",
                                  labels=["agency", "service"])
        for r in view.reach if view is not None else ():
            if r.reachable is not None:
                reach.add_metric([r.agency, r.service], 1.0 if r.reachable else 0.0)
        yield reach

        success = GaugeMetricFamily("tierwatch_service_check_success",
                                    "1 when the probe's last run passed",
                                    labels=["service", "check", "source"])
        duration = GaugeMetricFamily("tierwatch_service_check_duration_seconds",
                                     "The probe's last run, per phase (total: all of it)",
                                     labels=["service", "check", "source", "phase"])
        code = GaugeMetricFamily("tierwatch_service_check_status_code",
                                 "HTTP or SIP status of the probe's last answer",
                                 labels=["service", "check", "source"])
        version = InfoMetricFamily("tierwatch_service_tls_version",
                                   "TLS version of the probe's last handshake",
                                   labels=["service", "check", "source"])
        for p in c.probes:
            last = c.latest.get(p.key)
            if last is None:
                continue
            labels = list(p.labels)
            success.add_metric(labels, 1.0 if last.ok else 0.0)
            duration.add_metric([*labels, "total"], last.duration)
            for phase, seconds in last.phases.items():
                duration.add_metric([*labels, phase], seconds)
            if last.status_code is not None:
                code.add_metric(labels, float(last.status_code))
            if last.tls_version:
                version.add_metric(labels, {"version": last.tls_version})
        yield from (success, duration, code, version)

        expiry = GaugeMetricFamily("tierwatch_service_certificate_expiry_timestamp_seconds",
                                   "When the certificate ends (epoch seconds)",
                                   labels=["service", "check", "endpoint", "subject", "issuer"])
        days = GaugeMetricFamily("tierwatch_service_certificate_days_left",
                                 "Days until the certificate ends (negative: ended)",
                                 labels=["service", "check", "endpoint", "subject"])
        valid = GaugeMetricFamily("tierwatch_service_certificate_valid",
                                  "1 when the chain and host name verified in the last "
                                  "handshake", labels=["service", "check", "endpoint"])
        for service, check, cert in c.certificate_list():
            expiry.add_metric([service, check, cert.endpoint, cert.subject, cert.issuer],
                              cert.not_after)
            days.add_metric([service, check, cert.endpoint, cert.subject],
                            round(cert.days_left(now), 4))
            valid.add_metric([service, check, cert.endpoint], 1.0 if cert.verified else 0.0)
        yield from (expiry, days, valid)

        checks = CounterMetricFamily("tierwatch_service_checks", "Probe runs by result",
                                     labels=["kind", "result"])
        for (kind, reason), n in sorted(c.results.items()):
            checks.add_metric([kind, reason], n)
        refused = CounterMetricFamily(
            "tierwatch_service_check_refused",
            "Server answers refused as hostile or malformed (too long, too many lines, "
            "not the protocol, not ours)", labels=["kind", "reason"])
        for (kind, reason), n in sorted(c.refused.items()):
            refused.add_metric([kind, reason], n)
        skipped = CounterMetricFamily("tierwatch_service_checks_skipped",
                                      "Probe beats skipped because the last run overran")
        skipped.add_metric([], c.skipped)
        lag = HistogramMetricFamily("tierwatch_service_check_schedule_lag_seconds",
                                    "How late the loop woke probe runs against their beat")
        lag.add_metric([], c.lag.buckets(), c.lag.total)
        wait = HistogramMetricFamily("tierwatch_service_check_slot_wait_seconds",
                                     "How long woken probe runs waited for one of the "
                                     "services.concurrency slots")
        wait.add_metric([], c.slot_wait.buckets(), c.slot_wait.total)
        yield from (checks, refused, skipped, lag, wait)
