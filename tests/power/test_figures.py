"""The power room's figures against numbers worked out by hand."""

from __future__ import annotations

import pytest

from power.figures import (
    Cord,
    budget_spent,
    energy,
    feed_headroom,
    generator_fuel,
    hidden_spof,
    n_plus_one_limit,
    pue,
    pue_over,
    reaches,
    site_fuel_hours,
    trend,
)

H = 3600.0


def test_fuel_autonomy() -> None:
    # running: 0.9 x 1000 L = 900 L at the measured 12.5 L/h = 72 h
    g1 = generator_fuel("G1", 0.9, 1000, True, 12.5, 27)
    assert (g1.liters, g1.rate_lph, g1.basis, g1.hours) == (900, 12.5, "measured", 72)
    # stopped: 0.85 x 1000 = 850 L at the rated 27 L/h (fuel curve) = 31.48... h
    g2 = generator_fuel("G2", 0.85, 1000, False, 0.0, 27)
    assert (g2.liters, g2.basis) == (850, "rated")
    assert g2.hours == pytest.approx(850 / 27)
    # site: (900 + 850) L / (12.5 + 27) L/h = 1750 / 39.5 = 44.30 h
    assert site_fuel_hours([g1, g2]) == pytest.approx(1750 / 39.5)
    # a running set that reports no rate is taken at its rated load
    assert generator_fuel("G3", 0.5, 400, True, None, 20).hours == 10.0
    # a controller that is not heard: unknown, and so is the site
    g4 = generator_fuel("G4", None, 1000, False, None, 27)
    assert (g4.hours, g4.basis) == (None, "unknown")
    assert site_fuel_hours([g1, g4]) is None


def test_pue_now_and_over_a_period() -> None:
    assert pue(60_000, 40_000) == 1.5
    assert pue(60_000, 0) is None and pue(None, 40_000) is None
    # 2 h at 60 kW then 2 h at 66 kW, IT at 40 kW: (120 + 132) / 160 kWh = 1.575
    facility = [(0.0, 60_000.0), (2 * H, 66_000.0)]
    it = [(0.0, 40_000.0)]
    assert pue_over(facility, it, 0.0, 4 * H, max_gap=10 * H) == pytest.approx(1.575)
    # readings 2 h apart with max_gap 1 h: each holds 1 h (the meter was silent between):
    # 1 h x 60 kW + 1 h x 66 kW = 126 kWh, never a last value for ever
    assert energy(facility, 0.0, 4 * H, max_gap=H) == pytest.approx(126_000 * H)
    # with a gap long enough each holds until the next or the end: 2 x 60 + 2 x 66 = 252
    assert energy(facility, 0.0, 4 * H, max_gap=3 * H) == pytest.approx(252_000 * H)


def test_feed_headroom_of_a_dual_corded_rack() -> None:
    # 16 A breakers derated to 12.8 A; the rack draws 7.5 + 6.4 = 13.9 A on phase 1:
    # neither cord could carry it alone (-1.1 A); phase 2 draws 5 + 5 = 10 A (2.8 A left)
    cords = [Cord("pdu-a", 16, {"1": 7.5, "2": 5.0}), Cord("pdu-b", 16, {"1": 6.4, "2": 5.0})]
    rows = feed_headroom("R01", cords)
    table = {(h.survivor, h.phase): round(h.headroom_amps, 6) for h in rows}
    assert table == {("pdu-a", "1"): -1.1, ("pdu-a", "2"): 2.8,
                     ("pdu-b", "1"): -1.1, ("pdu-b", "2"): 2.8}
    assert hidden_spof(rows)
    # exactly 80 % of the survivor's breaker still carries: 6.4 + 6.4 = 12.8 A
    exact = feed_headroom("R02", [Cord("a", 16, {"1": 6.4}), Cord("b", 16, {"1": 6.4})])
    assert not hidden_spof(exact)
    # different breakers: a 32 A side carries 13.9 A (25.6 A limit), the 16 A side not
    mixed = feed_headroom("R03", [Cord("a", 32, {"1": 7.5}), Cord("b", 16, {"1": 6.4})])
    assert [(h.survivor, h.carries) for h in mixed] == [("a", True), ("b", False)]


def test_trend_and_n_plus_one() -> None:
    day = 86400.0
    points = [(d * day, 30 + 0.2 * d) for d in range(30)]
    slope, intercept = trend(points) or (0, 0)
    assert slope * day == pytest.approx(0.2) and intercept == pytest.approx(30)
    # two 40 kW units: no spare above 40 kW; 30 + 0.2 d = 40 at d = 50
    assert n_plus_one_limit([40, 40]) == 40
    assert n_plus_one_limit([100, 60, 60]) == 120
    assert n_plus_one_limit([40]) is None
    found = reaches(points, 40, now=29 * day)
    assert found.at == pytest.approx(50 * day) and found.note == "at the present growth"
    assert reaches(points, 33, now=29 * day).note == "already"
    flat = [(d * day, 30.0) for d in range(30)]
    assert reaches(flat, 40, now=29 * day) == reaches(flat, 40, now=29 * day)
    assert reaches(flat, 40, now=29 * day).at is None
    assert reaches(points[:1], 40, now=0).note == "not enough data"


def test_budget_spent() -> None:
    # 5676.48 s a year (99.982 %); 4000 used; 3000 s in the last 30 days:
    # 1676.48 s left at 3000 / 2,592,000 s per s = 1,448,478.72 s from now
    found = budget_spent(4000, 5676.48, 3000, 30 * 86400, now=0.0)
    assert found.at == pytest.approx(1_448_478.72)
    assert budget_spent(6000, 5676.48, 3000, 30 * 86400, now=5.0).at == 5.0
    assert budget_spent(4000, 5676.48, 0, 30 * 86400, now=0.0).at is None
    late = budget_spent(4000, 5676.48, 3000, 30 * 86400, now=0.0, period_end=86400.0)
    assert late.at is None and late.note.startswith("not within the period")
