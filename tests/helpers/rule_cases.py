"""One table of cases for every alert rule, run against both forms of the rules.

Each case gives input series (promtool's notation) and, at given times, the alerts that must
be firing (their series labels, written by hand). From this table:

* `builtin_alerts()` runs tierwatch's built-in engine over the series, step by step, as
  Prometheus would evaluate them (5-minute lookback, `stale` ends a series);
* `promtool_file()` writes alerts/rules/tierwatch.rules.test.yml for `promtool test rules`,
  with the expected labels from the table and the annotations as the built-in engine
  rendered them, so promtool proves Prometheus renders the very same words.

Regenerate the promtool file after changing a case or a rule:

    python -m tests.helpers.rule_cases
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from alerts.engine import Alert, AlertState, evaluate
from alerts.rules import BUILTIN_RULES, PROMETHEUS_RULES, RuleSet, load_rule_files
from tierwatch.core.configtypes import parse_duration
from tierwatch.core.model import Sample

PROMTOOL_FILE = PROMETHEUS_RULES.with_name("tierwatch.rules.test.yml")
LOOKBACK = 300.0

Labels = dict[str, str]


@dataclass
class Case:
    alert: str
    name: str
    series: dict[str, str]  # 'metric{l="v"}' -> promtool values
    expect: list[tuple[str, list[Labels]]]  # (eval time, series labels of firing alerts)
    interval: str = "15s"


@dataclass
class Point:
    value: float | None  # None: stale
    known: bool = True


def expand(values: str) -> list[Point | None]:
    """promtool's notation: '1 2 _ stale 3x2 0+10x3' (None where '_')."""
    out: list[Point | None] = []
    for token in values.split():
        if token == "_":
            out.append(None)
            continue
        if token == "stale":
            out.append(Point(None))
            continue
        match = re.fullmatch(r"(-?[\d.e+]+?)(?:([+-])([\d.e+]+))?x(\d+)", token)
        if match:
            start, sign, step, times = match.groups()
            delta = float(step or 0) * (-1 if sign == "-" else 1)
            out.extend(Point(float(start) + delta * i) for i in range(int(times) + 1))
            continue
        out.append(Point(float(token)))
    return out


def parse_series(text: str) -> tuple[str, Labels]:
    match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", text.strip())
    assert match, text
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
    return match.group(1), labels


def view_at(case: Case, t: float) -> dict[str, list[Sample]]:
    step = parse_duration(case.interval)
    view: dict[str, list[Sample]] = {}
    for text, values in case.series.items():
        name, labels = parse_series(text)
        points = expand(values)
        latest: tuple[float, Point] | None = None
        for i, point in enumerate(points):
            at = i * step
            if at > t:
                break
            if point is not None:
                latest = (at, point)
        if latest is None or latest[1].value is None or t - latest[0] > LOOKBACK:
            continue
        view.setdefault(name, []).append(Sample(name, labels, latest[1].value))
    return view


def builtin_alerts(case: Case, ruleset: RuleSet, until: float) -> list[Alert]:
    """Firing alerts of `case.alert` at `until`, evaluating every `case.interval` from 0."""
    rules = [r for r in ruleset.rules if r.name == case.alert]
    assert rules, f"no built-in rule {case.alert}"
    step = parse_duration(case.interval)
    active: dict[str, Alert] = {}
    t = 0.0
    while t <= until + 1e-9:
        active = evaluate(rules, view_at(case, t), t, active).active
        t += step
    return sorted((a for a in active.values() if a.state == AlertState.FIRING),
                  key=lambda a: sorted(a.labels.items()))


def _series_labels(alert: Alert, rule_labels: Mapping[str, str]) -> Labels:
    return {k: v for k, v in alert.labels.items()
            if k != "alertname" and not (k in rule_labels and rule_labels[k] == v)}


def check_builtin(case: Case, ruleset: RuleSet) -> list[tuple[str, list[Alert]]]:
    """Run the case through the built-in engine; assert the table's expectations."""
    rule_labels = next(r.labels for r in ruleset.rules if r.name == case.alert)
    results = []
    for at, wanted in case.expect:
        got = builtin_alerts(case, ruleset, parse_duration(at))
        got_labels = sorted((_series_labels(a, rule_labels) for a in got),
                            key=lambda d: sorted(d.items()))
        want = sorted(wanted, key=lambda d: sorted(d.items()))
        assert got_labels == want, (f"{case.alert} / {case.name} at {at}: built-in engine "
                                    f"fired {got_labels}, the table says {want}")
        results.append((at, got))
    return results


