"""What the status page, the power routes and the report's drawing show of the power chain:
the one-line diagram's live state (from the live tier's picture and the power room's
figures) and the drawing itself (power/diagram.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.tierview import LiveView
from power.diagram import DiagramState, render_svg

if TYPE_CHECKING:
    from api.context import ApiContext
    from tierwatch.core.i18n import Translator

_OUT = {"degraded": "degraded", "unknown": "unknown"}


def diagram_state(view: LiveView, context: ApiContext) -> DiagramState:
    """Each node's status as the live picture has it: out of service (failed, or unknown
    when its device cannot be told), exposed (degraded: a UPS on battery), pending (not
    heard from yet), a load not served (failed), else ok."""
    statuses: dict[str, str] = {}
    reasons: dict[str, str] = {}
    spofs: set[str] = set()
    for sub in view.snapshot.subsystems:
        for cond in sub.exposed:
            statuses[cond.id] = "degraded"
            reasons[cond.id] = cond.status
        for cond in sub.unavailable:
            statuses[cond.id] = _OUT.get(cond.status, "failed")
            reasons[cond.id] = cond.status
        for load in sub.live.loads:
            if not load.served:
                statuses[load.id] = "failed"
                reasons[load.id] = load.reason or "not served"
        spofs.update(sub.live.spofs)
    for node in view.pending:
        statuses.setdefault(node, "pending")
    live = context.live.snapshot if context.live is not None else None
    if live is not None:
        for node, reading in live.readings.items():
            if reading.reason and node in statuses:
                reasons[node] = reading.reason
    power = context.power.view if context.power is not None else None
    hidden = frozenset(power.hidden_spofs) if power is not None else frozenset()
    return DiagramState(statuses, reasons, frozenset(spofs), hidden)


def diagram_svg(view: LiveView, context: ApiContext, tr: Translator) -> str:
    legend = {k: tr(f"diagram.{k}") for k in ("ok", "degraded", "failed", "unknown",
                                               "manual", "active", "spof", "title")}
    titles = {name: tr(f"subsystem.{name}") for name in ("power", "cooling")}
    return render_svg(context.config.topology, diagram_state(view, context),
                      titles=titles, legend=legend)
