"""`tierwatch discover RANGE...`: sweep address ranges with the configured credentials and
print (or `--write` into the config) the devices that answer, with the profiles `auto`
would choose for each and why."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from collector.config import resolved_credentials
from collector.discovery.configwrite import ConfigWriteError, add_devices
from collector.discovery.sweep import (
    AddressResult,
    NamedCredentials,
    Sweeper,
    SweepOptions,
    SweepReport,
)
from collector.discovery.targets import TargetError, expand
from collector.snmp.client import Credentials, EngineUnavailable


def register(app: typer.Typer) -> None:
    app.command("discover")(discover)


def credentials_in_order(cfg_credentials: dict[str, object], chosen: list[str],
                         communities: list[str]) -> list[NamedCredentials]:
    """The configured credentials (all, in the config's order, or those `chosen` in the
    order given), then ad-hoc communities."""
    from collector.config import CredentialConfig

    creds: dict[str, CredentialConfig] = {k: v for k, v in cfg_credentials.items()
                                          if isinstance(v, CredentialConfig)}
    names = chosen or list(creds)
    unknown = [n for n in names if n not in creds]
    if unknown:
        raise ValueError(f"unknown credentials {', '.join(unknown)} "
                         f"(known: {', '.join(creds) or 'none'})")
    out = [NamedCredentials(n, resolved_credentials(creds, n)) for n in names]
    for i, community in enumerate(communities, 1):
        out.append(NamedCredentials(f"community-{i}",
                                    Credentials(version="2c", community=community)))
    return out


def discover(
    targets: Annotated[list[str], typer.Argument(
        help="addresses, prefixes (10.10.0.0/24), ranges (10.10.0.10-40); ADDRESS:PORT for "
             "one address on another port")],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="tierwatch.yaml: its credentials (tried in order), devices "
                               "(matched, not duplicated) and profile directories")] = None,
    credentials: Annotated[list[str], typer.Option(
        "--credentials", help="configured credentials to try, in this order (default: all, "
                              "in the config's order)")] = [],  # noqa: B006
    community: Annotated[list[str], typer.Option(
        help="a v2c community to try after the configured credentials")] = [],  # noqa: B006
    port: Annotated[int, typer.Option(help="UDP port where none is given")] = 161,
    timeout: Annotated[float, typer.Option(help="seconds per attempt")] = 1.0,
    retries: Annotated[int, typer.Option()] = 1,
    concurrency: Annotated[int, typer.Option(help="addresses asked at once")] = 64,
    rate: Annotated[float, typer.Option(help="requests started per second (0: no limit)")
                    ] = 200.0,
    write: Annotated[bool, typer.Option(
        "--write", help="add the new devices to the config file (comments and order "
                        "kept)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Sweep address ranges for SNMP devices; say what `profile: auto` would choose."""
    from tierwatch.commands.core import load_or_exit

    if write and config is None:
        typer.echo("error: --write needs --config FILE", err=True)
        raise typer.Exit(2)
    cfg = load_or_exit(config) if config is not None else None
    try:
        addresses = expand(targets, default_port=port)
        creds = credentials_in_order(dict(cfg.credentials) if cfg else {}, credentials,
                                     community)
        if not creds:
            raise ValueError("no credentials to try: give --config with a credentials: "
                             "section, or --community")
        options = SweepOptions(timeout=timeout, retries=retries,
                               concurrency=max(1, concurrency), rate=max(0.0, rate),
                               engine=cfg.snmp.engine if cfg else "native",
                               profile_dirs=tuple(cfg.snmp.profile_dirs) if cfg else ())
        sweeper = Sweeper(creds, options, cfg.devices if cfg else ())
    except (TargetError, ValueError, EngineUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report = _run(sweeper, addresses, show_progress=not (quiet or as_json))
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        print_report(report)
    if write and config is not None:
        _write(config, report)


def _run(sweeper: Sweeper, addresses: list[tuple[str, int]], show_progress: bool
         ) -> SweepReport:
    if not show_progress:
        return asyncio.run(sweeper.sweep(addresses))
    with typer.progressbar(length=len(addresses), label="sweeping", file=sys.stderr,
                           show_pos=True) as bar:
        return asyncio.run(sweeper.sweep(addresses, lambda _: bar.update(1)))


def print_report(report: SweepReport) -> None:
    counts = report.counts()
    typer.echo(f"swept {len(report.results)} addresses in {report.duration:.1f} s: "
               f"{counts['found']} found ({len(report.new)} new), {counts['bad_answer']} "
               f"answering garbage, {counts['refused']} refusing our credentials, "
               f"{counts['no_answer']} no answer")
    known = [r for r in report.found if r.known_model]
    unknown = [r for r in report.found if not r.known_model]
    if known:
        typer.echo("found:")
        for r in known:
            _print_found(r)
    if unknown:
        typer.echo("unknown sysObjectIDs (polled with `system` only until a profile claims "
                   "them):")
        for r in unknown:
            _print_found(r)
    if report.of("bad_answer"):
        typer.echo("answering garbage:")
        for r in report.of("bad_answer"):
            typer.echo(f"  {r.address}  {r.detail}")
    if report.of("refused"):
        typer.echo("refusing our credentials:")
        for r in report.of("refused"):
            typer.echo(f"  {r.address}  {r.detail}")
    silent = report.of("no_answer")
    if silent:
        shown = ", ".join(r.address for r in silent[:20])
        more = f" and {len(silent) - 20} more" if len(silent) > 20 else ""
        typer.echo(f"no answer: {shown}{more}")


def _print_found(r: AddressResult) -> None:
    where = f"configured as {r.configured}" if r.configured else "new"
    typer.echo(f"  {r.address}  {r.sys_name or '(no sysName)'}  [{where}]  "
               f"credentials {r.credential}")
    typer.echo(f"    sysObjectID {r.sys_object_id or '-'}  {r.vendor}")
    if r.sys_descr:
        typer.echo(f"    sysDescr {r.sys_descr.splitlines()[0][:120]}")
    typer.echo(f"    profile auto -> {', '.join(r.profiles)}")
    for name, why in r.reasons.items():
        typer.echo(f"      {name}: {why}")
    for problem in r.problems:
        typer.echo(f"    ! {problem}")


def _write(config: Path, report: SweepReport) -> None:
    from tierwatch.config import ConfigError, parse
    from tierwatch.core.files import replace_durably

    text = config.read_text(encoding="utf-8")
    try:
        new_text, added = add_devices(text, report.results)
    except ConfigWriteError as exc:
        typer.echo(f"error: {config}: {exc}", err=True)
        raise typer.Exit(1) from None
    if not added:
        typer.echo(f"{config}: nothing new to add")
        return
    try:
        parse(new_text, config)  # the file as it would be, checked before it replaces
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        typer.echo(f"{config}: not written (the result would not load)", err=True)
        raise typer.Exit(1) from None
    replace_durably(config, new_text.encode("utf-8"), config.stat().st_mode & 0o777)
    typer.echo(f"{config}: added {len(added)} device(s): {', '.join(added)}")
