"""geist-env replayed on the simulator's Geist Watchdog 100 walk
(sim/data/geist-watchdog.snmprec): readings, the Fahrenheit setting, and the ASHRAE bands.

The walk is synthetic, written from the GEIST-V4-MIB definitions, not captured from a
monitor; every expected value below is worked out by hand (tenths of a degree, percent RH).
Bands (TIER-MODEL.md): recommended 18-27 °C, allowable A1 15-32 °C and 8-80 % RH.
"""

from __future__ import annotations

import pytest

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, matching, sample_value

MODEL = "geist-watchdog"
UNITS = "1.3.6.1.4.1.21239.5.1.1.7.0"  # temperatureUnits
INTERNAL = "1.3.6.1.4.1.21239.5.1.2.1"  # internalEntry
PROBE = "1.3.6.1.4.1.21239.5.1.4.1"  # tempSensorEntry
ROOM = "Watchdog phòng máy 1"


async def test_readings_in_celsius():
    result = await poll_model(MODEL, ["geist-env"])
    s = result.samples
    temps = {x.labels["sensor"]: x.value for x in matching(s, "env_temperature_celsius")}
    assert temps == {ROOM: 23.2, "Tủ R01 mặt trước": 21.9, "Tủ R02 mặt trước": 22.6}
    assert sample_value(s, "env_humidity_ratio", {"sensor": ROOM}) == 0.48
    assert sample_value(s, "env_dew_point_celsius", {"sensor": ROOM}) == 11.6
    assert sample_value(s, "env_temperature_unit") == 1
    assert sample_value(s, "env_temperature_celsius", {"serial": "28F30B7A0400007B"}) == 21.9
    info = next(x for x in s if x.name == "env_info")
    assert (info.labels["product"], info.labels["firmware"]) == ("Watchdog 100", "3.9.3")
    assert {c.component: c.status for c in result.components} == {
        "monitor": "ok",
        f"sensor {ROOM}": "ok",
        "sensor Tủ R01 mặt trước": "ok",
        "sensor Tủ R02 mặt trước": "ok",
    }


async def test_a_monitor_set_to_fahrenheit_still_reports_celsius():
    # 73.4 °F = 23.0 °C, 71.6 °F = 22.0 °C, dew point 52.9 °F = 11.61 °C
    result = await poll_model(
        MODEL,
        ["geist-env"],
        overlay={UNITS: 0, f"{INTERNAL}.5.1": 734, f"{PROBE}.5.1": 716, f"{INTERNAL}.7.1": 529},
    )
    s = result.samples
    assert sample_value(s, "env_temperature_celsius", {"sensor": ROOM}) == pytest.approx(23.0)
    assert sample_value(
        s, "env_temperature_celsius", {"sensor": "Tủ R01 mặt trước"}
    ) == pytest.approx(22.0)
    assert sample_value(s, "env_dew_point_celsius", {"sensor": ROOM}) == pytest.approx(
        11.6111, abs=1e-3
    )
    assert sample_value(s, "env_humidity_ratio", {"sensor": ROOM}) == 0.48  # no unit
    assert component(result, f"sensor {ROOM}").status == "ok"


async def test_an_unknown_unit_gives_no_temperature_and_says_so():
    result = await poll_model(MODEL, ["geist-env"], overlay={UNITS: 7})
    assert matching(result.samples, "env_temperature_celsius") == []
    assert matching(result.samples, "env_dew_point_celsius") == []
    monitor = component(result, "monitor")
    assert (monitor.status, set(monitor.conditions)) == ("unknown", {"temperature_unit_unknown"})


REC, ALLOW = "temp_out_of_recommended", "temp_out_of_allowable"


@pytest.mark.parametrize(
    ("tenths", "status", "conditions"),
    [
        (149, "failed", {REC, ALLOW}),
        (150, "degraded", {REC}),
        (179, "degraded", {REC}),
        (180, "ok", set()),
        (232, "ok", set()),
        (270, "ok", set()),
        (271, "degraded", {REC}),
        (320, "degraded", {REC}),
        (321, "failed", {REC, ALLOW}),
    ],
)
async def test_temperature_bands(tenths, status, conditions):
    result = await poll_model(MODEL, ["geist-env"], overlay={f"{PROBE}.5.2": tenths})
    comp = component(result, "sensor Tủ R02 mặt trước")
    assert (comp.status, set(comp.conditions)) == (status, conditions)


@pytest.mark.parametrize(
    ("percent", "status"),
    [(7, "failed"), (8, "ok"), (48, "ok"), (80, "ok"), (81, "failed")],
)
async def test_humidity_band(percent, status):
    result = await poll_model(MODEL, ["geist-env"], overlay={f"{INTERNAL}.6.1": percent})
    comp = component(result, f"sensor {ROOM}")
    assert comp.status == status
    assert ("humidity_out_of_allowable" in comp.conditions) == (status == "failed")


async def test_an_unavailable_sensor_reads_nothing_and_is_unknown():
    result = await poll_model(MODEL, ["geist-env"], overlay={f"{INTERNAL}.4.1": 0})
    s = result.samples
    assert matching(s, "env_temperature_celsius", {"sensor": ROOM}) == []
    assert matching(s, "env_humidity_ratio", {"sensor": ROOM}) == []
    comp = component(result, f"sensor {ROOM}")
    assert (comp.status, set(comp.conditions)) == ("unknown", {"sensor_unavailable"})
    assert component(result, "sensor Tủ R01 mặt trước").status == "ok"
