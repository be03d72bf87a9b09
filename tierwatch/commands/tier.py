"""score, whatif: the Tier engine from the command line, without a running monitor.

Without a monitor there are no live statuses: every node is taken as available unless an
`--assume NODE=STATUS` says otherwise, so `score` shows the design and the state assumed.

Exit status: 0 done (for `whatif`: the removal drops no load), 1 the config has problems,
2 a bad argument (an unknown node, an unknown status), 3 `whatif`: the removal would drop a
load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tier.graph import CompiledTopology, TopologyError, compile_topology
from tier.score import StateAnalysis, TierSnapshot, WhatIf, score, whatif
from tierwatch.config import ConfigError, load
from tierwatch.model import NodeStatus

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="tierwatch.yaml to use")]
AssumeOpt = Annotated[
    list[str],
    typer.Option(
        "--assume",
        metavar="NODE=STATUS",
        help="take a node's status as given (ok, degraded, failed, unknown, bypass, off); "
        "repeat for more nodes",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the snapshot as JSON")]
RemoveOpt = Annotated[
    list[str],
    typer.Option("--remove", metavar="NODE", help="a node to take out of service; repeatable"),
]

EXIT_CONFIG = 1
EXIT_USAGE = 2
EXIT_WOULD_DROP = 3
# Loads listed one by one up to this many; beyond, only those short of two paths or unserved.
LOADS_SHOWN = 40

ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}


def register(app: typer.Typer) -> None:
    app.command("score")(score_command)
    app.command("whatif")(whatif_command)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _load_topology(path: Path) -> CompiledTopology:
    try:
        config = load(path)
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        return compile_topology(config.topology)
    except TopologyError as exc:  # the loader checks the same; kept for a clear message
        for line in exc.problems:
            typer.echo(f"error: {path}: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def parse_assumptions(values: list[str], topo: CompiledTopology) -> dict[str, NodeStatus]:
    """`NODE=STATUS` strings -> statuses; raises ValueError naming what is wrong."""
    statuses: dict[str, NodeStatus] = {}
    allowed = ", ".join(s.value for s in NodeStatus)
    for value in values:
        node, sep, status = value.partition("=")
        node, status = node.strip(), status.strip().lower()
        if not sep or not node or not status:
            raise ValueError(f"--assume {value!r}: expected NODE=STATUS")
        if node not in topo.node_ids:
            raise ValueError(f"--assume {value!r}: unknown node {node!r}")
        try:
            statuses[node] = NodeStatus(status)
        except ValueError:
            raise ValueError(f"--assume {value!r}: unknown status {status!r} ({allowed})") from None
    return statuses


def score_command(
    config: ConfigOpt,
    assume: AssumeOpt = [],  # noqa: B006 (typer reads the default, never mutates it)
    as_json: JsonOpt = False,
) -> None:
    """Score the configured topology: tiers, redundancy, paths, SPOFs, maintainability."""
    topo = _load_topology(config)
    try:
        statuses = parse_assumptions(assume, topo)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    snapshot = score(topo, statuses)
    if as_json:
        typer.echo(json.dumps(snapshot.to_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(render_snapshot(snapshot))


def whatif_command(
    config: ConfigOpt,
    remove: RemoveOpt,
    assume: AssumeOpt = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Could these nodes be taken out of service now? The state afterwards and a verdict."""
    topo = _load_topology(config)
    try:
        statuses = parse_assumptions(assume, topo)
        answer = whatif(topo, statuses, remove)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        typer.echo(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(render_whatif(answer))
    if not answer.ok:
        raise typer.Exit(EXIT_WOULD_DROP)


# --------------------------------------------------------------------------- rendering


def _tier(value: int) -> str:
    return "0 (a load is not served)" if value == 0 else ROMAN[value]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out = [line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def _number(value: float) -> str:
    return f"{value:g}"


def _state_lines(state: StateAnalysis) -> list[str]:
    lines: list[str] = []
    if state.groups:
        lines.append("  Capacity groups")
        rows = [
            [
                g.id,
                g.kind,
                _number(g.demand),
                str(g.required),
                str(g.installed),
                str(g.available),
                str(g.spare),
                g.label,
            ]
            for g in state.groups
        ]
        headers = [
            "group",
            "kind",
            "demand",
            "required",
            "installed",
            "available",
            "spare",
            "label",
        ]
        lines += ["    " + row for row in _table(headers, rows)]
    loads = list(state.loads)
    shown = loads
    if len(loads) > LOADS_SHOWN:
        shown = [ld for ld in loads if not ld.served or ld.paths_all < 2]
    if loads:
        lines.append(f"  Loads ({len(loads)})")
        rows = [
            [
                ld.id,
                _number(ld.demand),
                str(ld.cords),
                str(ld.paths_all),
                str(ld.paths_active),
                "yes" if ld.served else f"NO: {ld.reason}",
            ]
            for ld in shown[:LOADS_SHOWN]
        ]
        if rows:
            headers = ["load", "demand", "cords", "paths", "active", "served"]
            lines += ["    " + row for row in _table(headers, rows)]
        hidden = len(loads) - len(rows)
        if hidden:
            lines.append(
                f"    ... {hidden} more loads, each served with 2 or more paths"
                if len(shown) <= LOADS_SHOWN
                else f"    ... {hidden} more loads"
            )
    spofs = ", ".join(state.spofs) or "none"
    lines.append(f"  Single points of failure: {spofs}")
    if state.maintainability:
        lines.append("  Concurrently maintainable: no; taking out one of these drops loads:")
        for drop in state.maintainability[:LOADS_SHOWN]:
            lost = ", ".join(f"{x.load} ({x.reason})" for x in drop.lost[:6])
            more = f" and {len(drop.lost) - 6} more" if len(drop.lost) > 6 else ""
            lines.append(f"    {drop.node}: {lost}{more}")
        if len(state.maintainability) > LOADS_SHOWN:
            lines.append(f"    ... {len(state.maintainability) - LOADS_SHOWN} more elements")
    else:
        lines.append("  Concurrently maintainable: yes (every element can be taken out)")
    return lines


def render_snapshot(snapshot: TierSnapshot) -> str:
    lines = [
        f"Site: design tier {_tier(snapshot.design_tier)}, live tier "
        f"{_tier(snapshot.live_tier)}, readiness {snapshot.score:g}/100"
    ]
    if not snapshot.subsystems:
        lines.append("No topology configured (add a `topology:` section).")
    for sub in snapshot.subsystems:
        lines.append("")
        lines.append(
            f"{sub.name}: design tier {_tier(sub.design.tier)}, live tier {_tier(sub.live.tier)}"
        )
        if sub.unavailable:
            out = ", ".join(f"{c.id} ({c.status})" for c in sub.unavailable)
            lines.append(f"  Out of service: {out}")
        if sub.exposed:
            exposed = ", ".join(f"{c.id} ({c.status})" for c in sub.exposed)
            lines.append(f"  In service but exposed: {exposed}")
        if sub.not_counted:
            lines.append(f"  Not counted for the tier: {', '.join(sub.not_counted)}")
        lines += _state_lines(sub.live)
    return "\n".join(lines)


def render_whatif(answer: WhatIf) -> str:
    lines = [answer.verdict]
    if answer.lost:
        lines.append("Loads dropped:")
        lines += [f"  {x.load}: {x.reason}" for x in answer.lost]
    lines.append("")
    lines.append(f"State with {', '.join(answer.removed)} out of service:")
    lines.append(render_snapshot(answer.after))
    return "\n".join(lines)
