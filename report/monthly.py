"""Monthly reports: read the month from the store, render, write files, keep a register.

`gather(store, settings, month, now)` is the only part that reads the store: it returns the
`ReportInputs` report/data.py turns into figures (pure). `render` gives the bytes of
one format and language; `write_reports` writes them to the reports directory and records
each file in the `reports` table, which the API lists and serves. `ReportScheduler` is the
component that runs `write_reports` for the month before, on the 1st of each month
at 06:00 site time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from report.config import Mailer, ReportSettings
from report.data import (
    OUT_OF_BAND,
    ExposureRecord,
    Gap,
    LinkSpanRecord,
    MaintenanceRecord,
    MonthlyReport,
    OutageRecord,
    ReportInputs,
    SightingRecord,
    Transition,
    build_report,
    month_period,
    previous_month,
)
from report.service_figures import CertificateRecord
from tier.topology import node_bindings
from tierwatch.core.files import REPORT_MODE, replace_durably
from tierwatch.core.history import blind_gaps
from tierwatch.core.store import Store
from tierwatch.core.store import reports as rows
from tierwatch.core.store.nethealth import lldp_history
from tierwatch.core.store.services import certificates_seen

if TYPE_CHECKING:
    from tierwatch.core.runtime import Runtime

log = logging.getLogger(__name__)

FORMATS = ("json", "html", "pdf")
MEDIA_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8",
               "pdf": "application/pdf"}
ENVIRONMENT_PROFILES = frozenset({"geist-env"})

Progress = Callable[[str, int, int], None]  # (step, done, total)


# --------------------------------------------------------------------------- reading


def _transition(row: Any) -> Transition:
    return Transition(float(row.ts), row.kind, row.subject, row.new,
                      frozenset(json.loads(row.conditions or "[]")))


def _bound_subjects(settings: ReportSettings) -> set[str]:
    return {device if component is None else f"{device}/{component}"
            for device, component in node_bindings(settings.topology).values()}


def environment_subjects(store: Store, settings: ReportSettings) -> frozenset[str]:
    """The inlet sensors: `sensor ...` components of the environment devices (configured, or
    those with an environment profile, or any that ever reported a temperature band), and
    any component that ever reported a temperature band."""
    banded = rows.subjects_with_conditions(store, OUT_OF_BAND)
    configured = settings.reports.environment_devices
    if configured is not None:
        devices = set(configured)
    else:
        devices = {d for d, profiles in settings.device_profiles.items()
                   if ENVIRONMENT_PROFILES & set(profiles)}
        devices |= {s.split("/", 1)[0] for s in banded}
    sensors = rows.sensor_subjects(store, devices)
    if configured is not None:
        banded = {s for s in banded if s.split("/", 1)[0] in devices}
    return frozenset(sensors | banded)


def _transitions(store: Store, subjects: set[str], start: float, stop: float
                 ) -> list[Transition]:
    """Device and component transitions of `subjects`: the last at or before `start` of
    each, and every one in (start, stop)."""
    return [_transition(r) for r in rows.transitions_of(store, subjects, start, stop)]


def _gaps(store: Store, start: float, stop: float) -> list[Gap]:
    """Unmonitored time, with its reason: tierwatch.core.history.blind_gaps, the one rule
    that availability of loads and services applies too."""
    return [Gap(g.start, g.end, g.reason) for g in blind_gaps(store, start, stop)]


def _maintenance(store: Store, start: float, stop: float, timezone: str
                 ) -> list[MaintenanceRecord]:
    """Occurrences within the month of windows not cancelled before they began (a window
    removed while on counts up to its removal); recurring windows as the alerting room
    expands them (tierwatch/core/maintenance.py)."""
    from tierwatch.core.maintenance import Window

    out = []
    for row in store.maintenance(include_deleted=True):
        window = Window.from_row(row)
        for lo, hi in window.occurrences(start, stop, timezone):
            if row.deleted_ts is not None:
                if row.deleted_ts <= lo:
                    continue
                hi = min(hi, float(row.deleted_ts))
            out.append(MaintenanceRecord(window.id, window.title, lo, hi,
                                         window.scope.to_json(), window.created_by,
                                         window.comment, window.recurrence))
    return out


def _diagrams(settings: ReportSettings) -> dict[str, str]:
    """The one-line diagram of the live state, in each language the report is made in."""
    if settings.diagram is None:
        return {}
    out = {}
    for lang in ("vi", "en"):
        svg = settings.diagram(lang)
        if svg:
            out[lang] = svg
    return out
def _lldp(store: Store, start: float, stop: float
          ) -> tuple[tuple[LinkSpanRecord, ...], tuple[SightingRecord, ...]]:
    """The LLDP verdicts and unexpected neighbours of the month, as the network room wrote
    them (read through the store, never from the room)."""
    verdicts, sightings = lldp_history(store, start, stop)
    return (tuple(LinkSpanRecord(v.link.subsystem, v.link.feeder, v.link.node, v.link.device,
                                 v.link.port, v.link.verdict, v.start, v.end, v.link.expected,
                                 v.link.seen_on) for v in verdicts),
            tuple(SightingRecord(s.sighting.device, s.sighting.port, s.sighting.name, s.start,
                                 s.end, s.sighting.declared_port, s.sighting.neighbour_port,
                                 s.sighting.neighbour_device) for s in sightings))


def gather(store: Store, settings: ReportSettings, month: str, now: float) -> ReportInputs:
    """Everything the month's report needs from the store. Raises ValueError for a
    malformed month."""
    tz = settings.site.timezone
    start, end = month_period(month, tz)
    stop = max(start, min(end, now))
    env = environment_subjects(store, settings)
    subjects = _bound_subjects(settings) | set(env)
    found = store.outages(since=start, until=stop)
    exposure_rows = store.exposures(since=start, until=stop)
    lldp, sightings = _lldp(store, start, stop)
    return ReportInputs(
        site=settings.site.name,
        timezone=tz,
        month=month,
        now=now,
        topology=settings.topology,
        transitions=tuple(_transitions(store, subjects, start, stop)),
        outages=tuple(OutageRecord(o.kind, o.subject, o.subsystem, o.start, o.end, o.cause,
                                   o.planned, tuple(o.affected), o.maintenance_id, o.id)
                      for o in found),
        exposures=tuple(ExposureRecord(r.kind, r.subject, r.subsystem, r.start_ts, r.end_ts,
                                       r.detail or "") for r in exposure_rows),
        unmonitored=tuple(_gaps(store, start, stop)),
        maintenance=tuple(_maintenance(store, start, stop, tz)),
        environment=env,
        target=settings.target,
        min_coverage=settings.min_coverage,
        service_transitions=tuple(_service_transitions(store, found, stop)),
        certificates=tuple(_certificates(store, settings, start)),
        power=None if settings.power is None else settings.power(store, start, stop),
        diagram=_diagrams(settings),
        lldp=lldp,
        sightings=sightings,
    )


def _service_transitions(store: Store, found: Sequence[Any], stop: float) -> list[Transition]:
    """The services' transitions from the first service outage overlapping the month on:
    each tells the kind of its outage's cause (report/service_figures.py)."""
    starts = [o.start for o in found if o.kind == "service"]
    if not starts:
        return []
    return [_transition(r) for r in store.transitions(kind="service", since=min(starts),
                                                      until=stop)]


