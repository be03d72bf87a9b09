"""The power room's month in the store: a seeded November 2026 (Asia/Ho_Chi_Minh, 30 days,
720 hourly readings of each figure) against figures worked out by hand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from power import history
from tier.topology import TopologyConfig
from tierwatch.core.store import Store
from tierwatch.core.store.power import add_power_readings

TZ = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(TZ)
H = 3600.0
DAY = 86400.0
NOV = datetime(2026, 11, 1, tzinfo=ZONE).timestamp()
DEC = datetime(2026, 12, 1, tzinfo=ZONE).timestamp()
TOPOLOGY = TopologyConfig.model_validate({"power": {
    "groups": [{"id": "generator", "demand": 75}],
    "nodes": [
        {"id": "G1", "kind": "generator", "capacity": 100},
        {"id": "G2", "kind": "generator", "capacity": 100},
        {"id": "UPS-A", "kind": "ups", "capacity": 40, "fed_from": ["G1", "G2"]},
        {"id": "UPS-B", "kind": "ups", "capacity": 40, "fed_from": ["G1", "G2"]},
        {"id": "R01", "kind": "rack", "demand": 30, "fed_from": ["UPS-A", "UPS-B"]}]}})


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).timestamp()


@pytest.fixture
def month() -> Store:
    """Hourly readings through November:
    - facility 60 kW the first 15 days, 66 kW the last 15; IT 40 kW throughout;
    - site fuel 40 h, except 9.5 h from Nov 20 08:00 to 10:00 (3 readings), 36 h the last;
    - rack R01 a hidden SPOF for 6 readings (Nov 12 00:00..05:00), R02 never;
    - the UPS group's demand 30 + 0.2 d kW on day d (0..29), no generator group readings;
    and load outages: 1000 s in March, and in November R01 10:00-10:30 and R02 10:20-10:50
    on Nov 10 (their union: 3000 s)."""
    store = Store.open("sqlite://")
    for hour in range(720):
        ts = NOV + hour * H
        day = hour // 24
        fuel = 9.5 if local(2026, 11, 20, 8) <= ts <= local(2026, 11, 20, 10) else 40.0
        if hour == 719:
            fuel = 36.0
        spof = 1.0 if local(2026, 11, 12) <= ts <= local(2026, 11, 12, 5) else 0.0
        add_power_readings(store, ts, [
            ("facility_w", "site", 60_000.0 if day < 15 else 66_000.0),
            ("it_w", "site", 40_000.0), ("fuel_h", "site", fuel),
            ("hidden_spof", "R01", spof), ("hidden_spof", "R02", 0.0),
            ("demand", "power/ups", 30.0 + 0.2 * day)])
    for subject, start, end in [("R09", local(2026, 3, 3, 1), local(2026, 3, 3, 1) + 1000),
                                ("R01", local(2026, 11, 10, 10), local(2026, 11, 10, 10, 30)),
                                ("R02", local(2026, 11, 10, 10, 20),
                                 local(2026, 11, 10, 10, 50))]:
        store.open_outage("load", subject, start, "no path", subsystem="power")
        store.close_outage("load", subject, end)
    return store


def test_the_months_power_section(month: Store) -> None:
    section = history.month_section(month, NOV, DEC, timezone=TZ, topology=TOPOLOGY,
                                    target=0.99982, interval=H, category=1)
    # PUE: (60 x 360 + 66 x 360) / (40 x 720) = 45,360 / 28,800 = 1.575
    assert section["pue"]["month"] == pytest.approx(1.575)
    assert section["pue"]["category"] == 1
    daily = {d["day"]: d["pue"] for d in section["pue"]["daily"]}
    assert len(daily) == 30
    assert daily["2026-11-01"] == pytest.approx(1.5)
    assert daily["2026-11-15"] == pytest.approx(1.5)
    assert daily["2026-11-16"] == pytest.approx(1.65)
    assert daily["2026-11-30"] == pytest.approx(1.65)
    assert section["fuel_hours"] == {"lowest": 9.5, "latest": 36.0}
    # six hourly readings flagged: 6 h
    assert section["hidden_spofs"] == {"R01": 6 * H}


def test_the_forecast_at_the_months_end(month: Store) -> None:
    section = history.month_section(month, NOV, DEC, timezone=TZ, topology=TOPOLOGY,
                                    target=0.99982, interval=H)
    n1 = section["forecast"]["n_plus_one"]
    # two 40 kW UPSs: no spare above 40 kW. Daily means 30 + 0.2 d at each day's noon reach
    # 40 at d = 50: Nov 1 12:00 + 50 days = Dec 21 12:00
    assert n1["power/ups"]["at"] == pytest.approx(local(2026, 12, 21, 12))
    assert n1["power/generator"] == {"at": None, "note": "not enough data"}
    budget = section["forecast"]["budget"]
    # 2026: 365 days x 0.00018 = 5676.48 s; used 1000 + 3000 = 4000 s; burn 3000 s in the
    # last 30 days; 1676.48 s left / (3000 / 2,592,000) = 1,448,478.72 s after Dec 1 00:00
    # = Dec 17 18:21:18.72
    assert budget["budget_s"] == pytest.approx(5676.48)
    assert budget["used_s"] == 4000 and budget["recent_s"] == 3000
    assert budget["at"] == pytest.approx(local(2026, 12, 17, 18, 21, 18) + 0.72)


def test_pue_of_a_day_with_a_silent_meter(month: Store) -> None:
    # Nov 3 with the facility meter's readings 06:00..17:00 missing: each reading holds
    # until the next, for at most 3 intervals (3 h): 00:00-05:00 (5 h), 05:00's reading
    # 05:00-08:00 (3 h), 18:00-24:00 (6 h): 14 h of facility energy, 14 x 60 / (24 x 40)
    # = 840 / 960 = 0.875
    start, end = local(2026, 11, 3), local(2026, 11, 4)
    from sqlalchemy import delete

    from tierwatch.core.store.schema import power_readings
    with month.engine.begin() as conn:
        conn.execute(delete(power_readings).where(
            power_readings.c.kind == "facility_w",
            power_readings.c.ts >= local(2026, 11, 3, 6),
            power_readings.c.ts <= local(2026, 11, 3, 17)))
    assert history.pue_between(month, start, end, 3 * H) == pytest.approx(0.875)
