"""The one-line diagram of the power (and cooling) chain, as SVG drawn from the topology and
a live picture of it. A pure function: topology and statuses in, SVG text out. The status
page puts it inline (no JavaScript needed to read it), the API serves it alone, and the
monthly report embeds it (the wiring hands the report a function that draws the live one).

Layout: each subsystem top to bottom in layers, a node one layer below the lowest of its
automatic feeders (the auto graph is acyclic; manual ties may loop and are drawn across);
within a layer, nodes ordered by the mean position of their feeders. Every node is coloured
by its live status; manual ties are dashed; the active path (automatic feeds between nodes
in service) is drawn thick and blue; single points of failure get a red border and a SPOF
tag (a rack that one cord could not carry alone, "SPOF (cord)").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from tier.topology import NodeSpec, SubsystemTopology, TopologyConfig

# fill colours by status (the legend says the same)
FILL = {"ok": "#a5d6a7", "degraded": "#ffcc80", "failed": "#ef9a9a", "unknown": "#cfd8dc",
        "pending": "#eceff1"}
IN_SERVICE = ("ok", "degraded", "pending")
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN, TITLE_H = 128, 40, 18, 56, 16, 28


@dataclass(frozen=True)
class DiagramState:
    """What the drawing shows of the live state: each node's status (ok, degraded, failed,
    unknown, pending; a node not listed is ok), its words, the single points of failure,
    and the racks one cord could not carry alone."""

    statuses: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    spofs: frozenset[str] = frozenset()
    hidden_spofs: frozenset[str] = frozenset()


@dataclass
class _Placed:
    node: NodeSpec
    layer: int
    x: float = 0.0
    y: float = 0.0


def _layers(sub: SubsystemTopology) -> dict[str, int]:
    ids = {n.id for n in sub.nodes}
    auto = {n.id: [f.id for f in n.fed_from if not f.manual and f.id in ids] for n in sub.nodes}
    layer: dict[str, int] = {}

    def depth(node: str, seen: tuple[str, ...] = ()) -> int:
        if node in layer:
            return layer[node]
        if node in seen:  # a loop of auto feeds is a config error; never hang on one
            return 0
        parents = auto.get(node, [])
        layer[node] = 0 if not parents else 1 + max(depth(p, (*seen, node)) for p in parents)
        return layer[node]

    for n in sub.nodes:
        depth(n.id)
    return layer


def _place(sub: SubsystemTopology, top: float) -> tuple[dict[str, _Placed], float, float]:
    """Positions of the subsystem's nodes from `top`: (placed, width, height)."""
    layers = _layers(sub)
    placed = {n.id: _Placed(n, layers[n.id]) for n in sub.nodes}
    rows: dict[int, list[_Placed]] = {}
    for p in placed.values():
        rows.setdefault(p.layer, []).append(p)
    width = 0.0
    order: dict[str, float] = {}
    for layer in sorted(rows):
        row = rows[layer]

        def key(p: _Placed) -> tuple[float, str]:
            feeders = [order[f.id] for f in p.node.fed_from if f.id in order]
            return (sum(feeders) / len(feeders) if feeders else 0.0, p.node.id)

        row.sort(key=key)
        for i, p in enumerate(row):
            order[p.node.id] = float(i)
            p.x = MARGIN + i * (BOX_W + GAP_X)
            p.y = top + TITLE_H + layer * (BOX_H + GAP_Y)
        width = max(width, MARGIN * 2 + len(row) * (BOX_W + GAP_X) - GAP_X)
    height = TITLE_H + (max(rows, default=0) + 1) * (BOX_H + GAP_Y)
    # centre each row under the widest
    for row in rows.values():
        used = len(row) * (BOX_W + GAP_X) - GAP_X
        shift = (width - 2 * MARGIN - used) / 2
        for p in row:
            p.x += shift
    return placed, width, height


def _label(node: NodeSpec) -> str:
    text = node.name or node.id
    return text if len(text) <= 18 else text[:17] + "…"


def render_svg(topology: TopologyConfig, state: DiagramState,
               subsystems: Iterable[str] = ("power", "cooling"),
               titles: Mapping[str, str] | None = None,
               legend: Mapping[str, str] | None = None) -> str:
    """The diagram as a standalone SVG document (UTF-8 text)."""
    titles = titles or {}
    legend = legend or {"ok": "ok", "degraded": "exposed", "failed": "out of service",
                        "unknown": "unknown", "manual": "manual tie (normally open)",
                        "active": "active path", "spof": "single point of failure"}
    parts: list[str] = []
    top = float(MARGIN)
    width = 0.0
    for name in subsystems:
        sub: SubsystemTopology = getattr(topology, name)
        if not sub.nodes:
            continue
        placed, w, h = _place(sub, top)
        width = max(width, w)
        parts.append(f'<text x="{MARGIN}" y="{top + 18}" class="title">'
                     f'{escape(titles.get(name, name))}</text>')
        parts += _edges(placed, state, _energised(sub, state))
        parts += [_node(p, state) for p in placed.values()]
        top += h + MARGIN
    width = max(width, 640.0)
    parts += _legend(top, legend)
    height = top + 62
    style = ("text{font-family:DejaVu Sans,Arial,sans-serif;font-size:11px;fill:#263238}"
             ".title{font-size:14px;font-weight:bold}.tag{font-size:9px;font-weight:bold;"
             "fill:#b71c1c}.kind{font-size:9px;fill:#546e7a}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{escape(legend.get("title", "one-line diagram"))}" '
            f'class="one-line"><style>{style}</style>'
            f'<rect width="100%" height="100%" fill="#ffffff"/>' + "".join(parts) + "</svg>")