def _certificates(store: Store, settings: ReportSettings, start: float
                  ) -> list[CertificateRecord]:
    """The certificates the service checks saw during the month (or since)."""
    if not settings.topology.services.nodes:
        return []
    return [CertificateRecord(c.service, c.endpoint, c.subject, c.issuer, c.not_after,
                              c.first_seen, c.last_seen, c.verified, c.error, c.check)
            for c in certificates_seen(store, since=start)]


# --------------------------------------------------------------------------- rendering


def render(report: MonthlyReport, fmt: str, lang: str) -> bytes:
    """One report as bytes. Raises PdfUnavailable without WeasyPrint, ValueError for an
    unknown format."""
    if fmt == "json":
        return (json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n").encode()
    from report.html import render_html

    html = render_html(report, lang)
    if fmt == "html":
        return html.encode("utf-8")
    if fmt == "pdf":
        from report.pdf import render_pdf

        return render_pdf(html)
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


def make_report(store: Store, settings: ReportSettings, month: str, now: float,
                progress: Progress | None = None) -> MonthlyReport:
    if progress is not None:
        progress("read", 0, 1)
    inputs = gather(store, settings, month, now)
    if progress is not None:
        progress("read", 1, 1)
    return build_report(inputs, None if progress is None
                        else (lambda done, total: progress("score", done, total)))


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReportFile:
    id: int
    month: str
    lang: str
    format: str
    path: Path
    size: int
    sha256: str
    created: float
    trigger: str
    complete: bool

    @property
    def filename(self) -> str:
        return self.path.name

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "month": self.month, "lang": self.lang, "format": self.format,
                "filename": self.filename, "size": self.size, "sha256": self.sha256,
                "created": self.created, "trigger": self.trigger, "complete": self.complete}


