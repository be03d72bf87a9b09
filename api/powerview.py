"""What the status page, the power routes and the monthly report show of the power chain:
the one-line diagram's live state (from the live tier's picture and the power room's
figures) and the drawing itself (power/diagram.py), in the page's language."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from api.texts import CATALOG
from power.diagram import DiagramState, render_svg
from tier.score import TierSnapshot
from tierwatch.core.i18n import Translator, translator

if TYPE_CHECKING:
    from api.context import ApiContext
    from api.tierview import LiveView
    from power.component import PowerView
    from tier.topology import TopologyConfig

_OUT = {"degraded": "degraded", "unknown": "unknown"}


def diagram_state(snapshot: TierSnapshot, pending: Collection[str],
                  reasons: Mapping[str, str], power: PowerView | None) -> DiagramState:
    """Each node's status as the live picture has it: out of service (failed, or unknown
    when its device cannot be told), exposed (degraded: a UPS on battery), pending (not
    heard from yet), a load not served (failed), else ok."""
    statuses: dict[str, str] = {}
    why: dict[str, str] = {}
    spofs: set[str] = set()
    for sub in snapshot.subsystems:
        for cond in sub.exposed:
            statuses[cond.id] = "degraded"
            why[cond.id] = cond.status
        for cond in sub.unavailable:
            statuses[cond.id] = _OUT.get(cond.status, "failed")
            why[cond.id] = cond.status
        for load in sub.live.loads:
            if not load.served:
                statuses[load.id] = "failed"
                why[load.id] = load.reason or "not served"
        spofs.update(sub.live.spofs)
    for node in pending:
        statuses.setdefault(node, "pending")
    for node, reason in reasons.items():
        if reason and node in statuses:
            why[node] = reason
    hidden = frozenset(power.hidden_spofs) if power is not None else frozenset()
    return DiagramState(statuses, why, frozenset(spofs), hidden)


def render(topology: TopologyConfig, state: DiagramState, tr: Translator) -> str:
    legend = {k: tr(f"diagram.{k}") for k in ("ok", "degraded", "failed", "unknown",
                                               "manual", "active", "spof", "title")}
    titles = {name: tr(f"subsystem.{name}") for name in ("power", "cooling")}
    return render_svg(topology, state, titles=titles, legend=legend)


def diagram_svg(view: LiveView, context: ApiContext, tr: Translator) -> str:
    """The diagram of the picture the status page shows."""
    live = context.live.snapshot if context.live is not None else None
    reasons = {n: r.reason for n, r in live.readings.items()} if live is not None else {}
    power = context.power.view if context.power is not None else None
    state = diagram_state(view.snapshot, view.pending, reasons, power)
    return render(context.config.topology, state, tr)


def live_diagram(topology: TopologyConfig, snapshot: TierSnapshot, pending: Collection[str],
                 reasons: Mapping[str, str], power: PowerView | None, lang: str,
                 timezone: str) -> str:
    """The diagram of a live snapshot in `lang` (what the wiring hands the report)."""
    return render(topology, diagram_state(snapshot, pending, reasons, power),
                  translator(lang, CATALOG, timezone))
