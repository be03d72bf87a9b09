"""The shipped rules: two forms, one set of meanings, a case for every rule; bad rules refused.

The Prometheus file and the built-in file carry the same alerts (names, `for`, labels,
annotations). One case table (tests/helpers/rule_cases.py) says when each alert fires and
when it must not; here the built-in engine is held to it, and the promtool file generated
from it must be current (promtool runs it in tests/integration/test_promtool_rules.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.catalog import known_metrics
from alerts.promrules import check_prometheus_file, metric_names
from alerts.rules import BUILTIN_RULES, PROMETHEUS_RULES, RuleError, RuleLoader, load_rule_files
from tests.helpers.rule_cases import CASES, PROMTOOL_FILE, check_builtin, promtool_file
from tierwatch.config import ConfigError, parse
from tierwatch.core.configtypes import parse_duration

BUILTIN = load_rule_files([BUILTIN_RULES])


def _prometheus_rules() -> dict[str, dict]:
    data = yaml.safe_load(PROMETHEUS_RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}


def _builtin_raw() -> dict[str, dict]:
    data = yaml.load(BUILTIN_RULES.read_text(encoding="utf-8"), Loader=RuleLoader)
    return {r["alert"]: r for g in data["groups"] for r in g["rules"]}


def test_both_forms_have_the_same_alerts_labels_and_annotations() -> None:
    prom, builtin = _prometheus_rules(), _builtin_raw()
    assert sorted(prom) == sorted(builtin)
    for name, rule in prom.items():
        twin = builtin[name]
        assert parse_duration(rule.get("for", "0s")) == parse_duration(twin.get("for", "0s")), name
        assert rule.get("labels", {}) == twin.get("labels", {}), name
        assert rule["annotations"] == twin["annotations"], name


def test_the_issue_s_alerts_are_all_there() -> None:
    wanted = {"DeviceUnreachable", "UpsOnBattery", "UpsOnBypass", "UpsBatteryLow",
              "UpsRuntimeLow", "PduPhaseNearOverload", "PduPhaseOverload",
              "InletTemperatureOutsideRecommended", "InletTemperatureOutsideAllowable",
              "InletHumidityOutsideRecommended", "InletHumidityOutsideAllowable",
              "InterfaceDown", "AgencySiteUnreachable", "CapacitySpareLost",
              "NewSinglePointOfFailure", "LiveTierBelowDesign", "DowntimeBudgetFastBurn",
              "DowntimeBudgetSlowBurn"}
    assert wanted <= set(_prometheus_rules())


def test_every_alert_has_severity_subsystem_and_bilingual_annotations() -> None:
    assert check_prometheus_file(PROMETHEUS_RULES) == []
    for rule in BUILTIN.rules:
        assert rule.severity in ("critical", "warning")
        for key in ("summary", "summary_vi", "runbook", "runbook_vi"):
            assert rule.annotations[key].strip(), (rule.name, key)
        # Vietnamese is written with its diacritics
        assert any(ord(ch) > 127 for ch in rule.annotations["summary_vi"]
                   + rule.annotations["runbook_vi"]), rule.name


def test_every_rule_has_a_case_that_fires_and_one_that_does_not() -> None:
    fires = {c.alert for c in CASES if any(alerts for _, alerts in c.expect)}
    quiet = {c.alert for c in CASES if any(not alerts for _, alerts in c.expect)}
    names = set(_prometheus_rules())
    assert names <= fires, names - fires
    assert names <= quiet, names - quiet


@pytest.mark.parametrize("case", CASES, ids=[f"{c.alert}: {c.name}" for c in CASES])
def test_builtin_engine_fires_exactly_as_the_table_says(case) -> None:  # type: ignore[no-untyped-def]
    check_builtin(case, BUILTIN)  # asserts inside, naming the case and time


def test_generated_promtool_file_is_current() -> None:
    assert PROMTOOL_FILE.read_text(encoding="utf-8") == promtool_file(CASES, BUILTIN), (
        "regenerate it: python -m tests.helpers.rule_cases")


def test_rules_name_only_metrics_tierwatch_exposes() -> None:
    known = known_metrics()
    for rule in _prometheus_rules().values():
        for metric in metric_names(rule["expr"]):
            assert metric in known, (rule["alert"], metric)
    assert BUILTIN.metrics() <= set(known)


def test_metric_names_of_promql() -> None:
    assert metric_names("(tierwatch_device_up == 0) * on (device) group_left (subsystem, "
                        "district) tierwatch_device_info") == {"tierwatch_device_up",
                                                               "tierwatch_device_info"}
    assert metric_names('sum by (device) (rate(if_in_errors_total{device=~"a.*"}[5m])) > 0 '
                        "unless on(device) up offset 1h") == {"if_in_errors_total", "up"}
    assert metric_names('{__name__="ups_battery_volts"} < 200') == {"ups_battery_volts"}


# --------------------------------------------------------------------------- bad rules

GOOD_RULE = """
groups:
  - name: site
    rules:
      - alert: {name}
        expr: {expr}
        for: 1m
        labels: {labels}
        annotations:
          summary: "{summary}"
          summary_vi: "Thiết bị {{{{ $labels.device }}}} hỏng"
          runbook: "Fix it."
          runbook_vi: "Sửa nó."