def _file(row: Any) -> ReportFile:
    return ReportFile(row.id, row.month, row.lang, row.format, Path(row.path), row.size,
                      row.sha256, row.created_ts, row.trigger, bool(row.complete))


def file_name(site_month: str, lang: str, fmt: str) -> str:
    return f"tierwatch-report-{site_month}-{lang}.{fmt}"


@dataclass(frozen=True)
class Failure:
    lang: str
    format: str
    message: str


@dataclass(frozen=True)
class Written:
    files: list[ReportFile]
    failures: list[Failure]
    report: MonthlyReport


def write_reports(store: Store, settings: ReportSettings, month: str, now: float, *,
                  languages: Sequence[str] | None = None, formats: Sequence[str] | None = None,
                  trigger: str = "schedule", progress: Progress | None = None) -> Written:
    """Make the month's report in each language and format, write each file (replacing an
    older one of the same month, language and format) and record it. A format that cannot
    be made (PDF without WeasyPrint) is logged and listed in `failures`; the others are
    written. Raises ValueError for a malformed month or one not begun."""
    report = make_report(store, settings, month, now, progress)
    directory = settings.directory
    directory.mkdir(parents=True, exist_ok=True)
    langs = list(languages or settings.reports.languages)
    fmts = list(formats or settings.reports.formats)
    written: list[ReportFile] = []
    failures: list[Failure] = []
    jobs = [(lang, fmt) for lang in langs for fmt in fmts]
    for i, (lang, fmt) in enumerate(jobs):
        if progress is not None:
            progress("render", i, len(jobs))
        try:
            body = render(report, fmt, lang)
        except Exception as exc:
            log.exception("report %s (%s, %s) could not be rendered", month, lang, fmt)
            failures.append(Failure(lang, fmt, str(exc) or type(exc).__name__))
            continue
        path = directory / file_name(month, lang, fmt)
        # 0640 whatever the umask; renamed into place after an fsync, then the directory's
        # fsync: readers never see half a file, a power cut never leaves an empty one
        replace_durably(path, body, REPORT_MODE)
        written.append(record(store, month, lang, fmt, path, body, now, trigger,
                              report.complete))
    if progress is not None:
        progress("render", len(jobs), len(jobs))
    return Written(written, failures, report)


def record(store: Store, month: str, lang: str, fmt: str, path: Path, body: bytes,
           now: float, trigger: str, complete: bool) -> ReportFile:
    row_id = rows.record_file(store, month=month, lang=lang, fmt=fmt, path=str(path.resolve()),
                              body=body, created=now, trigger=trigger, complete=complete)
    found = get_report(store, row_id)
    assert found is not None
    return found


def list_reports(store: Store, month: str | None = None, limit: int = 50, offset: int = 0
                 ) -> tuple[int, list[ReportFile]]:
    """(how many there are, one page of them), newest month first."""
    total, found = rows.file_rows(store, month, limit, offset)
    return total, [_file(r) for r in found]


def get_report(store: Store, report_id: int) -> ReportFile | None:
    row = rows.file_row(store, report_id)
    return None if row is None else _file(row)


# --------------------------------------------------------------------------- e-mail


