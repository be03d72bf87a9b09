"""alerts and maintenance: what on-call staff type.

    tierwatch alerts list -c tierwatch.yaml [--all] [--json]
    tierwatch alerts ack -c tierwatch.yaml 12 --by an.nguyen --comment "đang xử lý"
    tierwatch alerts check-rules alerts/rules/*.yml
    tierwatch maintenance add -c tierwatch.yaml --title "Thay ắc quy UPS-A" \\
        --start "2026-12-01 22:00" --duration 2h --device UPS-A --by an.nguyen
    tierwatch maintenance list -c tierwatch.yaml
    tierwatch maintenance remove -c tierwatch.yaml 3

They work on the store, so they act on a running tierwatch (which picks the change up at its
next evaluation) and work while it is stopped. Times are in the site's time zone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from tierwatch.commands.core import ConfigOpt, load_or_exit, open_store_or_exit
from tierwatch.config import Config
from tierwatch.core.store import Store

alerts_app = typer.Typer(help="Alerts: list and acknowledge; check rule files.",
                         no_args_is_help=True)
maintenance_app = typer.Typer(help="Maintenance windows: book, list, remove.",
                              no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(maintenance_app, name="maintenance")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _open(config_path: Path) -> tuple[Config, Store]:
    config = load_or_exit(config_path)
    return config, open_store_or_exit(config)


def _local(ts: float | None, tz: str) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- alerts


@alerts_app.command("list")
def alerts_list(
    config: ConfigOpt,
    all_: Annotated[bool, typer.Option("--all", help="resolved alerts of the last 7 days too")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    vietnamese: Annotated[bool, typer.Option("--vi", help="summaries in Vietnamese")] = False,
) -> None:
    """Active alerts (pending and firing), newest first, with who acknowledged them."""
    from alerts.admin import list_alerts

    cfg, store = _open(config)
    try:
        records = list_alerts(store, include_resolved=all_,
                              since=time.time() - 7 * 86400 if all_ else None)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=1))
        return
    if not records:
        typer.echo("no active alerts" if not all_ else "no alerts in the last 7 days")
        return
    tz = cfg.site.timezone
    for r in records:
        summary = r.annotations.get("summary_vi" if vietnamese else "summary", r.alertname)
        ack = f"  acked by {r.acked_by} {_local(r.acked, tz)}" if r.acked else ""
        muted = f"  [{r.muted}]" if r.muted else ""
        typer.echo(f"{r.id:>5} {r.state:8} {r.severity:8} {r.alertname:34} "
                   f"since {_local(r.fired or r.active_since, tz)}{ack}{muted}")
        typer.echo(f"      {summary}")
        if r.ack_comment:
            typer.echo(f"      ack: {r.ack_comment}")


@alerts_app.command("ack")
def alerts_ack(
    config: ConfigOpt,
    alert: Annotated[str, typer.Argument(
        help="alert id (from `alerts list`) or its whole fingerprint")],
    by: Annotated[str, typer.Option("--by", help="who acknowledges (name or login)")],
    comment: Annotated[str, typer.Option(help="what is being done")] = "",
) -> None:
    """Acknowledge an alert: it stops re-notifying and is not escalated."""
    from alerts.admin import NotFound, acknowledge

    cfg, store = _open(config)
    try:
        record = acknowledge(store, alert, by, comment, time.time(),
                             ack_for=cfg.alerts.ack_for)
    except (NotFound, ValueError) as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    until = _local(record.ack_until, cfg.site.timezone)
    typer.echo(f"alert {record.id} ({record.alertname}) acknowledged by {record.acked_by} "
               f"until {until} or until it resolves")


@alerts_app.command("check-rules")
def alerts_check_rules(
    files: Annotated[list[Path], typer.Argument(help="rule files (Prometheus format)")],
    profile_dir: Annotated[list[Path], typer.Option(help="extra profile directories")] = [],  # noqa: B006
    prometheus_only: Annotated[bool, typer.Option(
        "--prometheus-only", help="the files are for Prometheus alone: any PromQL and "
                                  "template goes (metric names and labels still checked)")
    ] = False,
) -> None:
    """Check rule files as the built-in engine loads them (PromQL subset, metric names,
    labels, annotations) and with promtool, if installed."""
    from alerts.rules import check_rule_files, deprecated_rule_files

    problems, warnings = check_rule_files(files, profile_dir, prometheus_only=prometheus_only)
    promtool = shutil.which("promtool")
    old = set(deprecated_rule_files(files))
    for path in files:
        if promtool and path not in old and _has_groups(path):
            run = subprocess.run([promtool, "check", "rules", str(path)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                problems.append(f"{path}: promtool: {(run.stderr or run.stdout).strip()}")
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)
    for line in problems:
        typer.echo(f"error: {line}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(files)} file(s): ok")


def _has_groups(path: Path) -> bool:
    """A rule file for promtool (an inhibition file is Alertmanager's)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return True  # promtool says what is wrong with it
    return not (isinstance(data, dict) and "inhibit_rules" in data and "groups" not in data)


# --------------------------------------------------------------------------- maintenance


@maintenance_app.command("add")
def maintenance_add(
    config: ConfigOpt,
    title: Annotated[str, typer.Option(help="what the work is")],
    start: Annotated[str, typer.Option(help="'2026-12-01 22:00' in site time, or ISO")],
    by: Annotated[str, typer.Option("--by", help="who books it")],
    end: Annotated[str | None, typer.Option(help="end time (or --duration)")] = None,
    duration: Annotated[str | None, typer.Option(help="length: 2h, 90m ...")] = None,
    device: Annotated[list[str], typer.Option(help="device id or name (repeatable)")] = [],  # noqa: B006
    component: Annotated[list[str], typer.Option(
        help="DEVICE/COMPONENT or a topology node (repeatable)")] = [],  # noqa: B006
    subsystem: Annotated[list[str], typer.Option(
        help="power, cooling, network (repeatable)")] = [],  # noqa: B006
    recurrence: Annotated[str, typer.Option(help="none, daily, weekly, monthly")] = "none",
    until: Annotated[str | None, typer.Option(help="last start of a recurring window")] = None,
    comment: Annotated[str, typer.Option()] = "",
    force: Annotated[bool, typer.Option(
        "--force", help="book it even if it would drop loads on the live state")] = False,
    server: Annotated[str | None, typer.Option(
        help="the monitor to ask for the live state (default: server.listen)")] = None,
) -> None:
    """Book a maintenance window: alerts it covers page nobody while it is on. Its scope is
    checked against redundancy on the running monitor's live state first: a window that
    would drop a load is refused (exit 3, the loads named) unless --force."""
    from collector.directory import DeviceDirectory
    from tierwatch.commands.tier import maintenance_check
    from tierwatch.core.configtypes import parse_duration
    from tierwatch.core.maintenance import (
        WouldDropLoads,
        book_maintenance,
        parse_time,
        resolve_scope,
    )

    cfg, store = _open(config)
    tz = cfg.site.timezone
    try:
        start_ts = parse_time(start, tz)
        if (end is None) == (duration is None):
            raise ValueError("give --end or --duration")
        end_ts = parse_time(end, tz) if end is not None else start_ts + parse_duration(duration)
        until_ts = parse_time(until, tz) if until else None
        devices = DeviceDirectory(cfg.devices, cfg.agents, cfg.probes,
                                  modbus=cfg.modbus).names()
        scope = {"devices": device, "components": component, "subsystems": subsystem}
        check, note = maintenance_check(cfg, resolve_scope(devices, scope), server)
        typer.echo(f"note: redundancy check: {note}", err=True)
        booking = book_maintenance(
            store, devices, title=title, start=start_ts, end=end_ts, scope=scope,
            by=by, now=time.time(), recurrence=recurrence, until=until_ts, comment=comment,
            check=None if check is None else (lambda _scope: check), force=force)
        if check is None:
            booking.warnings.append("not checked against redundancy (no live state)")
    except WouldDropLoads as exc:
        store.close()
        typer.echo(f"error: {exc}; book it anyway with --force", err=True)
        raise typer.Exit(3) from None
    except ValueError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    w = booking.window
    typer.echo(f"maintenance window {w.id} booked: {w.title}, {_local(w.start, tz)} to "
               f"{_local(w.end, tz)}" + (f", {w.recurrence}" if w.recurrence != "none" else "")
               + f", covering {json.dumps(w.scope.to_json(), ensure_ascii=False)}")
    for warning in booking.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if cfg.alerts.alertmanager is not None:
        typer.echo("the running tierwatch creates the Alertmanager silence at its next "
                   "evaluation")


@maintenance_app.command("list")
def maintenance_list(
    config: ConfigOpt,
    all_: Annotated[bool, typer.Option("--all", help="removed windows too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Maintenance windows, with whether each is on now and its next occurrence."""
    from tierwatch.core.maintenance import windows

    cfg, store = _open(config)
    try:
        found = windows(store, include_deleted=all_)
        silences = {w.id: [r.silence_id for r in store.maintenance_silences(w.id)]
                    for w in found}
    finally:
        store.close()
    now, tz = time.time(), cfg.site.timezone
    rows = [{**w.to_json(tz, now), "silences": silences.get(w.id, [])} for w in found]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no maintenance windows")
        return
    for w, row in zip(found, rows, strict=True):
        state = "ON NOW" if row["active"] else "booked"
        nxt = row["next"]
        when = f"next {nxt['start'][:16]} to {nxt['end'][:16]}" if nxt else "over"
        typer.echo(f"{w.id:>4} {state:7} {w.title} ({w.recurrence}; {when}) by {w.created_by}")
        typer.echo(f"     covers {json.dumps(w.scope.to_json(), ensure_ascii=False)}"
                   + (f"; silences {', '.join(row['silences'])}" if row["silences"] else ""))


@maintenance_app.command("remove")
def maintenance_remove(
    config: ConfigOpt,
    window: Annotated[int, typer.Argument(help="window id (from `maintenance list`)")],
) -> None:
    """Remove a window; the running tierwatch expires its Alertmanager silences."""
    from tierwatch.core.maintenance import NotFound, remove_maintenance

    _cfg, store = _open(config)
    try:
        remove_maintenance(store, window, time.time())
    except NotFound as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    typer.echo(f"maintenance window {window} removed")