"""


def _write(tmp_path: Path, name: str = "SiteRule",
           expr: str = "{series: {name: tierwatch_device_up, op: '==', value: 0}}",
           labels: str = "{severity: warning, subsystem: power}",
           summary: str = "{{ $labels.device }} broke") -> Path:
    path = tmp_path / "site.yml"
    path.write_text(GOOD_RULE.format(name=name, expr=expr, labels=labels, summary=summary),
                    encoding="utf-8")
    return path


def test_a_good_site_rule_file_loads(tmp_path: Path) -> None:
    ruleset = load_rule_files([_write(tmp_path)])
    assert [r.name for r in ruleset.rules] == ["SiteRule"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"expr": "{series: {name: tierwatch_device_upp, op: '==', value: 0}}"},
     "unknown metric 'tierwatch_device_upp'"),
    ({"expr": "{series: {name: ups_battery_volts, matchers: ['device=~\"(\"'], op: '<', "
              "value: 200}}"}, "bad regular expression"),
    ({"expr": "{series: {name: ups_battery_volts, matchers: ['device'], op: '<', value: 1}}"},
     "is not a matcher"),
    ({"expr": "{series: {name: ups_battery_volts, op: '<'}}"}, "op and value go together"),
    ({"expr": "{and: [{series: {name: ups_battery_volts}}, {series: {name: ups_input_volts}}]}"},
     "needs on:"),
    ({"expr": "{}"}, "exactly one of"),
    ({"labels": "{subsystem: power}"}, "labels.severity"),
    ({"labels": "{severity: warning}"}, "labels.subsystem"),
    ({"summary": "{{ $labels.device | toUpper }}"}, "is not supported"),
    ({"name": "bad name"}, "alert"),
])
def test_bad_rules_are_refused_naming_file_line_and_rule(tmp_path: Path, kwargs: dict,
                                                         message: str) -> None:
    path = _write(tmp_path, **kwargs)
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    text = str(caught.value)
    assert message in text
    assert f"{path}:" in text  # the file, with a line number after it
    if "name" not in kwargs:
        assert "rule SiteRule" in text


def test_not_yaml_and_missing_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups: [\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rule_files([broken, tmp_path / "missing.yml"])
    assert len(caught.value.problems) == 2
    assert "not valid YAML" in caught.value.problems[0]
    assert "cannot read" in caught.value.problems[1]


def test_tierwatch_check_names_a_bad_rule_file(tmp_path: Path) -> None:
    path = _write(tmp_path, expr="{series: {name: no_such_metric, op: '>', value: 1}}")
    with pytest.raises(ConfigError) as caught:
        parse(f"site: {{name: T}}\nalerts: {{rule_files: ['{path}']}}\n")
    line = "\n".join(caught.value.problems)
    assert "alerts.rule_files" in line and str(path) in line
    assert "rule SiteRule" in line and "no_such_metric" in line


def test_prometheus_file_with_an_unknown_metric_is_named(tmp_path: Path) -> None:
    path = tmp_path / "prom.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{
        "alert": "Typo", "expr": "ups_batery_runtime_seconds < 600",
        "labels": {"severity": "critical", "subsystem": "power"},
        "annotations": {"summary": "s", "summary_vi": "s", "runbook": "r",
                        "runbook_vi": "r"}}]}]}), encoding="utf-8")
    (problem,) = check_prometheus_file(path)
    assert str(path) in problem and "rule Typo" in problem
    assert "ups_batery_runtime_seconds" in problem
