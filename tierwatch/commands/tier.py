"""score, whatif: the Tier engine from the command line, on the live state when it can.

Both commands first ask the monitor running this config (`GET /api/v1/tier` at the config's
`server.listen`, or `--server URL`) for the live node statuses and measured demands, and
score those: `whatif` then says "not now: UPS-B is on bypass" when that is the case. The
monitor must run the same topology (its fingerprint is compared). When none answers, or
with `--offline`, every node is taken as available (the design state). Either way a note on
stderr says which state was used, and `--assume NODE=STATUS` overrides any node's status.
A monitor whose reads need a token (`api.read_auth: token`) is asked with
`$TIERWATCH_TOKEN` (`tierwatch token create --role viewer`).

Exit status: 0 done (for `whatif`: the removal drops no load), 1 the config has problems,
2 a bad argument (an unknown node, an unknown status), 3 `whatif`: the removal would drop a
load.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from livetier.engine import topology_fingerprint
from tier.graph import CompiledTopology, TopologyError, compile_topology
from tier.quantity import decimal_text
from tier.score import StateAnalysis, TierSnapshot, WhatIf, score, whatif
from tier.status import NodeStatus
from tier.topology import node_bindings
from tierwatch.config import Config, ConfigError, load
from tierwatch.core.configtypes import split_host_port
from tierwatch.core.maintenance import RedundancyCheck, Scope, scope_nodes

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
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="the monitor to ask for the live state (default: the config's server.listen)",
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="do not ask a running monitor: every node is available unless --assume says otherwise",
    ),
]
LIVE_TIMEOUT = 3.0  # seconds to wait for the monitor's answer

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


def _load_topology(path: Path) -> tuple[Config, CompiledTopology]:
    try:
        config = load(path)
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        return config, compile_topology(config.topology)
    except TopologyError as exc:  # the loader checks the same; kept for a clear message
        for line in exc.problems:
            typer.echo(f"error: {path}: {line}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


# --------------------------------------------------------------------------- live state


@dataclass
class LiveInputs:
    """The live state a monitor scored, as `GET /api/v1/tier` gives it (or none)."""

    live: bool
    note: str
    url: str | None = None
    as_of: float | None = None
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    demands: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"live": self.live, "url": self.url, "as_of": self.as_of, "note": self.note}


def monitor_url(config: Config) -> str | None:
    """Where the monitor running this config serves, from `server.listen` (None: port 0)."""
    host, port = split_host_port(config.server.listen, default_port=None)
    if not port:
        return None
    host = host.strip("[]")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _when(ts: float, timezone: str) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


TOKEN_ENV = "TIERWATCH_TOKEN"  # a viewer token for a monitor whose reads need one
OFFLINE_STATE = "every node is taken as available (the design state) unless --assume says otherwise"


def live_inputs(
    config: Config, topo: CompiledTopology, server: str | None, offline: bool
) -> LiveInputs:
    """Ask the monitor for its live statuses; never fails: the note says what happened."""
    if offline:
        return LiveInputs(False, f"--offline: {OFFLINE_STATE}")
    url = (server or monitor_url(config) or "").rstrip("/")
    if not url:
        return LiveInputs(False, f"server.listen has no fixed port to ask; {OFFLINE_STATE}")
    request = urllib.request.Request(f"{url}/api/v1/tier")
    token = os.environ.get(TOKEN_ENV)
    if token:  # the monitor's reads need one unless `api.read_auth: open`
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=LIVE_TIMEOUT) as resp:
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = ""
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(exc.read()).get("message", "")
        return LiveInputs(
            False,
            f"the monitor at {url} answered {exc.code}"
            f"{': ' + detail if detail else ''}; {OFFLINE_STATE}",
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return LiveInputs(False, f"no monitor answers at {url} ({reason}); {OFFLINE_STATE}")
    if body.get("topology_fingerprint") != topology_fingerprint(config.topology):
        return LiveInputs(False, f"the monitor at {url} runs a different topology; {OFFLINE_STATE}")
    statuses = {
        node: NodeStatus(status)
        for node, status in body.get("statuses", {}).items()
        if node in topo.node_ids
    }
    demands = {
        load: float(value)
        for load, value in body.get("demands", {}).items()
        if load in topo.node_ids
    }
    as_of = float(body.get("as_of") or 0.0)
    note = f"live state from the monitor at {url}, as of {_when(as_of, config.site.timezone)}"
    pending = body.get("pending") or []
    if pending:
        note += (
            f"; {len(pending)} node(s) not heard from yet, taken as available: "
            f"{', '.join(pending[:6])}{' ...' if len(pending) > 6 else ''}"
        )
    return LiveInputs(True, note, url, as_of, statuses, demands)


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


def _inputs(
    config: Path, assume: list[str], server: str | None, offline: bool
) -> tuple[CompiledTopology, LiveInputs, dict[str, NodeStatus]]:
    cfg, topo = _load_topology(config)
    try:
        assumed = parse_assumptions(assume, topo)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    inputs = (
        live_inputs(cfg, topo, server, offline)
        if topo.node_ids
        else LiveInputs(False, "no topology configured")
    )
    typer.echo(f"note: {inputs.note}", err=True)
    return topo, inputs, {**inputs.statuses, **assumed}


def score_command(
    config: ConfigOpt,
    assume: AssumeOpt = [],  # noqa: B006 (typer reads the default, never mutates it)
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    offline: OfflineOpt = False,
) -> None:
    """Score the configured topology: tiers, redundancy, paths, SPOFs, maintainability."""
    topo, inputs, statuses = _inputs(config, assume, server, offline)
    snapshot = score(topo, statuses, inputs.demands)
    if as_json:
        doc = {**snapshot.to_json(), "source": inputs.to_json()}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    typer.echo(render_snapshot(snapshot))


def whatif_command(
    config: ConfigOpt,
    remove: RemoveOpt,
    assume: AssumeOpt = [],  # noqa: B006
    as_json: JsonOpt = False,
    server: ServerOpt = None,
    offline: OfflineOpt = False,
) -> None:
    """Could these nodes be taken out of service now? The state afterwards and a verdict."""
    topo, inputs, statuses = _inputs(config, assume, server, offline)
    try:
        answer = whatif(topo, statuses, remove, inputs.demands)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    if as_json:
        doc = {**answer.to_json(), "source": inputs.to_json()}
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
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


def _number(value: Fraction) -> str:
    return decimal_text(value)  # exactly as written: 30000.00002, not 30000


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
    if state.manual_transfer:
        # The SPOFs are taken with the manual ties open: a load carried only through one
        # is not reached there at all, so it needs a line of its own.
        transfers = state.manual_transfer[:LOADS_SHOWN]
        beyond = len(state.manual_transfer) - len(transfers)
        lines.append(
            "  Depends on a manual transfer: "
            + "; ".join(m.describe() for m in transfers)
            + (f"; and {beyond} more loads" if beyond else "")
        )
    note = state.maintainability_note
    if note is not None:
        lines.append(f"  Not concurrently maintainable: {note}")
        if state.maintainability:
            lines.append("  Besides, taking out one of these drops loads still served:")
    elif state.maintainability:
        lines.append("  Concurrently maintainable: no; taking out one of these drops loads:")
    if state.maintainability:
        for drop in state.maintainability[:LOADS_SHOWN]:
            lost = ", ".join(f"{x.load} ({x.reason})" for x in drop.lost[:6])
            more = f" and {len(drop.lost) - 6} more" if len(drop.lost) > 6 else ""
            lines.append(f"    {drop.node}: {lost}{more}")
        if len(state.maintainability) > LOADS_SHOWN:
            lines.append(f"    ... {len(state.maintainability) - LOADS_SHOWN} more elements")
    elif note is None:
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


# --------------------------------------------------------------------------- maintenance


def maintenance_check(config: Config, scope: Scope, server: str | None = None
                      ) -> tuple[RedundancyCheck | None, str]:
    """A maintenance window's scope against the running monitor's live state (what the API
    does with its own live tier): (the check, or None when no live state could be had; a
    note saying where the state came from)."""
    if not config.topology.node_ids():
        return None, "no topology configured"
    topo = compile_topology(config.topology)
    inputs = live_inputs(config, topo, server, False)
    if not inputs.live:
        return None, inputs.note
    nodes, unchecked = scope_nodes(scope, node_bindings(config.topology), topo.node_ids)
    before = score(topo, inputs.statuses, inputs.demands).live_tier
    if not nodes:
        return RedundancyCheck((), (), before, before, unchecked=tuple(unchecked)), inputs.note
    answer = whatif(topo, inputs.statuses, nodes, inputs.demands)
    return RedundancyCheck(
        nodes=tuple(nodes), dropped=tuple(sorted({lost.load for lost in answer.lost})),
        tier_before=before, tier_after=answer.after.live_tier,
        blocking=tuple(sorted(c.id for c in answer.blocking)),
        unchecked=tuple(unchecked)), inputs.note
