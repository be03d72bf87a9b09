"""What the services room writes to the store, as the live tier's recorder does for loads:

* **Service outages** (`outages` kind `service`, subsystem `services`): open while the
  service is down, from the start of the probe that first saw it down to the start of the
  one that first saw it work again; the cause says the check or the infrastructure.
* **Agency outages** (kind `agency`, subject `AGENCY/SERVICE`, `affected` [service]): while
  the agency cannot reach a service it uses (the service down, or its own site cut off).
* **Time at risk** (`exposures` kind `service_at_risk`): while the checks pass but the
  infrastructure under the service lost redundancy.
* **Transitions** (kind `service`): every change of a service's state, its cause as the
  reason and the kind of cause (`check` or `infrastructure`) as its one condition (the
  monthly report says by it whether an outage was the service's own or the infrastructure's).
* **Certificates** (tierwatch/core/store/services.py): each one seen, first and last seen.

Nothing is written until every service's state is known (no `unknown`): a restart never
opens or closes an outage on a guess. The first known view reconciles with the store:
outages still open stay open while down and close (at that view's time) when up again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from services.tlsinfo import CertInfo
from tier.services import Health, ServicesTopology, ServicesView
from tierwatch.core.store import Store
from tierwatch.core.store.services import record_certificates

log = logging.getLogger(__name__)

SUBSYSTEM = "services"
AT_RISK = "service_at_risk"
CERT_REFRESH = 3600.0  # a certificate still seen is marked seen again at most this often


class ServicesRecorder:
    def __init__(self, store: Store, topology: ServicesTopology, *,
                 timezone: str = "Asia/Ho_Chi_Minh",
                 clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.topology = topology
        self.timezone = timezone
        self.clock = clock
        self._last: ServicesView | None = None
        self._certs_written: dict[tuple[str, str, str], float] = {}

    def record(self, view: ServicesView,
               certs: Sequence[tuple[str, str, CertInfo]] = ()) -> bool:
        """Write what `view` changed; returns whether an outage opened or closed."""
        self._certificates(view.ts, certs)
        if any(s.health == Health.UNKNOWN for s in view.services.values()):
            return False
        changed = self._reconcile(view) if self._last is None else self._diff(self._last, view)
        self._last = view
        return changed

    # ------------------------------------------------------------------ certificates

    def _certificates(self, now: float, certs: Sequence[tuple[str, str, CertInfo]]) -> None:
        due = []
        for service, check, cert in certs:
            key = (service, cert.endpoint, cert.fingerprint)
            last = self._certs_written.get(key)
            if last is not None and now - last < CERT_REFRESH:
                continue
            self._certs_written[key] = now
            due.append({"service": service, "endpoint": cert.endpoint,
                        "fingerprint": cert.fingerprint, "check_name": check,
                        "subject": cert.subject, "issuer": cert.issuer,
                        "not_before": cert.not_before, "not_after": cert.not_after,
                        "verified": cert.verified, "error": cert.error})
        if due:
            record_certificates(self.store, due, now)

    # ------------------------------------------------------------------ outages

    def _reconcile(self, view: ServicesView) -> bool:
        store = self.store
        changed = False
        open_services = {o.subject for o in store.open_outages("service")}
        open_reach = {o.subject for o in store.open_outages("agency")}
        open_risk = {r.subject for r in store.exposures(kind=AT_RISK, open_only=True)}
        rows: list[dict[str, Any]] = []
        for sid, state in view.services.items():
            down = state.health == Health.DOWN
            if down and sid not in open_services:
                self._open_service(view.ts, sid, state.cause)
                changed = True
            elif not down and sid in open_services:
                store.close_outage("service", sid, view.ts)
                changed = True
            at_risk = state.health == Health.AT_RISK
            if at_risk and sid not in open_risk:
                store.open_exposure(AT_RISK, sid, view.ts, subsystem=SUBSYSTEM,
                                    detail=state.cause)
            elif not at_risk and sid in open_risk:
                store.close_exposure(AT_RISK, sid, view.ts)
            rows.append(self._row(view.ts, sid, None, state.health.value,
                                  state.cause or "state at start", state.cause_kind))
        for gone in sorted(open_services - set(view.services)):
            store.close_outage("service", gone, view.ts)
        for reach in view.reach:
            subject = f"{reach.agency}/{reach.service}"
            if reach.reachable is False and subject not in open_reach:
                self._open_reach(view.ts, reach.agency, reach.service, reach.cause)
            elif reach.reachable and subject in open_reach:
                store.close_outage("agency", subject, view.ts)
        known = {f"{r.agency}/{r.service}" for r in view.reach}
        for gone in sorted(open_reach - known):
            store.close_outage("agency", gone, view.ts)
        store.record_transitions(rows)
        return changed

    def _diff(self, prev: ServicesView, view: ServicesView) -> bool:
        store = self.store
        changed = False
        rows: list[dict[str, Any]] = []
        for sid, state in view.services.items():
            before = prev.services.get(sid)
            old = before.health if before is not None else None
            if old == state.health:
                continue
            if state.health == Health.DOWN:
                self._open_service(view.ts, sid, state.cause)
                changed = True
            elif old == Health.DOWN:
                store.close_outage("service", sid, view.ts)
                log.info("service %s works again", sid)
                changed = True
            if state.health == Health.AT_RISK:
                store.open_exposure(AT_RISK, sid, view.ts, subsystem=SUBSYSTEM,
                                    detail=state.cause)
            elif old == Health.AT_RISK:
                store.close_exposure(AT_RISK, sid, view.ts)
            rows.append(self._row(view.ts, sid, old.value if old else None,
                                  state.health.value, state.cause, state.cause_kind))
        before_reach = {(r.agency, r.service): r.reachable for r in prev.reach}
        for reach in view.reach:
            was = before_reach.get((reach.agency, reach.service))
            if reach.reachable is False and was is not False:
                self._open_reach(view.ts, reach.agency, reach.service, reach.cause)
            elif reach.reachable and was is False:
                store.close_outage("agency", f"{reach.agency}/{reach.service}", view.ts)
        store.record_transitions(rows)
        return changed

    def _open_service(self, ts: float, sid: str, cause: str) -> None:
        users = self.topology.service(sid).agencies if sid in self.topology.ids() else ()
        self.store.open_outage("service", sid, ts, cause, subsystem=SUBSYSTEM,
                               affected=users)
        log.warning("service %s down: %s", sid, cause)

    def _open_reach(self, ts: float, agency: str, service: str, cause: str) -> None:
        self.store.open_outage("agency", f"{agency}/{service}", ts, cause, subsystem=SUBSYSTEM,
                               affected=[service])

    @staticmethod
    def _row(ts: float, sid: str, old: str | None, new: str, reason: str,
             cause_kind: str) -> dict[str, Any]:
        return {"ts": ts, "kind": "service", "subject": sid, "subsystem": SUBSYSTEM,
                "old": old, "new": new, "reason": reason,
                "conditions": [cause_kind] if cause_kind else []}
