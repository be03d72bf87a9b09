"""The services room's table: the certificates its checks saw. Only this module knows its
columns. (Service and agency outages are rows of `outages`, kinds `service` and `agency`;
time at risk is `exposures` kind `service_at_risk`: the core queries serve them.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update

from tierwatch.core.store.base import Store
from tierwatch.core.store.schema import certificates


@dataclass(frozen=True)
class CertificateRow:
    service: str
    endpoint: str
    fingerprint: str
    check: str
    subject: str
    issuer: str
    not_before: float
    not_after: float
    verified: bool
    error: str
    first_seen: float
    last_seen: float


def _row(r: Any) -> CertificateRow:
    return CertificateRow(r.service, r.endpoint, r.fingerprint, r.check_name, r.subject,
                          r.issuer, r.not_before, r.not_after, bool(r.verified), r.error,
                          r.first_seen, r.last_seen)


def record_certificates(store: Store, seen: Sequence[dict[str, Any]], now: float) -> int:
    """Insert certificates not seen before (per service, endpoint and fingerprint); move the
    `last_seen` of the others to `now`. Returns how many were new."""
    new = 0
    with store.write() as conn:
        for cert in seen:
            key = and_(certificates.c.service == cert["service"],
                       certificates.c.endpoint == cert["endpoint"],
                       certificates.c.fingerprint == cert["fingerprint"])
            found = conn.execute(select(certificates.c.id).where(key)).scalar()
            if found is None:
                conn.execute(insert(certificates).values(**cert, first_seen=now, last_seen=now))
                new += 1
            else:
                conn.execute(update(certificates).where(certificates.c.id == found).values(
                    last_seen=now, verified=cert["verified"], error=cert["error"]))
    return new


def certificates_seen(store: Store, since: float | None = None) -> list[CertificateRow]:
    """Every certificate seen at or after `since`, the soonest to end first."""
    query = select(certificates).order_by(certificates.c.not_after, certificates.c.service,
                                          certificates.c.endpoint)
    if since is not None:
        query = query.where(certificates.c.last_seen >= since)
    with store.engine.connect() as conn:
        return [_row(r) for r in conn.execute(query)]
