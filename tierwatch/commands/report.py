"""report: the monthly Tier III readiness report, on demand.

    tierwatch report -c tierwatch.yaml                      # last month, every configured
                                                            # language and format, into the
                                                            # reports directory (and its register)
    tierwatch report -c FILE --month 2026-10 --lang vi --format pdf --out report.pdf

Exit status: 0 written; 1 the config has problems; 2 a bad argument (a malformed month, a
month not begun, an unknown format); 3 the format cannot be made here (PDF without
WeasyPrint); 4 `--email`: the mail server did not take the message.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer

from tierwatch.commands.core import ConfigOpt, load_or_exit, open_store_or_exit

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_MAIL = 4


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


class _Bar:
    """A progress bar on a terminal (stderr); silent when stderr is not one."""

    STEPS: ClassVar[dict[str, str]] = {"read": "reading the store",
                                       "score": "scoring the month's states",
                                       "render": "rendering"}

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.step: str | None = None
        self.bar: Any = None

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if step != self.step:
            self.close()
            self.step = step
            self.bar = typer.progressbar(length=max(total, 1), label=self.STEPS.get(step, step),
                                         file=sys.stderr)
            self.bar.__enter__()
        if self.bar is not None:
            self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def report_command(
    config: ConfigOpt,
    month: Annotated[str | None, typer.Option(
        help="YYYY-MM in the site's time zone (default: last month)")] = None,
    lang: Annotated[str | None, typer.Option(help="vi or en (default: the configured ones)")
                    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="pdf, html or json")] = None,
    out: Annotated[Path | None, typer.Option(
        help="write this one file here ('-': standard output) instead of the reports "
             "directory")] = None,
    email: Annotated[bool, typer.Option(
        "--email", help="also send the files to reports.email (through alerts.smtp)")] = False,
) -> None:
    """Make the monthly Tier III readiness report."""
    from alerts.notify import EmailSender
    from report.data import parse_month, previous_month
    from report.monthly import FORMATS, email_reports, make_report, render, write_reports
    from report.pdf import PdfUnavailable
    from tierwatch.service import report_settings

    cfg = load_or_exit(config)
    settings = report_settings(cfg)
    now = time.time()
    month = month or previous_month(now, cfg.site.timezone)
    try:
        parse_month(month)
    except ValueError as exc:
        typer.echo(f"error: --month: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if lang is not None and lang not in ("vi", "en"):
        typer.echo(f"error: --lang {lang!r}: use vi or en", err=True)
        raise typer.Exit(EXIT_USAGE)
    if fmt is None and out is not None and out.suffix.lstrip(".") in FORMATS:
        fmt = out.suffix.lstrip(".")
    if fmt is not None and fmt not in FORMATS:
        typer.echo(f"error: --format {fmt!r}: use {', '.join(FORMATS)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if email and (out is not None or not cfg.reports.email or cfg.alerts.smtp is None):
        typer.echo("error: --email sends what is written into the reports directory (no "
                   "--out) to reports.email, through alerts.smtp: configure both", err=True)
        raise typer.Exit(EXIT_USAGE)
    store = open_store_or_exit(cfg)
    bar = _Bar()
    try:
        if out is None:
            done = write_reports(store, settings, month, now, languages=[lang] if lang else None,
                                 formats=[fmt] if fmt else None, trigger="cli", progress=bar)
            bar.close()
            for f in done.files:
                typer.echo(f"{f.path}  ({f.size} bytes)")
            for failed in done.failures:
                typer.echo(f"error: {month} {failed.lang} {failed.format}: {failed.message}",
                           err=True)
            if email:
                try:
                    mailer = EmailSender(cfg.alerts.smtp) if cfg.alerts.smtp else None
                    asyncio.run(email_reports(settings, done, mailer))
                except Exception as exc:
                    typer.echo(f"error: the e-mail was not sent: {exc}", err=True)
                    raise typer.Exit(EXIT_MAIL) from None
                typer.echo(f"sent to {', '.join(cfg.reports.email)}")
            if done.failures:
                raise typer.Exit(EXIT_UNAVAILABLE)
            return
        report = make_report(store, settings, month, now, progress=bar)
        bar("render", 0, 1)
        body = render(report, fmt or "pdf", lang or cfg.reports.languages[0])
        bar("render", 1, 1)
        bar.close()
    except PdfUnavailable as exc:
        bar.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    except ValueError as exc:
        bar.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        store.close()
    if str(out) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        out.write_bytes(body)
        typer.echo(f"{out}  ({len(body)} bytes)")