def promtool_file(cases: Sequence[Case], ruleset: RuleSet) -> str:
    tests: list[dict[str, Any]] = []
    for case in cases:
        results = check_builtin(case, ruleset)
        tests.append({
            "name": f"{case.alert}: {case.name}",
            "interval": case.interval,
            "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
            "alert_rule_test": [{
                "eval_time": at,
                "alertname": case.alert,
                "exp_alerts": [{
                    "exp_labels": {k: v for k, v in a.labels.items() if k != "alertname"},
                    "exp_annotations": dict(a.annotations),
                } for a in got],
            } for at, got in results],
        })
    body = yaml.safe_dump({"rule_files": [PROMETHEUS_RULES.name], "evaluation_interval": "15s",
                           "tests": tests}, allow_unicode=True, sort_keys=False, width=100)
    return ("# Generated by `python -m tests.helpers.rule_cases` from the case table in\n"
            "# tests/helpers/rule_cases.py: do not edit by hand. Run: promtool test rules "
            "tierwatch.rules.test.yml\n" + body)


# --------------------------------------------------------------------------- the cases

def _cond(device: str, component: str, condition: str) -> str:
    return (f'tierwatch_component_condition{{device="{device}",component="{component}",'
            f'condition="{condition}"}}')


def _condition_cases(alert: str, condition: str, component: str, for_: int) -> list[Case]:
    """Fires once the condition has held `for_` steps; another condition never fires it."""
    fire_at = f"{(2 + for_) * 15}s"
    return [
        Case(alert, "fires while the condition holds, not before", {
            _cond("dev-a", component, condition): f"_ _ 1x{for_ + 4}",
            _cond("dev-b", component, "something_else"): "1x12",
        }, [("15s", []), (fire_at,
                          [{"device": "dev-a", "component": component,
                            "condition": condition}])]),
        Case(alert, "does not fire once the condition is gone", {
            _cond("dev-a", component, condition): f"1x{for_ + 2} stale",
        }, [(f"{(for_ + 4) * 15}s", [])]),
    ]


UPLINK = 'device="core-1",if_index="25",if_name="Te1/1/1",if_alias="uplink: router-1"'
ACCESS = 'device="core-1",if_index="19",if_name="Gi1/0/19",if_alias="srv-db-01"'
SHUT = 'device="core-1",if_index="26",if_name="Te1/1/2",if_alias="uplink: router-2"'

