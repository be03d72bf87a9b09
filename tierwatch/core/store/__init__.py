"""Durable history: status transitions, outages, exposure, unmonitored time, maintenance,
alerts, tokens, report files.

`Store` (base.py) holds the engine and the core queries; each room's own tables have a
module here (alerting.py, tokens.py, reports.py, ...): the only places that know a table's
columns. The tables themselves are in schema.py; migrations/ builds them.
"""

from tierwatch.core.store.base import (
    MIGRATION_LOCK,
    NOT_RUNNING,
    AlertRecord,
    Interval,
    NotFound,
    Outage,
    Store,
    StoreUnavailable,
    alert_record,
    migrate,
)

__all__ = ["MIGRATION_LOCK", "NOT_RUNNING", "AlertRecord", "Interval", "NotFound", "Outage",
           "Store", "StoreUnavailable", "alert_record", "migrate"]
