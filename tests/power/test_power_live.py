"""The power room in a running service polling the simulated data center (its generator
controllers, switchboard meters and UPSs), and the readiness score's fuel part.

The simulator's controllers (sim/modbus_models.yaml, sim/datacenter.yaml): gen-1 holds
0.9 x 1000 L, gen-2 0.85 x 1000 L, both stopped in auto; the demo's fuel curve is 27 L/h at
rated load. Stopped sets count at their rated-load rate: the site has (900 + 850) L /
(27 + 27) L/h = 32.407 h. gen-1 running burns 12.5 L/h (measured): (900 + 850) / (12.5 +
27) = 44.304 h, and gen-1 alone 900 / 12.5 = 72 h.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from livetier.config import TierLiveConfig
from livetier.engine import LiveTier
from tests.helpers.simulator import run_simulator
from tierwatch.config import Config
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.service import Service

pytestmark = pytest.mark.integration


def _sample(service: Service, device: str, name: str) -> float:
    found = [s.value for s in service.state.devices[device].samples if s.name == name]
    assert len(found) == 1, (device, name, found)
    return found[0]


async def _until(check, limit: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)


async def test_fuel_pue_and_headroom_live(tmp_path: Path) -> None:
    with run_simulator(tmp_path) as sim:
        raw = sim.config(1.0, f"sqlite:///{tmp_path / 'tw.sqlite'}")
        raw["power"]["interval"] = 1
        raw["modbus"]["defaults"]["interval"] = 1
        # the fuel part moves only on the live tier's refresh tick (default 30 s, as long
        # as the waits below): tick every second so a wait covers many ticks
        raw.setdefault("tier", {})["refresh"] = 1
        service = Service(Config.model_validate(raw))
        await service.start()
        try:
            power, live = service.power, service.live
            assert power is not None and live is not None

            def fuel_scored(hours: float) -> bool:
                snap = live.snapshot
                return (power.view is not None and power.view.site_fuel_hours is not None
                        and abs(power.view.site_fuel_hours - hours) < 1e-6
                        and snap is not None and snap.fuel_hours == round(hours, 1))

            await _until(lambda: fuel_scored(1750 / 54))
            view = power.view
            assert view is not None
            assert view.site_fuel_hours == pytest.approx(1750 / 54)
            assert [f.basis for f in view.fuel] == ["rated", "rated"]
            snap = live.snapshot
            assert snap is not None
            parts = {p.name: p.value for p in snap.tier.parts}
            assert parts["fuel"] == 1.0  # min(1, 32.4 / 12)

            # PUE: the two switchboard meters (31 + 29 kW) over the UPS outputs
            it = sum(_sample(service, d, "ups_output_load_ratio") * 40_000
                     for d in ("ups-a", "ups-b"))
            assert view.facility_w == 60_000
            assert view.pue_live == pytest.approx(60_000 / it)
            assert view.category == 1

            # feed headroom of R01: the whole rack per phase on one 16 A cord (12.8 A)
            rows = {(h.survivor, h.phase): h for h in view.headroom["R01"]}
            phase1 = sum(s.value for d in ("pdu-r01-a", "pdu-r01-b")
                         for s in service.state.devices[d].samples
                         if s.name == "pdu_phase_current_amperes" and s.labels["phase"] == "1")
            assert rows[("pdu-r01-a", "1")].load_amps == pytest.approx(phase1)
            assert rows[("pdu-r01-a", "1")].limit_amps == pytest.approx(12.8)
            assert view.hidden_spofs == []

            sim.sim("fault", "gen-1", "running")
            await _until(lambda: fuel_scored(1750 / 39.5))
            view = power.view
            assert view is not None
            assert view.site_fuel_hours == pytest.approx(1750 / 39.5)
            g1 = view.fuel[0]
            assert (g1.node, g1.basis, g1.hours) == ("G1", "measured", 72)

            text = service.exporter.render().decode()
            assert 'tierwatch_fuel_autonomy_hours{scope="G1"} 72.0' in text
            assert 'tierwatch_pue{category="1",window="live"}' in text
            assert 'tierwatch_feed_hidden_spof{rack="R01"} 0.0' in text

            # the generator controller goes silent: no autonomy is claimed, the score's
            # fuel part goes neutral
            sim.sim("fault", "gen-2", "silent")
            await _until(lambda: power.view is not None and power.view.site_fuel_hours is None
                         and live.snapshot is not None and live.snapshot.fuel_hours is None)
            assert live.snapshot is not None
            parts = {p.name: p.value for p in live.snapshot.tier.parts}
            assert parts["fuel"] is None
        finally:
            await service.stop()


@pytest.mark.parametrize(("hours", "part"), [(6.0, 0.5), (12.0, 1.0), (30.0, 1.0),
                                             (0.0, 0.0), (None, None)])
async def test_the_readiness_fuel_part_takes_the_power_rooms_hours(
        hours: float | None, part: float | None) -> None:
    live = LiveTier(Config.model_validate({"site": {"name": "T"}, "topology": {"power": {
        "nodes": [{"id": "G1", "kind": "generator", "capacity": 10},
                  {"id": "R", "kind": "rack", "demand": 5, "fed_from": ["G1"]}]}}}).topology,
        TierLiveConfig(), fuel_hours=lambda: hours)
    await live.start(Runtime.for_tests(state=State()))
    try:
        snap = live.snapshot
        assert snap is not None
        assert {p.name: p.value for p in snap.tier.parts}["fuel"] == part
    finally:
        await live.stop()