CASES: list[Case] = [
    Case("DeviceUnreachable", "fires after a minute without answers, with its subsystem", {
        'tierwatch_device_up{device="ups-a"}': "1 1 0x10",
        'tierwatch_device_info{device="ups-a",name="UPS-A",kind="snmp",subsystem="power"}':
            "1x12",
        'tierwatch_device_up{device="dist-q1"}': "1 1 0x10",
        'tierwatch_device_info{device="dist-q1",name="DIST-Q1",kind="snmp",'
        'subsystem="network",district="ninh-kieu"}': "1x12",
        'tierwatch_device_up{device="core-1"}': "1x12",
        'tierwatch_device_info{device="core-1",name="CORE-1",kind="snmp",'
        'subsystem="network"}': "1x12",
    }, [("1m", []), ("1m30s", [{"device": "ups-a", "subsystem": "power"},
                               {"device": "dist-q1", "subsystem": "network",
                                "district": "ninh-kieu"}])]),
    Case("DeviceUnreachable", "does not fire for a short blip, nor for an agency site", {
        'tierwatch_device_up{device="ups-a"}': "1 0 0 0 1x8",
        'tierwatch_device_info{device="ups-a",name="UPS-A",kind="snmp",subsystem="power"}':
            "1x12",
        'tierwatch_device_up{device="site-w7"}': "0x12",
        'tierwatch_device_info{device="site-w7",name="UBND Phường 7",kind="site",'
        'subsystem="network"}': "1x12",
    }, [("1m", []), ("2m", [])]),
    *_condition_cases("UpsOnBattery", "on_battery", "ups", 0),
    *_condition_cases("UpsOnBypass", "bypass", "ups", 0),
    *_condition_cases("UpsOutputOff", "off", "ups", 0),
    *_condition_cases("UpsBatteryLow", "battery_low", "ups", 0),
    *_condition_cases("PduPhaseNearOverload", "near_overload", "phase 1", 8),
    *_condition_cases("PduPhaseOverload", "overload", "phase 1", 0),
    Case("PduPhaseOverload", "is about PDUs: an ATS's overload is not a phase's", {
        _cond("ats-1", "ats", "overload"): "1x12",
        _cond("pdu-r01-a", "load 2", "overload"): "1x12",
    }, [("30s", [{"device": "pdu-r01-a", "component": "load 2", "condition": "overload"}])]),
    Case("UpsRuntimeLow", "fires when runtime stays under 10 minutes", {
        'ups_battery_runtime_seconds{device="ups-a"}': "1800 1200 540x10",
        'ups_battery_runtime_seconds{device="ups-b"}': "2340x12",
    }, [("1m", []), ("1m30s", [{"device": "ups-a"}])]),
    Case("UpsRuntimeLow", "does not fire at 10 minutes or more", {
        'ups_battery_runtime_seconds{device="ups-a"}': "600x12",
    }, [("2m", [])]),
    Case("InletTemperatureOutsideRecommended", "fires after 5 minutes above 27 °C", {
        'env_temperature_celsius{device="env-1",sensor="inlet-r01"}': "22 28.5x10",
        'env_temperature_celsius{device="env-1",sensor="inlet-r02"}': "24x11",
    }, [("5m", []), ("6m", [{"device": "env-1", "sensor": "inlet-r01"}])], interval="1m"),
    Case("InletTemperatureOutsideRecommended", "fires below 18 °C, not at 18", {
        'env_temperature_celsius{device="env-1",sensor="inlet-r01"}': "17x10",
        'env_temperature_celsius{device="env-1",sensor="inlet-r02"}': "18x10",
    }, [("6m", [{"device": "env-1", "sensor": "inlet-r01"}])], interval="1m"),
    Case("InletTemperatureOutsideAllowable", "fires after 2 minutes above 32 °C", {
        'env_temperature_celsius{device="env-1",sensor="inlet-r01"}': "25 33x6",
        'env_temperature_celsius{device="env-1",sensor="inlet-r02"}': "30x7",
    }, [("2m", []), ("3m", [{"device": "env-1", "sensor": "inlet-r01"}])], interval="1m"),
    Case("InletTemperatureOutsideAllowable", "does not fire at 32 °C", {
        'env_temperature_celsius{device="env-1",sensor="inlet-r01"}': "32x7",
    }, [("5m", [])], interval="1m"),
    Case("InletHumidityOutsideRecommended", "fires after 15 minutes above 60 %", {
        'env_humidity_ratio{device="env-1",sensor="inlet-r01"}': "0.45 0.65x20",
        'env_humidity_ratio{device="env-1",sensor="inlet-r02"}': "0.45x21",
    }, [("15m", []), ("16m", [{"device": "env-1", "sensor": "inlet-r01"}])], interval="1m"),
    Case("InletHumidityOutsideRecommended", "does not fire inside 20-60 %", {
        'env_humidity_ratio{device="env-1",sensor="inlet-r01"}': "0.2x20",
    }, [("18m", [])], interval="1m"),
    Case("InletHumidityOutsideAllowable", "fires after 5 minutes below 8 %", {
        'env_humidity_ratio{device="env-1",sensor="inlet-r01"}': "0.3 0.05x8",
        'env_humidity_ratio{device="env-1",sensor="inlet-r02"}': "0.3x9",
    }, [("5m", []), ("6m", [{"device": "env-1", "sensor": "inlet-r01"}])], interval="1m"),
    Case("InletHumidityOutsideAllowable", "does not fire at 80 %", {
        'env_humidity_ratio{device="env-1",sensor="inlet-r01"}': "0.8x9",
    }, [("8m", [])], interval="1m"),
    Case("InterfaceDown", "fires for an uplink down while admin up", {
        f"if_oper_status{{{UPLINK}}}": "1 1 2x10",
        f"if_admin_status{{{UPLINK}}}": "1x12",
        f"if_oper_status{{{ACCESS}}}": "2x12",
        f"if_admin_status{{{ACCESS}}}": "1x12",
    }, [("45s", []), ("1m", [{"device": "core-1", "if_index": "25", "if_name": "Te1/1/1",
                               "if_alias": "uplink: router-1"}])]),
    Case("InterfaceDown", "does not fire for an uplink shut down on purpose", {
        f"if_oper_status{{{SHUT}}}": "2x12",
        f"if_admin_status{{{SHUT}}}": "2x12",
        f"if_oper_status{{{UPLINK}}}": "1x12",
        f"if_admin_status{{{UPLINK}}}": "1x12",
    }, [("2m", [])]),
    Case("AgencySiteUnreachable", "fires after a minute unreachable", {
        'tierwatch_device_up{device="site-w7"}': "1 0x10",
        'tierwatch_device_info{device="site-w7",name="UBND Phường 7",kind="site",'
        'subsystem="network",district="q1"}': "1x11",
        'tierwatch_device_up{device="site-an-khanh"}': "1x11",
        'tierwatch_device_info{device="site-an-khanh",name="UBND An Khánh",kind="site",'
        'subsystem="network"}': "1x11",
    }, [("1m", []), ("1m15s", [{"device": "site-w7", "name": "UBND Phường 7",
                                "district": "q1"}])]),
    Case("AgencySiteUnreachable", "does not fire for a short loss, nor for other devices", {
        'tierwatch_device_up{device="site-w7"}': "1 0 0 1x8",
        'tierwatch_device_info{device="site-w7",name="UBND Phường 7",kind="site",'
        'subsystem="network"}': "1x11",
        'tierwatch_device_up{device="ups-a"}': "0x11",
        'tierwatch_device_info{device="ups-a",name="UPS-A",kind="snmp",subsystem="power"}':
            "1x11",
    }, [("1m30s", [])]),
    Case("CapacitySpareLost", "fires when a group is down to N", {
        'tierwatch_capacity_spare_units{subsystem="power",group="ups"}': "1 1 0x10",
        'tierwatch_capacity_spare_units{subsystem="power",group="generator"}': "1x12",
    }, [("1m15s", []), ("1m30s", [{"subsystem": "power", "group": "ups"}])]),
    Case("CapacitySpareLost", "does not fire while N+1 holds", {
        'tierwatch_capacity_spare_units{subsystem="cooling",group="crac"}': "2 1x10",
    }, [("2m", [])]),
    Case("NewSinglePointOfFailure", "fires for a live SPOF the design does not have", {
        'tierwatch_spof{subsystem="power",node="SWB-B",kind="live"}': "_ _ 1x10",
        'tierwatch_spof{subsystem="power",node="UPS-A",kind="live"}': "1x12",
        'tierwatch_spof{subsystem="power",node="UPS-A",kind="design"}': "1x12",
    }, [("1m15s", []), ("1m30s", [{"subsystem": "power", "node": "SWB-B", "kind": "live"}])]),
    Case("NewSinglePointOfFailure", "does not fire for the design's own SPOFs", {
        'tierwatch_spof{subsystem="power",node="PDU-A",kind="live"}': "1x12",
        'tierwatch_spof{subsystem="power",node="PDU-A",kind="design"}': "1x12",
    }, [("2m", [])]),
    Case("LiveTierBelowDesign", "fires when a subsystem falls below its design tier", {
        'tierwatch_tier{subsystem="power",kind="design"}': "3x12",
        'tierwatch_tier{subsystem="power",kind="live"}': "3 3 1x10",
        'tierwatch_tier{subsystem="cooling",kind="design"}': "3x12",
        'tierwatch_tier{subsystem="cooling",kind="live"}': "3x12",
        'tierwatch_tier{subsystem="site",kind="design"}': "3x12",
        'tierwatch_tier{subsystem="site",kind="live"}': "3 3 1x10",
    }, [("1m15s", []), ("1m30s", [{"subsystem": "power"}])]),
    Case("LiveTierBelowDesign", "does not fire at the design tier", {
        'tierwatch_tier{subsystem="network",kind="design"}': "3x12",
        'tierwatch_tier{subsystem="network",kind="live"}': "3x12",
    }, [("2m", [])]),
    Case("DowntimeBudgetFastBurn", "fires when 1h and 5m both burn faster than 14.4", {
        'tierwatch_availability_ratio{scope="site",window="1h"}': "0.99x12",
        'tierwatch_availability_ratio{scope="site",window="5m"}': "0.95x12",
        'tierwatch_availability_ratio{scope="site",window="6h"}': "0.9995x12",
        'tierwatch_availability_ratio{scope="site",window="30m"}': "0.995x12",
    }, [("1m45s", []), ("2m", [{"scope": "site", "window": "1h"}])]),
    Case("DowntimeBudgetFastBurn", "does not fire once the short window recovered", {
        'tierwatch_availability_ratio{scope="site",window="1h"}': "0.99x12",
        'tierwatch_availability_ratio{scope="site",window="5m"}': "1x12",
        'tierwatch_availability_ratio{scope="site",window="6h"}': "0.9995x12",
        'tierwatch_availability_ratio{scope="site",window="30m"}': "0.9999x12",
    }, [("3m", [])]),
    Case("DowntimeBudgetSlowBurn", "fires after an hour of 3d and 6h burning the budget", {
        'tierwatch_availability_ratio{scope="site",window="3d"}': "0.9997x14",
        'tierwatch_availability_ratio{scope="site",window="6h"}': "0.9995x14",
    }, [("55m", []), ("1h", [{"scope": "site", "window": "3d"}])], interval="5m"),
    Case("DowntimeBudgetSlowBurn", "does not fire when the last 6h are clean", {
        'tierwatch_availability_ratio{scope="site",window="3d"}': "0.9997x14",
        'tierwatch_availability_ratio{scope="site",window="6h"}': "1x14",
    }, [("1h5m", [])], interval="5m"),
]


@dataclass
class Loaded:
    builtin: RuleSet = field(default_factory=lambda: load_rule_files([BUILTIN_RULES]))


def main() -> None:
    ruleset = load_rule_files([BUILTIN_RULES])
    PROMTOOL_FILE.write_text(promtool_file(CASES, ruleset), encoding="utf-8")
    print(f"wrote {PROMTOOL_FILE} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
