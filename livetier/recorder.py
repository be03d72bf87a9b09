"""What the live Tier engine writes to the store: load outages, exposure, transitions.

`TierRecorder.record(snapshot)` compares each settled live snapshot (livetier/engine.py) with
the last one it recorded and writes what moved:

* **Load outages.** A load's outage opens when the live state says it is not served (no
  available path, not enough capacity, or its own device takes it out) and closes when it
  is served again; start and end are the times of the status changes that caused them.
  The cause names the reason and the nodes out of service upstream, e.g. "no path: PDU-A
  failed, PDU-B unknown". `planned` is set when a maintenance window active at the start
  covers one of those nodes or their devices (tierwatch/core/maintenance.py, the one
  implementation of windows). The load is added to the `affected` list
  of the open device outages of those devices.
* **Exposure** (reported beside downtime, never counted as downtime): per load while it is
  served, `spof` (some single element's loss would drop it even with the manual ties
  closed: the live maintainability test names it), `bypass` (a node upstream is on bypass)
  and `on_battery` (a node upstream reports it runs on battery); per capacity group
  (subject "subsystem/group") `no_spare` while its live spare is below 1. These rows carry
  their subsystem; the device-level rows History writes do not.
* **Transitions**: kind `load` (served / unserved, with the cause), `node` (a bound node's
  status), `tier` (a subsystem's or the site's live tier).

Restart: nothing is written until a snapshot is settled (no pending node). The first settled
snapshot after a start reconciles with the store: outages still open stay open if the load
is still unserved and close (at that time) if it is served; open exposure rows likewise. The
time from the start to that first settled snapshot is recorded as unmonitored: load states
were not known then. The time tierwatch was not running at all is recorded by
`Store.start_instance` (tierwatch/core/history.py). Availability leaves unmonitored time out of
both downtime and monitored time (livetier/downtime.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import networkx as nx

from livetier.engine import LiveSnapshot
from tier.graph import CompiledTopology
from tier.score import LoadState
from tier.status import NodeStatus
from tierwatch.core.maintenance import planned_window
from tierwatch.core.store import Store

log = logging.getLogger(__name__)

LOAD_EXPOSURES = ("spof", "bypass", "on_battery")
GROUP_EXPOSURES = ("no_spare",)
TIER_EXPOSURE_KINDS = LOAD_EXPOSURES + GROUP_EXPOSURES
CAUSE_NODES_SHOWN = 8

Exposures = dict[tuple[str, str], tuple[str, str]]  # (kind, subject) -> (subsystem, detail)


# --------------------------------------------------------------------------- the recorder


class TierRecorder:
    def __init__(
        self,
        store: Store,
        compiled: CompiledTopology,
        bindings: Mapping[str, tuple[str, str | None]],
        *,
        started_at: float,
        timezone: str = "Asia/Ho_Chi_Minh",
    ) -> None:
        self.store = store
        self.bindings = bindings
        self.started_at = started_at
        self.timezone = timezone
        self.subsystem_of = compiled.subsystem_of
        self.upstream: dict[str, frozenset[str]] = {
            load: frozenset(nx.ancestors(sub.structure, load))
            for sub in compiled.subsystems.values()
            for load in sub.loads
        }
        self._last: LiveSnapshot | None = None
        self._exposed: Exposures = {}
        self._opened: list[str] = []

    def record(self, snap: LiveSnapshot) -> bool:
        """Write what `snap` changed; returns whether any load outage opened or closed."""
        if not snap.settled:
            return False
        try:
            last = self._last
            changed = self._reconcile(snap) if last is None else self._diff(last, snap)
        finally:
            self._log_opened()
        self._last = snap
        return changed

    # ------------------------------------------------------------------ causes

    def cause_nodes(self, snap: LiveSnapshot, subsystem: str, load: str) -> list[tuple[str, str]]:
        """(node, status) of the nodes out of service at or upstream of a load."""
        around = self.upstream.get(load, frozenset()) | {load}
        sub = snap.tier.subsystem(subsystem)
        return [(c.id, c.status) for c in sub.unavailable if c.id in around]

    def cause(self, snap: LiveSnapshot, subsystem: str, state: LoadState) -> str:
        nodes = self.cause_nodes(snap, subsystem, state.id)
        reason = state.reason or "not served"
        if not nodes:
            return reason
        words = []
        for node, status in nodes[:CAUSE_NODES_SHOWN]:
            text = f"{node} {status}"
            reading = snap.readings.get(node)
            if node == state.id and reading is not None and reading.reason:
                text += f" ({reading.reason})"
            words.append(text)
        if len(nodes) > CAUSE_NODES_SHOWN:
            words.append(f"{len(nodes) - CAUSE_NODES_SHOWN} more")
        return f"{reason}: {', '.join(words)}"

    def _open(self, snap: LiveSnapshot, subsystem: str, state: LoadState) -> str:
        cause = self.cause(snap, subsystem, state)
        nodes = {node for node, _ in self.cause_nodes(snap, subsystem, state.id)} | {state.id}
        bound = [self.bindings[n] for n in nodes if n in self.bindings]
        devices = {device for device, _ in bound}
        components = {f"{device}/{component}" for device, component in bound if component}
        window = planned_window(
            self.store,
            snap.ts,
            subsystem=subsystem,
            nodes=nodes,
            devices=devices,
            components=components,
            timezone=self.timezone,
        )
        self.store.open_outage(
            "load",
            state.id,
            snap.ts,
            cause,
            subsystem=subsystem,
            planned=window is not None,
            affected=[state.id],
            maintenance_id=window,
        )
        for device in sorted(devices):
            self.store.add_outage_affected("device", device, [state.id])
        self._opened.append(
            f"{state.id} ({cause}" + (f"; planned, window {window})" if window is not None else ")")
        )
        return cause

    def _log_opened(self) -> None:
        """One line per re-score, however many loads went down in it."""
        if self._opened:
            shown = "; ".join(self._opened[:5])
            more = f"; and {len(self._opened) - 5} more" if len(self._opened) > 5 else ""
            log.warning("%d load(s) not served: %s%s", len(self._opened), shown, more)
            self._opened = []

    # ------------------------------------------------------------------ exposure

    def exposures(self, snap: LiveSnapshot) -> Exposures:
        out: Exposures = {}
        for sub in snap.tier.subsystems:
            single: dict[str, list[str]] = {}
            for drop in sub.live.maintainability:
                for lost in drop.lost:
                    single.setdefault(lost.load, []).append(drop.node)
            for load in sub.live.loads:
                if not load.served:
                    continue  # an outage, not an exposure
                if load.id in single:
                    nodes = sorted(single[load.id])
                    out[("spof", load.id)] = (
                        sub.name,
                        "single points of failure: " + ", ".join(nodes[:CAUSE_NODES_SHOWN]),
                    )
                around = sorted(self.upstream.get(load.id, frozenset()) | {load.id})
                readings = [(n, snap.readings[n]) for n in around if n in snap.readings]
                bypass = [n for n, r in readings if r.status == NodeStatus.BYPASS]
                battery = [n for n, r in readings if "on_battery" in r.conditions]
                if bypass:
                    out[("bypass", load.id)] = (sub.name, "on bypass: " + ", ".join(bypass))
                if battery:
                    out[("on_battery", load.id)] = (sub.name, "on battery: " + ", ".join(battery))
            for group in sub.live.groups:
                if group.spare < 1:
                    out[("no_spare", f"{sub.name}/{group.id}")] = (
                        sub.name,
                        f"{group.label}: {group.available} of {group.installed} units "
                        f"available, {group.required} required",
                    )
        return out

    def _write_exposures(self, before: Exposures, now: Exposures, ts: float) -> None:
        for kind, subject in sorted(set(before) - set(now)):
            self.store.close_exposure(kind, subject, ts)
        for key in sorted(set(now) - set(before)):
            subsystem, detail = now[key]
            self.store.open_exposure(key[0], key[1], ts, subsystem=subsystem, detail=detail)

    # ------------------------------------------------------------------ first snapshot

    def _reconcile(self, snap: LiveSnapshot) -> bool:
        store = self.store
        if snap.ts > self.started_at:
            store.add_unmonitored(
                self.started_at,
                snap.ts,
                "tierwatch starting: the topology's statuses not known yet",
            )
        open_loads = {o.subject: o for o in store.open_outages("load")}
        rows: list[dict[str, Any]] = []
        changed = False
        for load, (subsystem, state) in snap.loads.items():
            was_open = load in open_loads
            reason = ""
            if not state.served:
                reason = self.cause(snap, subsystem, state)
                if not was_open:
                    self._open(snap, subsystem, state)
                    changed = True
            elif was_open:
                store.close_outage("load", load, snap.ts)
                log.info("load %s (%s) served again", load, subsystem)
                changed = True
            rows.append(
                {
                    "ts": snap.ts,
                    "kind": "load",
                    "subject": load,
                    "subsystem": subsystem,
                    "new": "served" if state.served else "unserved",
                    "reason": reason or "state at start",
                }
            )
        for subject in sorted(set(open_loads) - set(snap.loads)):
            store.close_outage("load", subject, snap.ts)  # no longer in the topology
            changed = True
        still_open = store.exposures(kinds=TIER_EXPOSURE_KINDS, with_subsystem=True, open_only=True)
        before = {(r.kind, r.subject): (r.subsystem, r.detail) for r in still_open}
        self._exposed = self.exposures(snap)
        self._write_exposures(before, self._exposed, snap.ts)
        rows += self._tier_rows(None, snap)
        rows += self._node_rows(None, snap)
        store.record_transitions(rows)
        return changed

    # ------------------------------------------------------------------ every other one

    def _diff(self, prev: LiveSnapshot, snap: LiveSnapshot) -> bool:
        rows: list[dict[str, Any]] = []
        changed = False
        for load, (subsystem, state) in snap.loads.items():
            before = prev.loads.get(load)
            was_served = before[1].served if before is not None else True
            if was_served and not state.served:
                cause = self._open(snap, subsystem, state)
                rows.append(
                    {
                        "ts": snap.ts,
                        "kind": "load",
                        "subject": load,
                        "subsystem": subsystem,
                        "old": "served",
                        "new": "unserved",
                        "reason": cause,
                    }
                )
                changed = True
            elif state.served and not was_served:
                self.store.close_outage("load", load, snap.ts)
                log.info("load %s (%s) served again", load, subsystem)
                rows.append(
                    {
                        "ts": snap.ts,
                        "kind": "load",
                        "subject": load,
                        "subsystem": subsystem,
                        "old": "unserved",
                        "new": "served",
                    }
                )
                changed = True
        exposed = self.exposures(snap)
        self._write_exposures(self._exposed, exposed, snap.ts)
        self._exposed = exposed
        rows += self._tier_rows(prev, snap)
        rows += self._node_rows(prev, snap)
        self.store.record_transitions(rows)
        return changed

    @staticmethod
    def _tier_rows(prev: LiveSnapshot | None, snap: LiveSnapshot) -> list[dict[str, Any]]:
        def tiers(s: LiveSnapshot) -> dict[str, int]:
            return {
                "site": s.tier.live_tier,
                **{sub.name: sub.live.tier for sub in s.tier.subsystems},
            }

        old = tiers(prev) if prev is not None else {}
        return [
            {
                "ts": snap.ts,
                "kind": "tier",
                "subject": name,
                "subsystem": None if name == "site" else name,
                "old": str(old[name]) if name in old else None,
                "new": str(tier),
            }
            for name, tier in tiers(snap).items()
            if old.get(name) != tier
        ]

    def _node_rows(self, prev: LiveSnapshot | None, snap: LiveSnapshot) -> list[dict[str, Any]]:
        rows = []
        for node, reading in snap.readings.items():
            before = prev.readings.get(node) if prev is not None else None
            if before is not None and before.status == reading.status:
                continue
            rows.append(
                {
                    "ts": snap.ts,
                    "kind": "node",
                    "subject": node,
                    "subsystem": self.subsystem_of.get(node),
                    "old": before.status.value if before is not None else None,
                    "new": reading.status.value,
                    "reason": reading.reason,
                    "conditions": reading.conditions,
                }
            )
        return rows
