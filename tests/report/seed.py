"""A month of history in a real SQLite store, with figures known by construction.

October 2026 at the site (Asia/Ho_Chi_Minh, UTC+7, 31 days). The topology is TIER-MODEL's
example 2 with both paths automatic, plus a single-corded rack R7 on path A:

    G1, G2 -> SWB-A -> UPS-A (ups-a) -> PDU-A -> R1 (dual-corded), R7 (single cord)
           -> SWB-B -> UPS-B (ups-b) -> PDU-B -> R1

What happened (local times):

* 3 Oct 10:00:00-10:05:00  R7 dropped, unplanned (300 s)
* 5 Oct 12:00-18:00        inlet sensor env-1 "sensor Inlet" above 27 °C (6 h)
* 10 Oct 22:00-23:00       maintenance window on PDU-B; R1 dropped 22:00:00-22:02:00 (120 s)
* 15 Oct 08:00-11:00       ups-b on bypass (3 h): UPS group at N, power tier I
* 20 Oct 00:00-21 Oct 00:00  tierwatch not running (one day unmonitored)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from report.config import ReportSettings
from tierwatch.config import Config
from tierwatch.core.model import Status, StatusChange
from tierwatch.core.store import Store
from tierwatch.service import report_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MONTH = "2026-10"


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 10) -> float:
    return datetime(2026, month, day, hour, minute, second, tzinfo=TZ).timestamp()


START = at(1)
END = at(1, month=11)
NOW = at(1, 6, month=11)  # the scheduled run: 1 November 06:00

TOPOLOGY: dict[str, Any] = {
    "power": {
        "groups": [{"id": "generator", "demand": 120}],
        "nodes": [
            {"id": "G1", "kind": "generator", "capacity": 150},
            {"id": "G2", "kind": "generator", "capacity": 150},
            {"id": "SWB-A", "kind": "switchboard", "fed_from": ["G1", "G2"]},
            {"id": "SWB-B", "kind": "switchboard", "fed_from": ["G1", "G2"]},
            {"id": "UPS-A", "kind": "ups", "capacity": 100, "fed_from": ["SWB-A"],
             "device": "ups-a"},
            {"id": "UPS-B", "kind": "ups", "capacity": 100, "fed_from": ["SWB-B"],
             "device": "ups-b"},
            {"id": "PDU-A", "kind": "pdu", "fed_from": ["UPS-A"]},
            {"id": "PDU-B", "kind": "pdu", "fed_from": ["UPS-B"]},
            {"id": "R1", "kind": "rack", "demand": 40, "fed_from": ["PDU-A", "PDU-B"]},
            {"id": "R7", "kind": "rack", "demand": 20, "fed_from": ["PDU-A"]},
        ],
    },
}


def config(tmp: Path, url: str, topology: dict[str, Any] | None = None) -> Config:
    return Config.model_validate({
        "site": {"name": "Trung tâm Dữ liệu Cần Thơ", "timezone": "Asia/Ho_Chi_Minh"},
        "credentials": {"c": {"version": "2c", "community": "public"}},
        "devices": [
            {"id": "ups-a", "address": "127.0.0.1:1", "credentials": "c", "profile": "apc-ups"},
            {"id": "ups-b", "address": "127.0.0.1:2", "credentials": "c", "profile": "apc-ups"},
            {"id": "env-1", "address": "127.0.0.1:3", "credentials": "c",
             "profile": "geist-env"},
        ],
        "store": {"url": url},
        "topology": TOPOLOGY if topology is None else topology,
        "reports": {"dir": str(tmp / "reports")},
    })


def change(device: str, component: str, old: Status | None, new: Status, ts: float,
           conditions: frozenset[str] = frozenset(), reason: str = "") -> StatusChange:
    return StatusChange(device, component, old, new, reason, ts, conditions)


def seed(store: Store) -> None:
    before = at(30, 12, month=9)
    store.start_instance("main", before, max_silence=45)
    store.record_changes([
        change("ups-a", "device", None, Status.OK, before),
        change("ups-b", "device", None, Status.OK, before),
        change("env-1", "device", None, Status.OK, before),
        change("env-1", "sensor Inlet", None, Status.OK, before),
    ])
    # 3 Oct: R7 dropped for 300 s
    store.open_outage("load", "R7", at(3, 10), "no path: PDU-A failed", subsystem="power",
                      affected=["R7"])
    store.close_outage("load", "R7", at(3, 10, 5))
    # 5 Oct: the inlet above the recommended band for 6 h
    hot = frozenset({"temp_out_of_recommended"})
    store.record_changes([change("env-1", "sensor Inlet", Status.OK, Status.DEGRADED,
                                 at(5, 12), hot)])
    store.record_changes([change("env-1", "sensor Inlet", Status.DEGRADED, Status.OK,
                                 at(5, 18))])
    # 10 Oct: planned work on PDU-B; R1 dropped for 120 s during it
    window = store.add_maintenance("Thay PDU-B", at(10, 22), at(10, 23),
                                   {"components": ["PDU-B"]}, "nam", now=at(8))
    store.open_outage("load", "R1", at(10, 22), "no path: PDU-B removed", subsystem="power",
                      planned=True, affected=["R1"], maintenance_id=window)
    store.close_outage("load", "R1", at(10, 22, 2))
    # 15 Oct: ups-b on bypass for 3 h
    bypass = frozenset({"bypass"})
    store.record_changes([change("ups-b", "device", Status.OK, Status.FAILED, at(15, 8),
                                 bypass, "ups: on bypass")])
    store.open_exposure("bypass", "ups-b", at(15, 8), detail="ups: on bypass")
    store.record_changes([change("ups-b", "device", Status.FAILED, Status.OK, at(15, 11))])
    store.close_exposure("bypass", "ups-b", at(15, 11))
    # 20 Oct: tierwatch down for a day
    store.heartbeat("main", at(20))
    store.start_instance("main", at(21), max_silence=45)
    store.heartbeat("main", NOW)


def settings(tmp: Path, url: str) -> ReportSettings:
    """What the report room is given of that config."""
    return report_settings(config(tmp, url))