def _status(state: DiagramState, node: str) -> str:
    return state.statuses.get(node, "ok")


def _energised(sub: SubsystemTopology, state: DiagramState) -> set[str]:
    """Nodes in service that a source in service reaches through automatic feeds in
    service: the active path runs between them."""
    children: dict[str, list[str]] = {}
    for node in sub.nodes:
        for feed in node.fed_from:
            if not feed.manual:
                children.setdefault(feed.id, []).append(node.id)
    todo = [n.id for n in sub.nodes if not any(not f.manual for f in n.fed_from)
            and _status(state, n.id) in IN_SERVICE]
    seen = set(todo)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen and _status(state, child) in IN_SERVICE:
                seen.add(child)
                todo.append(child)
    return seen


def _edges(placed: Mapping[str, _Placed], state: DiagramState, energised: set[str]
           ) -> list[str]:
    out = []
    for child in placed.values():
        for feed in child.node.fed_from:
            parent = placed.get(feed.id)
            if parent is None:
                continue
            x1, y1 = parent.x + BOX_W / 2, parent.y + BOX_H
            x2, y2 = child.x + BOX_W / 2, child.y
            if y2 <= y1:  # a tie across or upwards: from the side
                x1, y1 = parent.x + BOX_W, parent.y + BOX_H / 2
                x2, y2 = child.x, child.y + BOX_H / 2
                path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
            else:
                mid = (y1 + y2) / 2
                path = f"M{x1:.0f},{y1:.0f} V{mid:.0f} H{x2:.0f} V{y2:.0f}"
            active = (not feed.manual and feed.id in energised
                      and child.node.id in energised)
            style = ("stroke:#1565c0;stroke-width:3" if active
                     else "stroke:#90a4ae;stroke-width:1.5")
            dash = ' stroke-dasharray="6 4"' if feed.manual else ""
            kind = "manual" if feed.manual else ("active" if active else "idle")
            out.append(f'<path d="{path}" fill="none" style="{style}"{dash} '
                       f'class="edge {kind}" data-from="{escape(feed.id)}" '
                       f'data-to="{escape(child.node.id)}"/>')
    return out


def _node(p: _Placed, state: DiagramState) -> str:
    node = p.node
    status = _status(state, node.id)
    spof = node.id in state.spofs
    hidden = node.id in state.hidden_spofs
    stroke = "#b71c1c" if spof or hidden else "#37474f"
    width = 3 if spof or hidden else 1
    reason = state.reasons.get(node.id, "")
    tip = f"{node.name or node.id} ({node.id}, {node.kind}): {status}" + (
        f" - {reason}" if reason else "") + (" - SPOF" if spof else "") + (
        " - one cord could not carry the rack" if hidden else "")
    tag = ""
    if spof or hidden:
        tag = (f'<text x="{p.x + BOX_W - 4:.0f}" y="{p.y - 3:.0f}" text-anchor="end" '
               f'class="tag">{"SPOF" if spof else "SPOF (cord)"}</text>')
    marked = ' data-spof="1"' if spof or hidden else ""
    return (f'<g id="node-{escape(node.id)}" class="node" data-status="{status}"{marked}>'
            f'<title>{escape(tip)}</title>'
            f'<rect x="{p.x:.0f}" y="{p.y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="4" '
            f'fill="{FILL.get(status, FILL["unknown"])}" stroke="{stroke}" '
            f'stroke-width="{width}"/>'
            f'<text x="{p.x + BOX_W / 2:.0f}" y="{p.y + 17:.0f}" text-anchor="middle">'
            f'{escape(_label(node))}</text>'
            f'<text x="{p.x + BOX_W / 2:.0f}" y="{p.y + 31:.0f}" text-anchor="middle" '
            f'class="kind">{escape(node.kind)} · {escape(status)}</text>{tag}</g>')


def _legend(top: float, legend: Mapping[str, str]) -> list[str]:
    out = []
    x = MARGIN
    for status in ("ok", "degraded", "failed", "unknown"):
        out.append(f'<rect x="{x}" y="{top}" width="14" height="14" fill="{FILL[status]}" '
                   f'stroke="#37474f"/><text x="{x + 18}" y="{top + 11}">'
                   f'{escape(legend.get(status, status))}</text>')
        x += 30 + 7 * len(legend.get(status, status))
    x, top = MARGIN, top + 22  # the lines and the tag on a second row (a page is narrow)
    out.append(f'<path d="M{x},{top + 7} h28" style="stroke:#1565c0;stroke-width:3"/>'
               f'<text x="{x + 32}" y="{top + 11}">{escape(legend["active"])}</text>')
    x += 40 + 7 * len(legend["active"])
    out.append(f'<path d="M{x},{top + 7} h28" style="stroke:#90a4ae;stroke-width:1.5" '
               f'stroke-dasharray="6 4"/><text x="{x + 32}" y="{top + 11}">'
               f'{escape(legend["manual"])}</text>')
    x += 40 + 7 * len(legend["manual"])
    out.append(f'<text x="{x}" y="{top + 11}" class="tag">SPOF</text>'
               f'<text x="{x + 30}" y="{top + 11}">{escape(legend["spof"])}</text>')
    return out
