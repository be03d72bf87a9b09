"""`tierwatch profile test` (a profile against a recorded walk, offline) and `tierwatch
profile new` (a draft profile from a MIB)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from collector.profiles import ProfileError
from collector.profiletest import ProfileRun
from collector.walkfile import WalkFileError

app = typer.Typer(help="Device profiles: test one against a recorded walk; draft one from a MIB.",
                  no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="tierwatch.yaml whose snmp.profile_dirs are searched too")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="profile")


def _profile_dirs(config: Path | None) -> list[Path]:
    if config is None:
        return []
    from tierwatch.commands.core import load_or_exit

    return list(load_or_exit(config).snmp.profile_dirs)


@app.command("test")
def test_command(
    profile: Annotated[list[str], typer.Argument(
        help="profile name(s), profile file(s), or `auto` (chosen by the walk's sysObjectID "
             "as for a live device)")],
    walk: Annotated[Path, typer.Option("--walk", "-w", help="FILE.snmprec or snmpwalk -On "
                                       "output")],
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    max_groups: Annotated[int, typer.Option(help="subtrees listed as not read")] = 40,
) -> None:
    """Run PROFILE against a recorded walk, offline: the samples and statuses it would give,
    and what in the walk it did not read. Exit 1 when the poll fails or a profile asked
    for gives no sample from the walk."""
    from collector.profiletest import run_walk

    try:
        run = asyncio.run(run_walk(profile, walk, _profile_dirs(config)))
    except (ProfileError, WalkFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(run.to_json(), ensure_ascii=False, indent=1))
    else:
        _print_run(run, max_groups)
    if run.failed:
        raise typer.Exit(1)


def _print_run(run: ProfileRun, max_groups: int) -> None:
    walk = run.walk
    typer.echo(f"walk: {walk.source} ({walk.format}, {len(walk.values)} OIDs"
               + (f", {walk.skipped} lines skipped" if walk.skipped else "") + ")")
    for problem in walk.problems[:10]:
        typer.echo(f"  skipped {problem}")
    if run.auto is not None:
        for name, why in run.auto.reasons.items():
            typer.echo(f"auto: {name} ({why})")
    typer.echo(f"profiles: {', '.join(run.profiles)}")
    result = run.result
    if not result.ok:
        typer.echo(f"poll: {result.error}: {result.message}")
    if run.empty_profiles:
        typer.echo(f"no samples from: {', '.join(run.empty_profiles)}")
    typer.echo(f"status: {run.status}")
    for comp in result.components:
        reason = f" - {comp.reason}" if comp.reason and comp.status != "ok" else ""
        conditions = f" [{', '.join(sorted(comp.conditions))}]" if comp.conditions else ""
        typer.echo(f"  [{comp.status}] {comp.component}{reason}{conditions}")
    typer.echo(f"samples: {len(result.samples)}")
    for sample in result.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items() if k != "device")
        typer.echo(f"  {sample.name}{{{labels}}} {sample.value:g}")
    groups = run.unread_groups(max_groups)
    typer.echo(f"not read: {len(run.unread)} of {len(walk.values)} OIDs"
               + (f", in {len(groups)} subtrees" if groups else ""))
    for oid, count in groups:
        typer.echo(f"  {oid}  ({count} OID{'s' if count != 1 else ''})")


@app.command("new")
def new_command(
    mib: Annotated[str, typer.Option("--mib", help="the MIB module, e.g. PowerNet-MIB")],
    table: Annotated[list[str], typer.Option("--table", help="a table of the MIB (repeat)")
                     ] = [],  # noqa: B006
    obj: Annotated[list[str], typer.Option(
        "--object", help="a scalar, or a group of scalars, of the MIB (repeat)")] = [],  # noqa: B006
    mib_dir: Annotated[list[Path], typer.Option(
        "--mib-dir", help="a directory of MIB files, searched first (repeat)")] = [],  # noqa: B006
    name: Annotated[str | None, typer.Option(help="profile name (default: from the MIB)")
                    ] = None,
    prefix: Annotated[str | None, typer.Option(
        help="metric name prefix, e.g. ups_ (default: from the MIB's name)")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="write the draft here (default: print it)")] = None,
    walk: Annotated[Path | None, typer.Option(
        "--walk", "-w", help="then run the draft against this recorded walk")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write a draft profile from a MIB compiled with pysmi (no download): each chosen
    object's OID, type, enum names, units and a Prometheus name in base units."""
    from collector.mibdraft import MibError, mib_dirs, new_profile

    extra = list(mib_dir)
    if config is not None:
        from tierwatch.commands.core import load_or_exit

        extra += list(load_or_exit(config).snmp.mib_dirs)
    try:
        draft = new_profile(mib, table, obj, mib_dirs(extra), name=name, prefix=prefix)
    except MibError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    text = draft.text()
    if out is None and walk is None:
        typer.echo(text, nl=False)
    else:
        target = out or Path(f"{draft.name}.yaml")
        target.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {target}", err=True)
    for note in draft.notes:
        typer.echo(f"note: {note}", err=True)
    if walk is not None:
        test_command([str(out or Path(f"{draft.name}.yaml"))], walk, config)
