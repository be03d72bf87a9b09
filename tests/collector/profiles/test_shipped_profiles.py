"""Every shipped profile loads, and its metric names follow the naming rules.

Rules (docs/profiles.md, "Naming"): Prometheus-style names in base units; counters end in
`_total` and nothing else does; a unit word is the last word of the name (before
`_total`); no non-base units (percent, kW, kWh, minutes, Fahrenheit ...); a `_ratio` is
0..1, so a percent column needs scale 0.01; every metric has a help text naming its MIB
object; one metric name means one type in every profile, so a dashboard query that works
for one vendor works for all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from collector.profile import MetricDef, ProfileDef, split_scale
from collector.profiles import SHIPPED, load_profile_file, load_profiles
from collector.snmp.poller import PollPlan

PROFILE_FILES = sorted(SHIPPED.glob("*.yaml"))

# unit words: a name that carries one must end with it (before _total)
UNITS = [
    "celsius",
    "volts",
    "amperes",
    "watts",
    "volt_amperes",
    "ratio",
    "seconds",
    "hertz",
    "bytes",
    "joules",
    "rpm",
    "cubic_meters_per_second",
]
# words that mean a unit that is not a base unit
NOT_BASE = {
    "percent",
    "pct",
    "kw",
    "kwh",
    "kva",
    "kilowatts",
    "kilowatt",
    "milliseconds",
    "ms",
    "minutes",
    "hours",
    "fahrenheit",
    "amps",
    "amp",
    "volt",
    "degrees",
    "mbps",
    "kbytes",
    "tenths",
    "hundredths",
}
# words promtool's linter reads as abbreviated units ("_b_" is bytes): `promtool check
# metrics` fails on a name holding one (tests/collector/probes runs promtool on the demo)
PROMLINT_ABBREVIATIONS = {
    "s",
    "ms",
    "us",
    "ns",
    "sec",
    "b",
    "kb",
    "mb",
    "gb",
    "tb",
    "pb",
    "m",
    "h",
    "d",
}
HELP_NAMES_OBJECT = re.compile(r"\([a-z][A-Za-z0-9]+")


def definitions(path: Path) -> ProfileDef:
    return load_profile_file(path).definition


def all_metrics(d: ProfileDef) -> list[MetricDef]:
    return [*d.scalars, *(m for t in d.tables for m in t.metrics)]


def produced(metric: MetricDef) -> list[tuple[str, float, str]]:
    """(name, effective scale, help) of every series family the definition can produce."""
    if metric.name_by is None:
        return [(metric.name, metric.scale, metric.help)]
    return [
        (n.name, metric.scale * n.scale, n.help or metric.help)
        for n in metric.name_by.names.values()
    ]


def test_there_are_profiles():
    names = {p.stem for p in PROFILE_FILES}
    assert {
        "system",
        "if-mib",
        "ups-mib",
        "apc-ups",
        "host-resources",
        "eaton-ups",
        "apc-pdu",
        "apc-ats",
        "entity-sensor",
        "geist-env",
    } <= names


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_profile_validates_and_its_includes_resolve(path: Path):
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["name"] == path.stem
    profiles = load_profiles([path.stem])
    assert profiles[-1].name == path.stem
    assert {p.name for p in profiles} >= set(definitions(path).include)
    plan = PollPlan(profiles)  # compiles: every rule, component template and metric
    assert plan.get_oids or plan.walk_roots
    assert definitions(path).description


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_metric_names_follow_the_rules(path: Path):
    problems = []
    d = definitions(path)
    for metric in all_metrics(d):
        for name, scale, help_text in produced(metric):
            words = name.replace("volt_amperes", "va_unit").split("_")
            stem = name.removesuffix("_total")
            if metric.type == "counter" and not name.endswith("_total"):
                problems.append(f"{name}: a counter must end in _total")
            if metric.type != "counter" and name.endswith("_total"):
                problems.append(f"{name}: only counters end in _total")
            if PROMLINT_ABBREVIATIONS & set(name.split("_")):
                problems.append(
                    f"{name}: promtool reads "
                    f"{sorted(PROMLINT_ABBREVIATIONS & set(name.split('_')))} "
                    f"as an abbreviated unit"
                )
            if NOT_BASE & set(words):
                problems.append(f"{name}: {sorted(NOT_BASE & set(words))} is not a base unit")
            for unit in UNITS:
                if f"_{unit}_" in f"_{stem}_" and not stem.endswith(f"_{unit}"):
                    problems.append(f"{name}: the unit {unit!r} must end the name")
            if stem.endswith("_ratio") and metric.enum is None:
                mul, div = split_scale(scale)
                if not (div >= 100 or mul <= 0.01):
                    problems.append(f"{name}: a ratio is 0..1; scale {scale} looks like percent")
            if not HELP_NAMES_OBJECT.search(help_text):
                problems.append(f"{name}: help {help_text!r} does not name its MIB object")
    for info in d.info:
        if not HELP_NAMES_OBJECT.search(info.help):
            problems.append(f"{info.name}: help does not name its MIB objects")
    assert problems == []


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_label_names_are_snake_case(path: Path):
    d = definitions(path)
    names = [lab for info in d.info for lab in info.labels]
    for table in d.tables:
        names += [part.label for part in table.index] + [lab.label for lab in table.labels]
    assert [n for n in names if not re.fullmatch(r"[a-z][a-z0-9_]*", n)] == []


def test_one_metric_name_has_one_type_across_profiles():
    kinds: dict[str, set[str]] = defaultdict(set)
    where: dict[str, set[str]] = defaultdict(set)
    for path in PROFILE_FILES:
        d = definitions(path)
        for metric in all_metrics(d):
            kind = "stateset" if metric.enum_as == "state_set" else metric.type
            for name, _, _ in produced(metric):
                kinds[name].add(kind)
                where[name].add(path.stem)
        for info in d.info:
            kinds[info.name].add("info")
            where[info.name].add(path.stem)
    conflicts = {name: (sorted(k), sorted(where[name])) for name, k in kinds.items() if len(k) > 1}
    assert conflicts == {}


@pytest.mark.parametrize(
    "name",
    [
        "ups_output_source",
        "ups_battery_runtime_seconds",
        "ups_battery_charge_ratio",
        "ups_battery_volts",
        "ups_output_load_ratio",
        "ups_output_frequency_hertz",
        "ups_input_frequency_hertz",
        "ups_input_volts",
        "ups_output_volts",
        "ups_info",
    ],
)
def test_ups_profiles_share_the_names_a_dashboard_uses(name):
    ups_profiles = ["apc-ups", "ups-mib", "eaton-ups"]
    missing = [
        p
        for p in ups_profiles
        if name
        not in {
            n for m in all_metrics(definitions(SHIPPED / f"{p}.yaml")) for n, _, _ in produced(m)
        }
        | {i.name for i in definitions(SHIPPED / f"{p}.yaml").info}
    ]
    assert missing == []


def test_ups_output_source_names_the_states_the_rules_use():
    for stem in ("apc-ups", "ups-mib", "eaton-ups"):
        d = definitions(SHIPPED / f"{stem}.yaml")
        source = next(m for m in d.scalars if m.name == "ups_output_source")
        assert source.enum is not None
        assert {"normal", "battery", "bypass", "none"} <= set(source.enum.values()), stem
        conditions = {r.condition for r in d.status}
        assert {"on_battery", "bypass", "off", "battery_low"} <= conditions, stem
