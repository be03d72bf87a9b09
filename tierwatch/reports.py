"""Monthly reports: read the month from the store, render, write files, keep a register.

`gather(store, config, month, now)` is the only part that reads the store: it returns the
`ReportInputs` tier/report/data.py turns into figures (pure). `render` gives the bytes of
one format and language; `write_reports` writes them to the reports directory and records
each file in the `reports` table, which the API lists and serves. `ReportScheduler` is the
service component that runs `write_reports` for the month before, on the 1st of each month
at 06:00 site time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select

from tier.report.data import (
    OUT_OF_BAND,
    ExposureRecord,
    Gap,
    MaintenanceRecord,
    MonthlyReport,
    OutageRecord,
    ReportInputs,
    Transition,
    build_report,
    month_period,
    previous_month,
)
from tier.topology import node_bindings
from tierwatch.availability import DEFAULT_MAX_SILENCE
from tierwatch.config import Config
from tierwatch.files import REPORT_MODE, replace_durably
from tierwatch.store import Store, reports, transitions, unmonitored

if TYPE_CHECKING:
    from tierwatch.service import Service

log = logging.getLogger(__name__)

FORMATS = ("json", "html", "pdf")
MEDIA_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8",
               "pdf": "application/pdf"}
ENVIRONMENT_PROFILES = frozenset({"geist-env"})
_SUBJECTS_IN_QUERY = 900  # beyond this many subjects, read them all and filter here

Progress = Callable[[str, int, int], None]  # (step, done, total)


# --------------------------------------------------------------------------- reading


def _gap_reason(text: str) -> str:
    if text == "tierwatch was not running":
        return "not_running"
    if text.startswith("tierwatch starting"):
        return "starting"
    return text


def _transition(row: Any) -> Transition:
    return Transition(float(row.ts), row.kind, row.subject, row.new,
                      frozenset(json.loads(row.conditions or "[]")))


def _bound_subjects(config: Config) -> set[str]:
    return {device if component is None else f"{device}/{component}"
            for device, component in node_bindings(config.topology).values()}


def environment_subjects(store: Store, config: Config) -> frozenset[str]:
    """The inlet sensors: `sensor ...` components of the environment devices (configured, or
    those with an environment profile, or any that ever reported a temperature band), and
    any component that ever reported a temperature band."""
    banded: set[str] = set()
    with store.engine.connect() as conn:
        rows = conn.execute(select(transitions.c.subject).distinct().where(
            transitions.c.kind == "component",
            or_(*(transitions.c.conditions.like(f'%"{c}"%') for c in sorted(OUT_OF_BAND)))))
        banded = {row.subject for row in rows}
        if config.reports.environment_devices is not None:
            devices = set(config.reports.environment_devices)
        else:
            devices = {d.id for d in config.devices if ENVIRONMENT_PROFILES & set(d.profile)}
            devices |= {s.split("/", 1)[0] for s in banded}
        sensors: set[str] = set()
        if devices:
            rows = conn.execute(select(transitions.c.subject).distinct().where(
                transitions.c.kind == "component",
                or_(*(transitions.c.subject.like(f"{d}/sensor%") for d in sorted(devices)))))
            sensors = {row.subject for row in rows}
    if config.reports.environment_devices is not None:
        banded = {s for s in banded if s.split("/", 1)[0] in devices}
    return frozenset(sensors | banded)


def _transitions(store: Store, subjects: set[str], start: float, stop: float
                 ) -> list[Transition]:
    """Device and component transitions of `subjects`: the last at or before `start` of
    each, and every one in (start, stop)."""
    kinds = transitions.c.kind.in_(("device", "component"))
    narrow = 0 < len(subjects) <= _SUBJECTS_IN_QUERY
    latest = select(transitions.c.kind, transitions.c.subject,
                    func.max(transitions.c.ts).label("ts")).where(
        kinds, transitions.c.ts <= start)
    inside = select(transitions).where(kinds, transitions.c.ts > start, transitions.c.ts < stop)
    if narrow:
        latest = latest.where(transitions.c.subject.in_(sorted(subjects)))
        inside = inside.where(transitions.c.subject.in_(sorted(subjects)))
    last = latest.group_by(transitions.c.kind, transitions.c.subject).subquery()
    before = select(transitions).join(last, and_(
        transitions.c.kind == last.c.kind, transitions.c.subject == last.c.subject,
        transitions.c.ts == last.c.ts))
    if not subjects:
        return []
    with store.engine.connect() as conn:
        rows = [*conn.execute(before.order_by(transitions.c.ts, transitions.c.id)),
                *conn.execute(inside.order_by(transitions.c.ts, transitions.c.id))]
    return [_transition(r) for r in rows if narrow or r.subject in subjects]


def _gaps(store: Store, start: float, stop: float) -> list[Gap]:
    """Unmonitored time, by the rules tierwatch/availability.py applies: the recorded gaps
    (not running, starting up), the time before the store's first observation, and the
    time since the last heartbeat when no instance is beating any more."""
    gaps = [Gap(g.start, g.end if g.end is not None else stop, _gap_reason(g.reason))
            for g in _unmonitored_rows(store, start, stop)]
    first = store.first_observation()
    if first is None:
        gaps.append(Gap(start, stop, "no_record"))
    elif first > start:
        gaps.append(Gap(start, min(first, stop), "no_record"))
    beat = store.last_heartbeat()
    if beat is not None and stop - beat > DEFAULT_MAX_SILENCE:
        gaps.append(Gap(beat, stop, "silent"))
    return gaps


@dataclass(frozen=True)
class _GapRow:
    start: float
    end: float | None
    reason: str


def _unmonitored_rows(store: Store, start: float, stop: float) -> list[_GapRow]:
    query = select(unmonitored).where(unmonitored.c.end_ts > start,
                                      unmonitored.c.start_ts < stop).order_by(
        unmonitored.c.start_ts)
    with store.engine.connect() as conn:
        return [_GapRow(r.start_ts, r.end_ts, r.reason or "") for r in conn.execute(query)]


def _maintenance(store: Store, start: float, stop: float, timezone: str
                 ) -> list[MaintenanceRecord]:
    """Occurrences within the month of windows not cancelled before they began (a window
    removed while on counts up to its removal); recurring windows as the alerting room
    expands them (alerts/maintenance.py)."""
    from alerts.maintenance import Window

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


def gather(store: Store, config: Config, month: str, now: float) -> ReportInputs:
    """Everything the month's report needs from the store. Raises ValueError for a
    malformed month."""
    tz = config.site.timezone
    start, end = month_period(month, tz)
    stop = max(start, min(end, now))
    env = environment_subjects(store, config)
    subjects = _bound_subjects(config) | set(env)
    found = store.outages(since=start, until=stop)
    exposure_rows = store.exposures(since=start, until=stop)
    return ReportInputs(
        site=config.site.name,
        timezone=tz,
        month=month,
        now=now,
        topology=config.topology,
        transitions=tuple(_transitions(store, subjects, start, stop)),
        outages=tuple(OutageRecord(o.kind, o.subject, o.subsystem, o.start, o.end, o.cause,
                                   o.planned, tuple(o.affected), o.maintenance_id, o.id)
                      for o in found),
        exposures=tuple(ExposureRecord(r.kind, r.subject, r.subsystem, r.start_ts, r.end_ts,
                                       r.detail or "") for r in exposure_rows),
        unmonitored=tuple(_gaps(store, start, stop)),
        maintenance=tuple(_maintenance(store, start, stop, tz)),
        environment=env,
        target=config.tier.target,
        min_coverage=config.tier.min_coverage,
    )


# --------------------------------------------------------------------------- rendering


def render(report: MonthlyReport, fmt: str, lang: str) -> bytes:
    """One report as bytes. Raises PdfUnavailable without WeasyPrint, ValueError for an
    unknown format."""
    if fmt == "json":
        return (json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n").encode()
    from tier.report.html import render_html

    html = render_html(report, lang)
    if fmt == "html":
        return html.encode("utf-8")
    if fmt == "pdf":
        from tier.report.pdf import render_pdf

        return render_pdf(html)
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


def make_report(store: Store, config: Config, month: str, now: float,
                progress: Progress | None = None) -> MonthlyReport:
    if progress is not None:
        progress("read", 0, 1)
    inputs = gather(store, config, month, now)
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


def reports_dir(config: Config) -> Path:
    return config.reports.directory(config.source)


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


def write_reports(store: Store, config: Config, month: str, now: float, *,
                  languages: Sequence[str] | None = None, formats: Sequence[str] | None = None,
                  trigger: str = "schedule", progress: Progress | None = None) -> Written:
    """Make the month's report in each language and format, write each file (replacing an
    older one of the same month, language and format) and record it. A format that cannot
    be made (PDF without WeasyPrint) is logged and listed in `failures`; the others are
    written. Raises ValueError for a malformed month or one not begun."""
    report = make_report(store, config, month, now, progress)
    directory = reports_dir(config)
    directory.mkdir(parents=True, exist_ok=True)
    langs = list(languages or config.reports.languages)
    fmts = list(formats or config.reports.formats)
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
    with store.engine.begin() as conn:
        conn.execute(delete(reports).where(reports.c.month == month, reports.c.lang == lang,
                                           reports.c.format == fmt))
        result = conn.execute(insert(reports).values(
            month=month, lang=lang, format=fmt, path=str(path.resolve()), size=len(body),
            sha256=hashlib.sha256(body).hexdigest(), created_ts=now, trigger=trigger,
            complete=complete))
        row_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    found = get_report(store, row_id)
    assert found is not None
    return found


def list_reports(store: Store, month: str | None = None, limit: int = 50, offset: int = 0
                 ) -> tuple[int, list[ReportFile]]:
    """(how many there are, one page of them), newest month first."""
    query = select(reports)
    count = select(func.count()).select_from(reports)
    if month:
        query = query.where(reports.c.month == month)
        count = count.where(reports.c.month == month)
    query = query.order_by(reports.c.month.desc(), reports.c.lang, reports.c.format,
                           reports.c.id).limit(limit).offset(offset)
    with store.engine.connect() as conn:
        total = int(conn.execute(count).scalar() or 0)
        return total, [_file(r) for r in conn.execute(query)]


def get_report(store: Store, report_id: int) -> ReportFile | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(reports).where(reports.c.id == report_id)).first()
    return None if row is None else _file(row)


# --------------------------------------------------------------------------- e-mail


def email_message(config: Config, done: Written) -> dict[str, Any]:
    """The e-mail of a month's report: a summary in each language, the PDFs attached (the
    HTML files when there is no PDF)."""
    from tier.report.html import report_translator
    from tier.report.i18n import recommendation_text

    report = done.report
    files = [f for f in done.files if f.format == "pdf"] or [
        f for f in done.files if f.format == "html"]
    langs = list(dict.fromkeys([*config.reports.languages, *(f.lang for f in files)]))
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
        "to": list(config.reports.email),
        "subject": first("mail_subject", title=first("title"), site=report.site,
                         month=first.month(report.month)),
        "body": "\n\n----\n\n".join(parts),
        "attachments": [(f.filename, MEDIA_TYPES[f.format], f.path.read_bytes())
                        for f in files],
    }


async def email_reports(config: Config, done: Written) -> None:
    """Send the month's files to `reports.email` through `alerts.smtp` (the alerting room's
    sender). Raises alerts.notify.DeliveryError when the mail server refuses."""
    from alerts.notify import EmailSender

    if config.alerts.smtp is None or not config.reports.email:
        raise ValueError("e-mailing reports needs reports.email and alerts.smtp")
    key = f"report-{done.report.month}-{int(done.report.generated_at)}"
    await EmailSender(config.alerts.smtp).send(email_message(config, done), key)


# --------------------------------------------------------------------------- schedule


class ReportScheduler:
    """Service component: the month before, on the 1st at 06:00 site time, every language
    and format configured."""

    JOB_ID = "monthly-report"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.service: Service | None = None
        self.runs = 0
        self.errors = 0
        self.emailed = 0
        self.email_errors = 0
        self.last: list[ReportFile] = []

    async def start(self, service: Service) -> None:
        from apscheduler.triggers.cron import CronTrigger

        self.service = service
        assert service.scheduler is not None
        trigger = CronTrigger(day=1, hour=6, minute=0, timezone=service.config.site.timezone)
        service.scheduler.add_job(self.run, trigger, id=self.JOB_ID, name="monthly report",
                                  max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)

    async def stop(self) -> None:
        service = self.service
        if service is not None and service.scheduler is not None:
            job = service.scheduler.get_job(self.JOB_ID)
            if job is not None:
                job.remove()

    async def run(self) -> list[ReportFile]:
        service = self.service
        assert service is not None and service.store is not None
        now = self.clock()
        month = previous_month(now, service.config.site.timezone)
        try:
            done = await asyncio.to_thread(write_reports, service.store, service.config,
                                           month, now, trigger="schedule")
            self.last = done.files
        except Exception:
            self.errors += 1
            log.exception("the monthly report for %s failed", month)
            return []
        self.runs += 1
        log.info("monthly report %s: %s", month, ", ".join(f.filename for f in self.last))
        if service.config.reports.email:
            try:
                await email_reports(service.config, done)
            except Exception as exc:  # the files are written; the mail is what failed
                self.email_errors += 1
                log.error("e-mailing the monthly report for %s failed: %s", month, exc)
            else:
                self.emailed += 1
        return self.last
