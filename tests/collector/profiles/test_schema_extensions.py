"""The optional per-row features of the profile schema, each on a small hand-made table.

scale_from (column or scalar; value itself, factors, exponents, offsets), precision_from,
name_by, only_if, label fallback and map, index map: what a profile author writes, what a
poll then yields, and the mistakes the schema refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from collector.profile import Profile, mw_to_dbm, parse_profile, precision_divisor
from collector.snmp.client import FakeSnmpClient, Value
from collector.snmp.poller import PollPlan, poll
from tests.helpers.samples import component, matching, sample_value

T = "1.3.6.1.4.1.99999.1.1"  # a made-up table entry: columns T.1, T.2, ...


def col(n: int, row: int | str) -> str:
    return f"{T}.{n}.{row}"


def profile(**body: Any) -> Profile:
    return Profile(parse_profile({"name": "t", **body}))


async def run(prof: Profile, values: dict[str, Value]):
    return await poll("dev", FakeSnmpClient(values), PollPlan([prof]), {"device": "dev"}, 0.0)


# ----------------------------------------------------------------- scale_from, column value


async def test_scale_from_column_uses_the_value_as_multiplier():
    prof = profile(
        tables=[
            {
                "name": "storage",
                "metrics": [
                    {"name": "used_bytes", "oid": f"{T}.6", "scale_from": {"column": f"{T}.4"}}
                ],
            }
        ]
    )
    result = await run(prof, {col(4, 1): 4096, col(6, 1): 100, col(4, 2): 65536, col(6, 2): 3})
    assert sample_value(result.samples, "used_bytes", {"index": "1"}) == 409600
    assert sample_value(result.samples, "used_bytes", {"index": "2"}) == 196608


async def test_row_without_its_scale_gives_no_sample():
    prof = profile(
        tables=[
            {
                "name": "storage",
                "metrics": [
                    {"name": "used_bytes", "oid": f"{T}.6", "scale_from": {"column": f"{T}.4"}}
                ],
            }
        ]
    )
    result = await run(prof, {col(6, 1): 100, col(4, 2): 2, col(6, 2): 5})
    assert matching(result.samples, "used_bytes", {"index": "1"}) == []
    assert sample_value(result.samples, "used_bytes", {"index": "2"}) == 10


# --------------------------------------------- the ENTITY-SENSOR shape: all four features

SENSOR: dict[str, Any] = {
    "name": "sensors",
    "index": [{"label": "ent_physical_index"}],
    "metrics": [
        {
            "name": "sensor_value",
            "oid": f"{T}.4",
            "unavailable": [-1000000000, 1000000000],
            "scale_from": {"column": f"{T}.2", "exponents": {k: 3 * (k - 9) for k in range(1, 18)}},
            "precision_from": f"{T}.3",
            "name_by": {
                "column": f"{T}.1",
                "names": {
                    8: "sensor_celsius",
                    4: "sensor_volts",
                    9: {"name": "sensor_humidity_ratio", "scale": 0.01},
                },
            },
            "only_if": {"column": f"{T}.5", "in": [1]},
        }
    ],
}


def sensor_row(
    row: int, kind: int, scale: int, precision: int, value: int, status: int = 1
) -> dict[str, Value]:
    return {
        col(1, row): kind,
        col(2, row): scale,
        col(3, row): precision,
        col(4, row): value,
        col(5, row): status,
    }


@pytest.mark.parametrize(
    ("kind", "scale", "precision", "raw", "name", "expected"),
    [
        (4, 8, 1, 4510, "sensor_volts", 0.451),  # milli, 1 decimal: 451.0 mV
        (8, 9, 1, 245, "sensor_celsius", 24.5),  # units, tenths of a degree
        (8, 9, 0, 31, "sensor_celsius", 31.0),
        (4, 8, 0, 12050, "sensor_volts", 12.05),  # 12050 mV
        (4, 10, 2, 123, "sensor_volts", 1230.0),  # kilo, 2 decimals: 1.23 kV
        (9, 9, 0, 45, "sensor_humidity_ratio", 0.45),  # percent RH -> ratio
        (8, 9, -2, 27, "sensor_celsius", 27.0),  # negative precision: accurate digits only
    ],
)
async def test_sensor_value_follows_scale_precision_and_type(
    kind, scale, precision, raw, name, expected
):
    result = await run(profile(tables=[SENSOR]), sensor_row(7, kind, scale, precision, raw))
    assert sample_value(result.samples, name, {"ent_physical_index": "7"}) == pytest.approx(
        expected
    )
    assert [s.name for s in result.samples] == [name]


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (sensor_row(1, 8, 9, 0, 30, status=2), "unavailable"),
        (sensor_row(1, 8, 9, 0, 30, status=3), "nonoperational"),
        (sensor_row(1, 12, 9, 0, 1), "a type the profile does not list (truthvalue)"),
        (sensor_row(1, 8, 42, 0, 30), "a scale outside the map"),
        (sensor_row(1, 8, 9, 0, 1000000000), "overflow"),
        (
            {k: v for k, v in sensor_row(1, 8, 9, 0, 30).items() if k != col(3, 1)},
            "no precision column",
        ),
    ],
)
async def test_sensor_rows_that_cannot_be_read_give_no_sample(row, why):
    result = await run(profile(tables=[SENSOR]), row)
    assert result.samples == [], why


def test_plan_walks_the_columns_the_arithmetic_reads():
    prof = profile(tables=[SENSOR])
    assert set(prof.walk_roots) == {f"{T}.{n}" for n in (1, 2, 3, 4, 5)}
    plan = PollPlan([prof])
    assert set(plan.metadata) == {"sensor_celsius", "sensor_volts", "sensor_humidity_ratio"}


async def test_status_rules_see_the_per_row_name():
    table = {
        **SENSOR,
        "component": "sensor {ent_physical_index}",
        "status": [
            {
                "when": {"metric": "sensor_celsius", "above": 40},
                "status": "failed",
                "condition": "hot",
            }
        ],
    }
    result = await run(
        profile(tables=[table]), {**sensor_row(1, 8, 9, 1, 455), **sensor_row(2, 8, 9, 1, 250)}
    )
    assert component(result, "sensor 1").status == "failed"
    assert component(result, "sensor 1").conditions == {"hot"}
    assert component(result, "sensor 2").status == "ok"


@pytest.mark.parametrize(("places", "divisor"), [(0, 1), (1, 10), (3, 1000), (9, 1e9), (-3, 1)])
def test_precision_divisor_follows_rfc3433(places, divisor):
    assert precision_divisor(places) == divisor


# ----------------------------------------------------- scale_from from a scalar, offsets

FAHRENHEIT_TO_CELSIUS = {
    "scalar": "1.3.6.1.4.1.99999.2.0",
    "factors": {0: 5 / 9, 1: 1.0},
    "offsets": {0: -160 / 9, 1: 0.0},
}


@pytest.mark.parametrize(
    ("units", "raw", "celsius"), [(1, 245, 24.5), (0, 770, 25.0), (0, 896, 32.0)]
)
async def test_scale_from_scalar_converts_a_device_wide_unit(units, raw, celsius):
    prof = profile(
        tables=[
            {
                "name": "climate",
                "metrics": [
                    {
                        "name": "temperature_celsius",
                        "oid": f"{T}.5",
                        "scale": 0.1,
                        "scale_from": FAHRENHEIT_TO_CELSIUS,
                    }
                ],
            }
        ]
    )
    assert "1.3.6.1.4.1.99999.2.0" in prof.get_oids
    result = await run(prof, {col(5, 1): raw, "1.3.6.1.4.1.99999.2.0": units})
    assert sample_value(result.samples, "temperature_celsius") == pytest.approx(celsius)


async def test_unknown_device_unit_gives_no_temperature():
    prof = profile(
        scalars=[
            {
                "name": "probe_celsius",
                "oid": "1.3.6.1.4.1.99999.3.0",
                "scale": 0.1,
                "scale_from": FAHRENHEIT_TO_CELSIUS,
            }
        ],
        tables=[
            {
                "name": "climate",
                "metrics": [
                    {
                        "name": "temperature_celsius",
                        "oid": f"{T}.5",
                        "scale": 0.1,
                        "scale_from": FAHRENHEIT_TO_CELSIUS,
                    }
                ],
            }
        ],
    )
    without_unit = await run(prof, {col(5, 1): 245, "1.3.6.1.4.1.99999.3.0": 200})
    assert without_unit.samples == []
    odd_unit = await run(
        prof, {col(5, 1): 245, "1.3.6.1.4.1.99999.3.0": 200, "1.3.6.1.4.1.99999.2.0": 7}
    )
    assert odd_unit.samples == []
    celsius = await run(
        prof, {col(5, 1): 245, "1.3.6.1.4.1.99999.3.0": 200, "1.3.6.1.4.1.99999.2.0": 1}
    )
    assert sample_value(celsius.samples, "probe_celsius") == pytest.approx(20.0)


# ------------------------------------------------------------------ labels: fallback, map


async def test_label_fallback_fills_only_missing_or_empty_names():
    prof = profile(
        tables=[
            {
                "name": "things",
                "labels": [{"label": "sensor", "oid": f"{T}.7", "fallback": f"{T}.2"}],
                "metrics": [{"name": "thing_value", "oid": f"{T}.9"}],
            }
        ]
    )
    result = await run(
        prof,
        {
            col(7, 1): b"Inlet",
            col(2, 1): b"Temp sensor 1",
            col(9, 1): 1,
            col(7, 2): b"",
            col(2, 2): b"PSU 2 output",
            col(9, 2): 2,
            col(2, 3): b"Fan tray",
            col(9, 3): 3,
        },
    )
    names = {s.labels["index"]: s.labels["sensor"] for s in result.samples}
    assert names == {"1": "Inlet", "2": "PSU 2 output", "3": "Fan tray"}


async def test_label_and_index_maps_rename_values():
    prof = profile(
        tables=[
            {
                "name": "inputs",
                "index": [{"label": "source", "map": {"1": "A", "2": "B"}}, {"label": "phase"}],
                "labels": [
                    {"label": "type", "oid": f"{T}.2", "map": {"1.3.6.1.2.1.25.2.1.4": "fixedDisk"}}
                ],
                "metrics": [{"name": "input_volts", "oid": f"{T}.3"}],
            }
        ]
    )
    result = await run(
        prof,
        {
            col(2, "1.1"): "1.3.6.1.2.1.25.2.1.4",
            col(3, "1.1"): 229,
            col(2, "2.1"): "1.3.6.1.2.1.25.2.1.99",
            col(3, "2.1"): 231,
        },
    )
    assert (
        sample_value(
            result.samples, "input_volts", {"source": "A", "phase": "1", "type": "fixedDisk"}
        )
        == 229
    )
    # a value the map does not list keeps its own text
    assert (
        sample_value(
            result.samples, "input_volts", {"source": "B", "type": "1.3.6.1.2.1.25.2.1.99"}
        )
        == 231
    )


# ------------------------------------------------------------------ what the schema refuses


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "scalars": [
                    {
                        "name": "x",
                        "oid": "1.3.6.1.4.1.1.1.0",
                        "scale_from": {"column": "1.3.6.1.4.1.1.2"},
                    }
                ]
            },
            "need a table row",
        ),
        (
            {
                "scalars": [
                    {
                        "name": "x",
                        "oid": "1.3.6.1.4.1.1.1.0",
                        "scale_from": {"column": "1.3.6.1.4.1.1.2", "scalar": "1.3.6.1.4.1.1.3.0"},
                    }
                ]
            },
            "exactly one of column, scalar",
        ),
        (
            {
                "tables": [
                    {
                        "name": "t",
                        "metrics": [
                            {
                                "name": "x",
                                "oid": "1.3.6.1.4.1.1.1",
                                "scale_from": {
                                    "column": "1.3.6.1.4.1.1.2",
                                    "factors": {1: 2.0},
                                    "exponents": {1: 3},
                                },
                            }
                        ],
                    }
                ]
            },
            "factors or exponents",
        ),
        (
            {
                "tables": [
                    {
                        "name": "t",
                        "metrics": [
                            {
                                "name": "x_total",
                                "oid": "1.3.6.1.4.1.1.1",
                                "type": "counter",
                                "name_by": {"column": "1.3.6.1.4.1.1.2", "names": {1: "y_joules"}},
                            }
                        ],
                    }
                ]
            },
            "must end in _total",
        ),
        (
            {
                "tables": [
                    {
                        "name": "t",
                        "metrics": [
                            {
                                "name": "x",
                                "oid": "1.3.6.1.4.1.1.1",
                                "enum": {1: "a"},
                                "name_by": {"column": "1.3.6.1.4.1.1.2", "names": {1: "y"}},
                            }
                        ],
                    }
                ]
            },
            "enum metric cannot",
        ),
        (
            {
                "tables": [
                    {
                        "name": "t",
                        "metrics": [
                            {
                                "name": "x",
                                "oid": "1.3.6.1.4.1.1.1",
                                "only_if": {"column": "1.3.6.1.4.1.1.2", "in": []},
                            }
                        ],
                    }
                ]
            },
            "at least 1",
        ),
        (
            {
                "tables": [
                    {
                        "name": "t",
                        "metrics": [
                            {
                                "name": "x",
                                "oid": "1.3.6.1.4.1.1.1",
                                "name_by": {"column": "1.3.6.1.4.1.1.2", "names": {1: "bad name"}},
                            }
                        ],
                    }
                ]
            },
            "pattern",
        ),
    ],
)
def test_schema_refuses(body, message):
    with pytest.raises(ValidationError) as err:
        parse_profile({"name": "t", **body})
    assert message in str(err.value)


def test_rule_may_name_a_name_by_metric_but_not_an_unknown_one():
    table = {
        **SENSOR,
        "component": "sensor {ent_physical_index}",
        "status": [{"when": {"metric": "sensor_volts", "below": 11}, "status": "degraded"}],
    }
    parse_profile({"name": "t", "tables": [table]})
    bad = {
        **table,
        "status": [{"when": {"metric": "sensor_amperes", "above": 1}, "status": "degraded"}],
    }
    with pytest.raises(ValidationError, match="unknown metric 'sensor_amperes'"):
        parse_profile({"name": "t", "tables": [bad]})


# ------------------------------------------------------ decimals stay the decimals they are


@pytest.mark.parametrize(
    ("raw", "scale", "expected"),
    [
        (232, 0.1, 23.2),
        (348, 0.1, 34.8),
        (95, 0.01, 0.95),
        (48, 0.1, 4.8),
        (185432161, 0.01, 1854321.61),
    ],
)
async def test_scaled_readings_equal_their_decimal(raw, scale, expected):
    prof = profile(scalars=[{"name": "x", "oid": "1.3.6.1.4.1.99999.9.0", "scale": scale}])
    result = await run(prof, {"1.3.6.1.4.1.99999.9.0": raw})
    assert sample_value(result.samples, "x") == expected  # exactly, not approximately


async def test_a_reading_on_the_threshold_does_not_cross_it():
    # 270 tenths x 0.1 used to come out as 27.000000000000004, "above 27"
    prof = profile(
        component="room",
        scalars=[{"name": "t_celsius", "oid": "1.3.6.1.4.1.99999.9.0", "scale": 0.1}],
        status=[{"when": {"metric": "t_celsius", "above": 27}, "status": "degraded"}],
    )
    at_limit = await run(prof, {"1.3.6.1.4.1.99999.9.0": 270})
    assert component(at_limit, "room").status == "ok"
    past = await run(prof, {"1.3.6.1.4.1.99999.9.0": 271})
    assert component(past, "room").status == "degraded"


# ------------------------------------------------- constant labels, and rule ids for them

TWIN = {
    "component": "ats",
    "scalars": [
        {
            "name": "source_status",
            "id": "source_a",
            "labels": {"source": "A"},
            "oid": "1.3.6.1.4.1.99999.5.1.0",
            "enum": {1: "fail", 2: "ok"},
        },
        {
            "name": "source_status",
            "id": "source_b",
            "labels": {"source": "B"},
            "oid": "1.3.6.1.4.1.99999.5.2.0",
            "enum": {1: "fail", 2: "ok"},
        },
    ],
    "status": [
        {
            "when": {"metric": "source_b", "in": ["fail"]},
            "status": "degraded",
            "condition": "source_b_lost",
        }
    ],
}


async def test_constant_labels_split_one_metric_and_ids_keep_rules_apart():
    result = await run(
        profile(**TWIN), {"1.3.6.1.4.1.99999.5.1.0": 2, "1.3.6.1.4.1.99999.5.2.0": 1}
    )
    assert sample_value(result.samples, "source_status", {"source": "A"}) == 2
    assert sample_value(result.samples, "source_status", {"source": "B"}) == 1
    assert component(result, "ats").conditions == {"source_b_lost"}
    healthy = await run(
        profile(**TWIN), {"1.3.6.1.4.1.99999.5.1.0": 1, "1.3.6.1.4.1.99999.5.2.0": 2}
    )
    assert component(healthy, "ats").status == "ok"  # A failing does not trip B's rule


def test_a_name_defined_twice_needs_ids():
    body = {"scalars": [{**m, "id": None} for m in TWIN["scalars"]]}
    with pytest.raises(ValidationError, match="defined twice"):
        parse_profile({"name": "t", **body})
    with pytest.raises(ValidationError, match="label of state sets"):
        parse_profile(
            {
                "name": "t",
                "scalars": [{"name": "x", "oid": "1.3.6.1.4.1.1.1.0", "labels": {"state": "on"}}],
            }
        )


# ----------------------------------------------------------------- transform: mw_to_dbm


@pytest.mark.parametrize(("milliwatts", "dbm"), [
    (1.0, 0.0),  # 1 mW is 0 dBm by definition
    (0.001, -30.0),  # 1 uW
    (100.0, 20.0),
    (2.0, 3.0103),  # 10 log10 2
    (0.5, -3.0103),
    (0.0, -40.0),  # no light: the floor
])
def test_mw_to_dbm(milliwatts: float, dbm: float) -> None:
    assert mw_to_dbm(milliwatts) == pytest.approx(dbm, abs=5e-5)


def test_mw_to_dbm_refuses_a_negative_power() -> None:
    assert mw_to_dbm(-0.001) is None


async def test_a_transform_after_the_scale_in_scalars_tables_and_rules():
    """A device that reports uW: scale 0.001 makes mW, mw_to_dbm makes dBm; the status
    rules compare the dBm."""
    prof = profile(
        scalars=[{"name": "laser_dbm", "oid": "1.3.6.1.4.1.99999.2.0", "scale": 0.001,
                  "transform": "mw_to_dbm"}],
        tables=[{
            "name": "optics",
            "metrics": [
                {"name": "rx_dbm", "oid": f"{T}.8", "scale": 0.001, "transform": "mw_to_dbm",
                 "unavailable": [-1]},
                {"name": "rx_low_dbm", "oid": f"{T}.13", "scale": 0.01},
            ],
            "component": "optic {index}",
            "status": [{"when": {"metric": "rx_dbm", "below": "rx_low_dbm"},
                        "status": "failed", "condition": "rx_low"}],
        }])
    result = await run(prof, {
        "1.3.6.1.4.1.99999.2.0": 1000,  # 1000 uW = 1 mW = 0 dBm
        col(8, 1): 10, col(13, 1): -1500,  # 10 uW = -20 dBm, below -15.00 dBm: failed
        col(8, 2): 100, col(13, 2): -1500,  # 100 uW = -10 dBm, above -15.00
        col(8, 3): 0, col(13, 3): -1500,  # no light: -40 dBm
        col(8, 4): -1, col(13, 4): -1500,  # "cannot measure": no sample
        col(8, 5): -7, col(13, 5): -1500,  # a negative power no sentinel explains: none
    })
    assert sample_value(result.samples, "laser_dbm", {}) == pytest.approx(0.0, abs=1e-12)
    got = {s.labels["index"]: s.value for s in result.samples if s.name == "rx_dbm"}
    assert got == pytest.approx({"1": -20.0, "2": -10.0, "3": -40.0}, abs=1e-12)
    assert [component(result, f"optic {i}").status.value for i in "123"] == [
        "failed", "ok", "failed"]


@pytest.mark.parametrize(("metric", "message"), [
    ({"transform": "mw_to_dbm", "enum": {1: "up"}}, "not to an enum or a counter"),
    ({"transform": "mw_to_dbm", "type": "counter", "name": "x_total"},
     "not to an enum or a counter"),
    ({"transform": "w_to_dbm"}, "mw_to_dbm"),
])
def test_a_transform_the_schema_refuses(metric: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_profile({"name": "t", "scalars": [
            {"name": "x", "oid": "1.3.6.1.4.1.99999.2.0", **metric}]})
