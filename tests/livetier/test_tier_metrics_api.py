"""The live tier seen from outside: /metrics series, the availability windows behind them,
and the API routes (GET /api/v1/tier, POST /api/v1/whatif, GET /api/v1/availability)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.config import ApiConfig
from api.context import ApiContext
from api.main import create_app
from collector.directory import DeviceDirectory
from exporters.prometheus import MetricsExporter
from livetier.config import TierLiveConfig
from livetier.downtime import AvailabilityCache, month_bounds
from livetier.engine import LiveTier
from tests.helpers.agents import sample_value
from tests.livetier.live_helpers import BYPASS, OFF, OK, Clock, config, poll, settle, start_live
from tierwatch.core.state import State
from tierwatch.core.store import Store
from tierwatch.service import report_settings

TZ = "Asia/Ho_Chi_Minh"


def test_month_bounds_are_the_site_calendar_month() -> None:
    # 2026-03-31 20:00 UTC is already April 1st in Cần Thơ
    now = datetime(2026, 3, 31, 20, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    start, end = month_bounds(now, TZ)
    assert datetime.fromtimestamp(start, ZoneInfo(TZ)).isoformat() == "2026-04-01T00:00:00+07:00"
    assert datetime.fromtimestamp(end, ZoneInfo(TZ)).isoformat() == "2026-05-01T00:00:00+07:00"
    start, end = month_bounds(datetime(2026, 12, 15, tzinfo=ZoneInfo(TZ)).timestamp(), TZ)
    assert end - start == 31 * 86400


def test_the_availability_cache_reads_the_store_once_per_interval(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    clock = Clock(100_000.0)
    store.record_transition("load", "R1", None, "served", 0.0)
    store.open_outage("load", "R1", clock.now - 600.0, "no path", subsystem="power")
    store.close_outage("load", "R1", clock.now - 540.0)  # 60 s down, 9 to 10 minutes ago
    settings = TierLiveConfig(windows=("5m", "1h", "1d"), availability_cache=30.0, target=0.999)
    cache = AvailabilityCache(
        store, settings, TZ, ["site", "power", "load:R1", "load:R2"], clock=clock
    )
    figures = {(f.scope, f.window): f.report for f in cache.figures()}
    assert figures[("load:R1", "5m")].downtime == 0.0
    assert figures[("load:R1", "1h")].downtime == 60.0
    assert figures[("load:R1", "1h")].availability == pytest.approx(1 - 60 / 3600)
    assert figures[("load:R1", "1h")].budget_remaining == pytest.approx(3.6 - 60.0)
    assert figures[("site", "1d")].downtime == 60.0 and figures[("load:R2", "1d")].downtime == 0
    # a new outage is not seen until the cache is stale or invalidated
    store.open_outage("load", "R2", clock.now - 10.0, "no path", subsystem="power")
    clock.now += 5.0
    assert cache.figures() is cache.figures() and cache.computations == 1
    assert {(f.scope, f.window): f.report for f in cache.figures()}[
        ("load:R2", "5m")
    ].downtime == 0.0
    cache.invalidate()
    fresh = {(f.scope, f.window): f.report for f in cache.figures()}
    assert fresh[("load:R2", "5m")].downtime == pytest.approx(15.0)  # still open: up to now
    assert cache.computations == 2
    assert cache.site_burn() is None  # no 30d or month window configured


async def scored(tmp_path: Path) -> tuple[LiveTier, State, MetricsExporter, Clock]:
    live, state, exporter, clock, _ = await scored_with_store(tmp_path)
    return live, state, exporter, clock


async def scored_with_store(tmp_path: Path
                            ) -> tuple[LiveTier, State, MetricsExporter, Clock, Store]:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    cfg = config()
    state = State(cfg.device_ids(), unreachable_after=2)
    clock = Clock(1000.0)
    live, rt = await start_live(cfg, state, store, clock)
    seq = live.snapshot.seq
    poll(state, "ups-a", 1001.0, OK)
    poll(state, "ups-b", 1001.0, BYPASS)
    await settle(live, seq)
    return live, state, MetricsExporter(state, rt.metrics), clock, store


async def test_tier_series_on_metrics(tmp_path: Path) -> None:
    live, state, exporter, clock = await scored(tmp_path)
    try:
        clock.now = 1005.0
        text = exporter.render().decode()

        def value(name: str, **labels: str) -> float | None:
            return sample_value(text, name, **labels)

        assert value("tierwatch_tier", subsystem="power", kind="design") == 3
        assert value("tierwatch_tier", subsystem="power", kind="live") == 1
        assert value("tierwatch_tier", subsystem="site", kind="live") == 1
        assert value("tierwatch_capacity_required_units", subsystem="power", group="ups") == 1
        assert value("tierwatch_capacity_spare_units", subsystem="power", group="ups") == 0
        assert value("tierwatch_load_paths", subsystem="power", load="R", mode="all") == 1
        assert value("tierwatch_load_paths", subsystem="power", load="R", mode="active") == 1
        assert value("tierwatch_load_served", subsystem="power", load="R") == 1
        assert value("tierwatch_spof", subsystem="power", node="UPS-A", kind="live") == 1
        assert value("tierwatch_spof", subsystem="power", node="UPS-A", kind="design") == 1
        assert value("tierwatch_spof", subsystem="power", node="SWB-B", kind="live") is None
        assert value("tierwatch_maintainability_failures", subsystem="power") == 3
        assert 0 <= value("tierwatch_readiness_score") <= 100
        assert value("tierwatch_tier_rescores_total") == live.rescores
        assert value("tierwatch_tier_pending_nodes") == 0
        # everything monitored so far was up
        assert value("tierwatch_availability_ratio", scope="load:R", window="1h") == 1.0
        assert value("tierwatch_availability_ratio", scope="site", window="month") == 1.0
        budget = value("tierwatch_downtime_budget_remaining_seconds", scope="power", window="30d")
        assert budget == pytest.approx((1 - 0.99982) * 30 * 86400)

        # UPS-A off as well: R is down, and the series say so
        clock.now = 1010.0
        seq = live.snapshot.seq
        poll(state, "ups-a", 1010.0, OFF)
        await settle(live, seq)
        clock.now = 1070.0
        text = exporter.render().decode()
        assert value("tierwatch_tier", subsystem="power", kind="live") == 0
        assert value("tierwatch_load_served", subsystem="power", load="R") == 0
        assert value("tierwatch_load_paths", subsystem="power", load="R", mode="all") == 0
        # R has been down 60 of the 69 monitored seconds (since the first settled state)
        assert value("tierwatch_availability_ratio", scope="load:R", window="5m") == pytest.approx(
            1 - 60 / 69
        )
    finally:
        await live.stop()


def client_for(context: ApiContext) -> httpx.AsyncClient:
    app = create_app(context)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tw")


async def test_api_routes_of_the_live_tier(tmp_path: Path) -> None:
    live, state, exporter, _, store = await scored_with_store(tmp_path)
    cfg = config().model_copy(update={"api": ApiConfig(read_auth="open")})
    context = ApiContext(
        config=cfg, state=state, exporter=exporter,
        devices=DeviceDirectory(cfg.devices, cfg.agents, cfg.probes),
        reports=report_settings(cfg), store=lambda: store, ready=lambda: True, live=live)
    try:
        async with client_for(context) as client:
            tier = (await client.get("/api/v1/tier")).json()
            assert tier["topology_fingerprint"] == live.fingerprint
            assert tier["statuses"] == {"UPS-A": "ok", "UPS-B": "bypass"}
            assert tier["settled"] is True and tier["as_of"] == 1001.0
            assert tier["snapshot"]["subsystems"]["power"]["live_tier"] == 1
            answer = await client.post("/api/v1/whatif", json={"remove": ["UPS-A"]})
            assert answer.status_code == 200
            body = answer.json()
            assert body["ok"] is False
            assert body["verdict"].startswith("not now: UPS-B is on bypass")
            assert body["blocking"] == [{"id": "UPS-B", "status": "bypass"}]
            bad = await client.post("/api/v1/whatif", json={"remove": ["UPS-Z"]})
            assert bad.status_code == 422 and "UPS-Z" in bad.json()["message"]
            empty = await client.post("/api/v1/whatif", json={"remove": []})
            assert empty.status_code == 422
            avail = await client.get(
                "/api/v1/availability", params={"scope": "load:R", "start": "1000", "end": "1100"}
            )
            assert avail.status_code == 200
            assert avail.json()["scope"] == "load:R" and avail.json()["downtime_s"] == 0
            iso = await client.get(
                "/api/v1/availability",
                params={"scope": "power", "start": "1970-01-01T07:16:40+07:00", "end": "1100"},
            )
            assert iso.status_code == 200 and iso.json()["period"] == [1000.0, 1100.0]
            naive = await client.get("/api/v1/availability", params={"start": "2026-01-01T00:00"})
            assert naive.status_code == 422
        async with client_for(replace(context, live=None)) as client:
            missing = await client.get("/api/v1/tier")
            assert missing.status_code == 404 and "topology" in missing.json()["message"]
    finally:
        await live.stop()