def email_message(settings: ReportSettings, done: Written) -> dict[str, Any]:
    """The e-mail of a month's report: a summary in each language, the PDFs attached (the
    HTML files when there is no PDF)."""
    from report.html import report_translator
    from report.texts import recommendation_text

    report = done.report
    files = [f for f in done.files if f.format == "pdf"] or [
        f for f in done.files if f.format == "html"]
    langs = list(dict.fromkeys([*settings.reports.languages, *(f.lang for f in files)]))
    parts = []
    for lang in langs:
        tr = report_translator(lang, report.timezone)
        lines = [f"{tr('title')} — {report.site} — {tr.month(report.month)}", ""]
        if not report.complete:
            lines.append(tr("partial", time=tr.time(min(report.period[1], report.generated_at))))
        site = report.site_availability
        score = report.readiness_month
        lines.append(tr("mail_readiness", score=tr.number(score, 1) if score is not None
                        else "–", design=tr.tier(report.design_tier),
                        live=tr.tier(report.live_tier_end)))
        if site is None:
            lines.append(tr("no_data"))
        else:
            lines.append(tr("mail_availability", availability=tr.percent(
                site.report.availability), target=tr.percent(report.target),
                downtime=tr.duration(site.report.downtime),
                budget=tr.duration(site.report.budget)))
        if report.coverage.unmonitored > 0:
            lines.append(tr("unmonitored_note", duration=tr.duration(report.coverage.unmonitored),
                            share=tr.percent(report.coverage.unmonitored_share, 1)))
        if report.recommendations:
            lines += ["", tr("recommendations") + ":"]
            lines += [f"- {recommendation_text(r.key, r.params, tr)}"
                      for r in report.recommendations[:8]]
        lines += ["", tr("mail_attached")]
        parts.append("\n".join(lines))
    first = report_translator(langs[0] if langs else "vi", report.timezone)
    return {
        "to": list(settings.reports.email),
        "subject": first("mail_subject", title=first("title"), site=report.site,
                         month=first.month(report.month)),
        "body": "\n\n----\n\n".join(parts),
        "attachments": [(f.filename, MEDIA_TYPES[f.format], f.path.read_bytes())
                        for f in files],
    }


async def email_reports(settings: ReportSettings, done: Written, mailer: Mailer | None
                        ) -> None:
    """Send the month's files to `reports.email` through the mailer (alerting's sender on
    `alerts.smtp`). Raises alerts.notify.DeliveryError when the mail server refuses."""
    if mailer is None or not settings.reports.email:
        raise ValueError("e-mailing reports needs reports.email and alerts.smtp")
    key = f"report-{done.report.month}-{int(done.report.generated_at)}"
    await mailer.send(email_message(settings, done), key)


# --------------------------------------------------------------------------- schedule


class ReportScheduler:
    """Component: the month before, on the 1st at 06:00 site time, every language and
    format configured; e-mailed through `mailer` when `reports.email` lists addresses."""

    JOB_ID = "monthly-report"

    def __init__(self, settings: ReportSettings, mailer: Mailer | None = None) -> None:
        self.settings = settings
        self.mailer = mailer
        self.rt: Runtime | None = None
        self.runs = 0
        self.errors = 0
        self.emailed = 0
        self.email_errors = 0
        self.last: list[ReportFile] = []

    async def start(self, rt: Runtime) -> None:
        self.rt = rt
        rt.scheduler.cron(self.JOB_ID, self.run, day=1, hour=6, minute=0, grace=6 * 3600,
                          name="monthly report")

    async def stop(self) -> None:
        if self.rt is not None:
            self.rt.scheduler.remove(self.JOB_ID)

    async def run(self) -> list[ReportFile]:
        rt = self.rt
        assert rt is not None
        now = rt.clock()
        month = previous_month(now, self.settings.site.timezone)
        try:
            done = await asyncio.to_thread(write_reports, rt.store, self.settings, month, now,
                                           trigger="schedule")
            self.last = done.files
        except Exception:
            self.errors += 1
            log.exception("the monthly report for %s failed", month)
            return []
        self.runs += 1
        log.info("monthly report %s: %s", month, ", ".join(f.filename for f in self.last))
        if self.settings.reports.email:
            try:
                await email_reports(self.settings, done, self.mailer)
            except Exception as exc:  # the files are written; the mail is what failed
                self.email_errors += 1
                log.error("e-mailing the monthly report for %s failed: %s", month, exc)
            else:
                self.emailed += 1
        return self.last
