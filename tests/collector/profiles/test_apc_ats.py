"""apc-ats replayed on the simulator's APC rack ATS walk (sim/data/apc-ats.snmprec).

The walk is synthetic, written from the PowerNet-MIB definitions, not captured from an ATS;
every expected value below is worked out by hand from that file and the MIB's units.
"""

from __future__ import annotations

import pytest

from tests.helpers.recorded import poll_model
from tests.helpers.samples import component, matching, sample_value

MODEL = "apc-ats"
STATUS = "1.3.6.1.4.1.318.1.1.8.5.1"  # atsStatusDeviceStatus


async def test_readings_in_base_units():
    result = await poll_model(MODEL, ["apc-ats"])
    s = result.samples
    assert sample_value(s, "ats_selected_source", {"state": "A"}) == 1
    assert sample_value(s, "ats_selected_source", {"state": "B"}) == 0
    assert sample_value(s, "ats_redundancy_state", {"state": "redundant"}) == 1
    assert sample_value(s, "ats_preferred_source") == 1
    assert sample_value(s, "ats_input_volts", {"source": "A", "phase": "1"}) == 230
    assert sample_value(s, "ats_input_volts", {"source": "B", "phase": "1"}) == 229
    assert (
        sample_value(
            s, "ats_input_frequency_hertz", {"source": "A", "input_name": "Nguồn A (UPS-A)"}
        )
        == 50
    )
    # -1: this ATS measures no input current or power
    assert matching(s, "ats_input_current_amperes") == []
    assert matching(s, "ats_input_power_watts") == []
    out = {"output": "1", "phase": "1"}
    assert sample_value(s, "ats_output_volts", out) == 230
    assert sample_value(s, "ats_output_current_amperes", out) == 6.4  # 64 tenths of A
    assert sample_value(s, "ats_output_apparent_power_volt_amperes", out) == 1470
    assert sample_value(s, "ats_output_load_ratio", out) == 0.4
    assert sample_value(s, "ats_output_phase_state", {**out, "state": "normal"}) == 1
    assert sample_value(s, "ats_output_frequency_hertz", {"output": "1"}) == 50
    assert sample_value(s, "ats_rating_amperes") == 16
    assert sample_value(s, "ats_source_status", {"source": "A"}) == 2  # ok
    assert sample_value(s, "ats_source_status", {"source": "B"}) == 2
    supplies = {x.labels["supply"] for x in matching(s, "ats_power_supply_status")}
    assert supplies == {"5V", "24V source A", "24V source B", "+12V", "-12V"}
    info = next(x for x in s if x.name == "ats_info")
    assert (info.labels["model"], info.labels["serial"]) == ("AP7724", "5A1731E01234")
    assert component(result, "ats").status == "ok"
    assert component(result, "output phase 1").status == "ok"


async def test_source_b_readings():
    result = await poll_model(MODEL, ["apc-ats"], faults=["source-b"])
    s = result.samples
    assert sample_value(s, "ats_selected_source", {"state": "B"}) == 1
    assert sample_value(s, "ats_input_volts", {"source": "A", "phase": "1"}) == 0
    assert sample_value(s, "ats_redundancy_state", {"state": "lost"}) == 1
    assert sample_value(s, "ats_source_status", {"source": "A"}) == 1  # fail
    assert sample_value(s, "ats_source_status", {"source": "B"}) == 2


@pytest.mark.parametrize(
    ("overlay", "name", "status", "conditions"),
    [
        ({f"{STATUS}.1.0": 3}, "ats", "unknown", {"comm_lost"}),
        ({f"{STATUS}.4.0": 1}, "ats", "degraded", {"overcurrent"}),
        ({f"{STATUS}.7.0": 1}, "ats", "degraded", {"power_supply_fault"}),
        ({f"{STATUS}.9.0": 1}, "ats", "degraded", {"power_supply_fault"}),
        ({f"{STATUS}.10.0": 1}, "ats", "failed", {"switch_fault"}),
        ({f"{STATUS}.15.0": 1}, "ats", "failed", {"output_lost"}),
        ({"1.3.6.1.4.1.318.1.1.8.4.2.0": 2}, "ats", "degraded", {"on_alternate_source"}),
        ({"1.3.6.1.4.1.318.1.1.8.4.2.0": 3}, "ats", "ok", set()),  # no preference
        (
            {"1.3.6.1.4.1.318.1.1.8.5.4.3.1.19.1.1": 3},
            "output phase 1",
            "degraded",
            {"near_overload"},
        ),
        ({"1.3.6.1.4.1.318.1.1.8.5.4.3.1.19.1.1": 4}, "output phase 1", "failed", {"overload"}),
    ],
)
async def test_status_rules(overlay, name, status, conditions):
    result = await poll_model(MODEL, ["apc-ats"], overlay=overlay)
    comp = component(result, name)
    assert (comp.status, set(comp.conditions)) == (status, conditions)
