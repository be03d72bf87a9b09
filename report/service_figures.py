"""The monthly report's "E-government services" section, from records: pure, no store, no
clock.

What the services room wrote to the store (docs/services.md) becomes, for the month:

* **Availability per service** against its own target (`topology.services`, e.g. 99.9 %):
  downtime is the union of the service's outages (kind `service`), monitored time only;
  A = 1 - D / M, the budget (1 - target) x the whole month, as for loads (tier/availability.py).
* **Outages** overlapping the month, each with its cause and the kind of cause: `check` (the
  service's own checks failed) or `infrastructure` (what it depends on was down too), read
  from the service's transition when the outage opened (the recorder writes the kind as the
  transition's condition); the agencies it affected.
* **Time at risk** (exposures kind `service_at_risk`): checks passing while the
  infrastructure under the service had lost redundancy; monitored time only.
* **Per agency**, each service it uses: how long it could not reach it (the union of its
  outages kind `agency`, subject `AGENCY/SERVICE`, monitored time only), in how many
  interruptions, and the cause of the longest; zero is "reached it throughout".
* **Certificates ending by the end of next month**: per endpoint the certificate seen last
  (one replaced during the month no longer counts), when it was seen during the month and
  its end falls before the next month's end (ended already, or ending next month).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tier.availability import AvailabilityReport, availability, merge, subtract, verdict
from tier.availability import total as length_of

if TYPE_CHECKING:
    from report.data import ExposureRecord, OutageRecord, Transition
    from tier.services import ServicesTopology

Span = tuple[float, float]

SERVICE = "service"
AGENCY = "agency"
AT_RISK = "service_at_risk"
CAUSE_KINDS = ("check", "infrastructure")
CERTIFICATE_SOON = 7 * 86400.0  # a certificate ending this soon after the month: high


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """A certificate a service check saw (the store's `certificates` table)."""

    service: str
    endpoint: str
    subject: str
    issuer: str
    not_after: float
    first_seen: float
    last_seen: float
    verified: bool = True
    error: str = ""
    check: str = ""


@dataclass(frozen=True)
class ServiceFigure:
    id: str
    name: str
    target: float
    availability: AvailabilityReport | None  # None while nothing was monitored
    verdict: str  # met | missed | not_enough_data
    outages: int  # outages overlapping the monitored month
    at_risk: float  # monitored seconds at risk
    agencies: tuple[str, ...]


@dataclass(frozen=True)
class ServiceOutage:
    service: str
    name: str
    start: float
    end: float | None  # None: still open
    cause: str
    cause_kind: str  # check | infrastructure | "" (not recorded)
    affected: tuple[str, ...]  # agency ids
    in_month: float  # monitored seconds of it within the month


@dataclass(frozen=True)
class RiskSpan:
    service: str
    name: str
    start: float
    end: float | None
    detail: str
    in_month: float  # monitored seconds of it within the month


@dataclass(frozen=True)
class AgencyService:
    service: str
    name: str
    unreachable: float  # monitored seconds it could not reach the service
    interruptions: int
    reachable_share: float | None  # of the monitored time (None: nothing monitored)
    cause: str  # the cause of its longest interruption ("" when none)


@dataclass(frozen=True)
class AgencyFigure:
    id: str
    name: str
    site: str | None
    services: tuple[AgencyService, ...]

    @property
    def reached_throughout(self) -> tuple[str, ...]:
        return tuple(s.service for s in self.services if s.unreachable == 0)

    @property
    def unreachable(self) -> float:
        return sum(s.unreachable for s in self.services)


@dataclass(frozen=True)
class CertificateFigure:
    record: CertificateRecord
    days_left: float  # at the end of the observed month (negative: ended)

    @property
    def ended(self) -> bool:
        return self.days_left <= 0


@dataclass(frozen=True)
class ServicesSection:
    services: tuple[ServiceFigure, ...]
    outages: tuple[ServiceOutage, ...]
    at_risk: tuple[RiskSpan, ...]
    agencies: tuple[AgencyFigure, ...]
    certificates: tuple[CertificateFigure, ...]
    certificates_until: float  # the end of the month after the report's

    def service(self, service_id: str) -> ServiceFigure:
        for s in self.services:
            if s.id == service_id:
                return s
        raise KeyError(service_id)


def month_after(period: tuple[float, float], timezone: str) -> float:
    """The end of the month that follows `period` (the report's month), local midnight."""
    first = datetime.fromtimestamp(period[1], ZoneInfo(timezone))
    following = first.replace(year=first.year + (first.month == 12),
                              month=first.month % 12 + 1)
    return following.timestamp()


def build_services(topology: ServicesTopology, outages: Sequence[OutageRecord],
                   exposures: Sequence[ExposureRecord], transitions: Sequence[Transition],
                   certificates: Sequence[CertificateRecord], period: tuple[float, float],
                   now: float, timezone: str, blind: Sequence[Span], has_data: bool,
                   min_coverage: float) -> ServicesSection | None:
    """The section, or None when no service is configured."""
    if not topology.nodes:
        return None
    start, end = period
    stop = min(end, now)
    names = {s.id: s.label for s in topology.nodes}

    def monitored(spans: Sequence[tuple[float, float | None]]) -> list[Span]:
        return subtract(merge(spans, start, stop), blind)

    service_outages = [o for o in outages if o.kind == SERVICE and o.subject in names]
    risks = [r for r in exposures if r.kind == AT_RISK and r.subject in names]
    kinds = _cause_kinds(transitions)

    figures = []
    for spec in topology.nodes:
        mine = [(o.start, o.end) for o in service_outages if o.subject == spec.id]
        report = (availability(mine, period, now=now, unmonitored=blind, target=spec.target)
                  if has_data else None)
        figures.append(ServiceFigure(
            id=spec.id, name=spec.label, target=spec.target, availability=report,
            verdict=verdict(report, min_coverage) if report is not None
            else "not_enough_data",
            outages=sum(1 for span in mine if monitored([span])),
            at_risk=length_of(monitored([(r.start, r.end) for r in risks
                                         if r.subject == spec.id])),
            agencies=tuple(spec.agencies)))

    listed = sorted((o for o in service_outages
                     if o.start < stop and (o.end is None or o.end > start)),
                    key=lambda o: (o.start, o.subject))
    outage_rows = tuple(ServiceOutage(
        service=o.subject, name=names[o.subject], start=o.start, end=o.end, cause=o.cause,
        cause_kind=kinds.get((o.subject, o.start), ""), affected=tuple(o.affected),
        in_month=length_of(monitored([(o.start, o.end)]))) for o in listed)
    risk_rows = tuple(RiskSpan(
        service=r.subject, name=names[r.subject], start=r.start, end=r.end, detail=r.detail,
        in_month=length_of(monitored([(r.start, r.end)])))
        for r in sorted(risks, key=lambda r: (r.start, r.subject))
        if r.start < stop and (r.end is None or r.end > start))

    monitored_time = (stop - start) - length_of(merge(blind, start, stop))
    agency_rows = []
    for agency in topology.agencies:
        used = [s for s in topology.nodes if agency.id in s.agencies]
        if not used:
            continue
        rows = []
        for spec in used:
            subject = f"{agency.id}/{spec.id}"
            lost = [o for o in outages if o.kind == AGENCY and o.subject == subject]
            seen = [(o, length_of(monitored([(o.start, o.end)]))) for o in lost]
            seen = [(o, length) for o, length in seen if length > 0]
            unreachable = length_of(monitored([(o.start, o.end) for o in lost]))
            longest = max(seen, key=lambda pair: (pair[1], -pair[0].start), default=None)
            rows.append(AgencyService(
                service=spec.id, name=spec.label, unreachable=unreachable,
                interruptions=len(seen),
                reachable_share=(1.0 - unreachable / monitored_time
                                 if has_data and monitored_time > 0 else None),
                cause=longest[0].cause if longest is not None else ""))
        agency_rows.append(AgencyFigure(agency.id, agency.label, agency.site, tuple(rows)))

    until = month_after(period, timezone)
    latest: dict[tuple[str, str], CertificateRecord] = {}
    for cert in certificates:
        key = (cert.service, cert.endpoint)
        if key not in latest or cert.last_seen > latest[key].last_seen:
            latest[key] = cert
    ending = sorted((c for c in latest.values()
                     if c.last_seen >= start and c.first_seen < stop and c.not_after < until),
                    key=lambda c: (c.not_after, c.service, c.endpoint))
    certs = tuple(CertificateFigure(c, (c.not_after - stop) / 86400.0) for c in ending)

    return ServicesSection(tuple(figures), outage_rows, risk_rows, tuple(agency_rows), certs,
                           until)


def _cause_kinds(transitions: Sequence[Transition]) -> dict[tuple[str, float], str]:
    """(service, when it went down) -> check | infrastructure, from the service's
    transitions into `down` (the recorder opens the outage at the same instant)."""
    out: dict[tuple[str, float], str] = {}
    for t in transitions:
        if t.kind != SERVICE or t.status != "down":
            continue
        kind = next((k for k in CAUSE_KINDS if k in t.conditions), "")
        out[(t.subject, t.ts)] = kind
    return out


# --------------------------------------------------------------------------- recommendations


def recommendations(section: ServicesSection | None, stop: float
                    ) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, severity, params) of what the section asks to be done."""
    if section is None:
        return []
    out: list[tuple[str, str, dict[str, Any]]] = []
    for figure in section.services:
        report = figure.availability
        if figure.verdict == "missed" and report is not None:
            out.append(("service_below_target", "high", {
                "service": figure.name, "availability": report.availability,
                "target": figure.target, "outages": figure.outages,
                "downtime_s": report.downtime}))
    if section.certificates:
        soonest = section.certificates[0].record.not_after
        out.append(("certificates_ending",
                    "high" if soonest - stop < CERTIFICATE_SOON else "medium", {
                        "endpoints": [c.record.endpoint for c in section.certificates],
                        "until": section.certificates_until}))
    return out


# --------------------------------------------------------------------------- JSON


def services_json(section: ServicesSection | None, iso: Any, num: Any
                  ) -> dict[str, Any] | None:
    """The section as JSON; `iso(ts)` and `num(x)` as report/data.py renders them."""
    if section is None:
        return None

    def av(report: AvailabilityReport | None) -> dict[str, Any] | None:
        if report is None:
            return None
        return {"availability": num(report.availability), "downtime_s": num(report.downtime),
                "monitored_s": num(report.monitored), "budget_s": num(report.budget),
                "budget_used": num(report.burn)}

    return {
        "services": [{
            "id": s.id, "name": s.name, "target": num(s.target), "verdict": s.verdict,
            **(av(s.availability) or {"availability": None}),
            "outages": s.outages, "at_risk_s": num(s.at_risk), "agencies": list(s.agencies),
        } for s in section.services],
        "outages": [{
            "service": o.service, "start": iso(o.start), "end": iso(o.end),
            "open": o.end is None, "duration_in_month_s": num(o.in_month), "cause": o.cause,
            "cause_kind": o.cause_kind or None, "agencies_affected": list(o.affected),
        } for o in section.outages],
        "at_risk": [{
            "service": r.service, "start": iso(r.start), "end": iso(r.end),
            "duration_in_month_s": num(r.in_month), "detail": r.detail,
        } for r in section.at_risk],
        "agencies": [{
            "id": a.id, "name": a.name, "site": a.site,
            "reached_throughout": list(a.reached_throughout),
            "services": [{"service": s.service, "unreachable_s": num(s.unreachable),
                          "interruptions": s.interruptions,
                          "reachable_share": num(s.reachable_share), "cause": s.cause}
                         for s in a.services],
        } for a in section.agencies],
        "certificates": {
            "ending_before": iso(section.certificates_until),
            "list": [{"service": c.record.service, "endpoint": c.record.endpoint,
                      "subject": c.record.subject, "issuer": c.record.issuer,
                      "not_after": iso(c.record.not_after), "days_left": num(c.days_left),
                      "ended": c.ended, "verified": c.record.verified,
                      "error": c.record.error} for c in section.certificates],
        },
    }

