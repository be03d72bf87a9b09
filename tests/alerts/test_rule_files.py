"""The shipped rules, written once in Prometheus format: the built-in engine loads them and
passes promtool's own test file for them (tierwatch.rules.test.yml, which real promtool
runs in tests/alerts/test_promtool_rules.py); bad rules are refused naming file, line
and rule; old-format site files still load, with a deprecation warning."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from alerts.catalog import known_metrics
from alerts.engine import AlertState, evaluate
from alerts.promrules import metric_names
from alerts.rules import (
    INHIBIT_RULES,
    PROMETHEUS_RULES,
    RULE_TESTS,
    RuleError,
    check_rule_files,
    load_rule_files,
)
from alerts.ruletest import RuleTestGroup, load_test_file, run_file, run_group
from tierwatch.config import ConfigError, parse
from tierwatch.core.model import Sample

SHIPPED = load_rule_files([PROMETHEUS_RULES, INHIBIT_RULES])
SPEC, TEST_RULES = load_test_file(RULE_TESTS)


def _prometheus_rules() -> dict[str, dict]:
    data = yaml.safe_load(PROMETHEUS_RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}


def test_the_issue_s_alerts_are_all_there() -> None:
    wanted = {"DeviceUnreachable", "UpsOnBattery", "UpsOnBypass", "UpsBatteryLow",
              "UpsRuntimeLow", "PduPhaseNearOverload", "PduPhaseOverload",
              "InletTemperatureOutsideRecommended", "InletTemperatureOutsideAllowable",
              "InletHumidityOutsideRecommended", "InletHumidityOutsideAllowable",
              "InterfaceDown", "AgencySiteUnreachable", "CapacitySpareLost",
              "NewSinglePointOfFailure", "LiveTierBelowDesign", "DowntimeBudgetFastBurn",
              "DowntimeBudgetSlowBurn"}
    assert wanted <= set(_prometheus_rules())
    assert set(SHIPPED.names()) == set(_prometheus_rules())  # every one built in too
    assert len(SHIPPED.inhibit) == 7


def test_every_alert_has_severity_subsystem_and_bilingual_annotations() -> None:
    assert check_rule_files([PROMETHEUS_RULES], prometheus_only=True) == ([], [])
    for rule in SHIPPED.rules:
        assert rule.severity in ("critical", "warning")
        for key in ("summary", "summary_vi", "runbook", "runbook_vi"):
            assert rule.annotations[key].strip(), (rule.name, key)
        # Vietnamese is written with its diacritics
        assert any(ord(ch) > 127 for ch in rule.annotations["summary_vi"]
                   + rule.annotations["runbook_vi"]), rule.name


def test_every_rule_has_a_test_that_fires_and_one_that_does_not() -> None:
    fires = {t.alertname for g in SPEC.tests for t in g.alert_rule_test if t.exp_alerts}
    quiet = {t.alertname for g in SPEC.tests for t in g.alert_rule_test if not t.exp_alerts}
    names = set(_prometheus_rules())
    assert names <= fires, names - fires
    assert names <= quiet, names - quiet


@pytest.mark.parametrize("group", SPEC.tests, ids=[g.name for g in SPEC.tests])
def test_builtin_engine_gives_promtool_s_expected_alerts(group: RuleTestGroup) -> None:
    """The file promtool runs: the same series in, exactly the expected alerts out, with
    their labels and rendered annotations."""
    assert run_group(group, TEST_RULES, SPEC.evaluation_interval) == []


def test_the_test_file_holds_the_rules_to_their_thresholds(tmp_path: Path) -> None:
    """A rule changed without its tests fails them: UpsRuntimeLow at 500 s instead of
    600 s no longer fires for 540 s left."""
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    text = PROMETHEUS_RULES.read_text(encoding="utf-8")
    assert text.count("ups_battery_runtime_seconds < 600") == 1
    (tmp_path / PROMETHEUS_RULES.name).write_text(
        text.replace("ups_battery_runtime_seconds < 600", "ups_battery_runtime_seconds < 500"),
        encoding="utf-8")
    result = run_file(tmp_path / RULE_TESTS.name)
    failed = [result.groups[i].name for i, f in result.failures.items() if f]
    assert failed == ["UpsRuntimeLow: fires when runtime stays under 10 minutes"]
    (failure,) = result.failures[[g.name for g in result.groups].index(failed[0])]
    assert "alertname: UpsRuntimeLow, time: 1m30s" in failure
    assert "got: []" in failure


def test_rules_name_only_metrics_tierwatch_exposes() -> None:
    known = known_metrics()
    for rule in _prometheus_rules().values():
        for metric in metric_names(rule["expr"]):
            assert metric in known, (rule["alert"], metric)
    assert SHIPPED.metrics() <= set(known)


@pytest.mark.parametrize(("expr", "names"), [
    ("(tierwatch_device_up == 0) * on (device) group_left (subsystem, district) "
     "tierwatch_device_info", {"tierwatch_device_up", "tierwatch_device_info"}),
    ('sum by (device) (rate(if_in_errors_total{device=~"a.*"}[5m])) > 0 '
     "unless on(device) up offset 1h", {"if_in_errors_total", "up"}),
    ('{__name__="ups_battery_volts"} < 200', {"ups_battery_volts"}),
    # words that are only words to a tokenizer: a label named like a metric, a function
    ('max_over_time(sum without (ups_battery_volts) (x)[1h:5m]) > bool on (time) y',
     {"x", "y"}),
    ('label_replace(up, "device", "$1", "instance", "(.*)") and on() vector(1)', {"up"}),
])
def test_metric_names_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


# --------------------------------------------------------------------------- bad rules

SITE_RULE = """\
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
EXPR_LINE = 5  # of SITE_RULE


def _write(tmp_path: Path, name: str = "SiteRule", expr: str = "tierwatch_device_up == 0",
           labels: str = "{severity: warning, subsystem: power}",
           summary: str = "{{ $labels.device }} broke") -> Path:
    path = tmp_path / "site.rules.yml"
    path.write_text(SITE_RULE.format(name=name, expr=yaml.safe_dump(expr).splitlines()[0],
                                     labels=labels, summary=summary), encoding="utf-8")
    return path


def test_a_good_site_rule_file_loads(tmp_path: Path) -> None:
    ruleset = load_rule_files([_write(tmp_path)])
    assert [r.name for r in ruleset.rules] == ["SiteRule"] and ruleset.warnings == []


def test_an_unsupported_function_is_refused_with_file_line_rule_and_part(
        tmp_path: Path) -> None:
    path = _write(tmp_path, expr="predict_linear(ups_battery_runtime_seconds[1h], 3600) < 0")
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    assert caught.value.problems == [
        f"{path}:{EXPR_LINE}: rule SiteRule: expr: function 'predict_linear' is not supported "
        "by the built-in engine"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"expr": "tierwatch_device_upp == 0"}, "expr: unknown metric 'tierwatch_device_upp'"),
    ({"expr": 'ups_battery_runtime_seconds{device=~"("} < 200'}, "expr: not valid PromQL"),
    ({"expr": "ups_battery_runtime_seconds < < 600"}, "expr: not valid PromQL"),
    ({"expr": "ups_battery_runtime_seconds offset 5m < 600"}, "expr: offset is not supported"),
    ({"expr": "topk(3, ups_battery_runtime_seconds)"},
     "expr: aggregation 'topk' is not supported by the built-in engine"),
    ({"expr": "max_over_time(ups_battery_runtime_seconds[1h:5m]) < 600"},
     "expr: max_over_time() reads a range of one selector"),
    ({"expr": '{__name__=~"ups_.*"} < 600'}, "expr: a selector must name one metric"),
    ({"expr": "ups_battery_runtime_seconds[5m]"}, "expr: a range vector is only read by"),
    ({"expr": "1 < bool 2"}, "expr: the expression must give an instant vector"),
    ({"labels": "{subsystem: power}"}, "labels.severity: must be one of"),
    ({"labels": "{severity: warning}"}, "labels.subsystem: needed"),
    ({"labels": "{severity: warning, subsystem: '{{ $labels.x }}'}"},
     "labels.subsystem: labels are not templated"),
    ({"summary": "{{ $labels.device | toUpper }}"}, "annotations.summary: {{ $labels.device "
                                                    "| toUpper }} is not supported"),
])
def test_bad_rules_are_refused_naming_file_line_and_rule(tmp_path: Path, kwargs: dict,
                                                         message: str) -> None:
    path = _write(tmp_path, **kwargs)
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path}:")
    assert f": rule SiteRule: {message}" in problem


def test_a_bad_alert_name_and_a_recording_rule_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, name="bad name")
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    assert "groups[0].rules[0].alert: String should match pattern" in str(caught.value)
    path.write_text("groups:\n  - name: g\n    interval: 1m\n    rules:\n"
                    "      - record: site:up:sum\n        expr: sum(tierwatch_device_up)\n",
                    encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    assert caught.value.problems == [
        f"{path}:3: groups[0].interval: not supported by the built-in engine (it evaluates "
        "every alerts.evaluate_every, without a limit)",
        f"{path}:5: rule site:up:sum: record: recording rules are not evaluated by the "
        "built-in engine (write the expression into the alert)"]


def test_files_for_prometheus_alone_may_use_any_promql(tmp_path: Path) -> None:
    path = _write(tmp_path, expr="predict_linear(ups_battery_runtime_seconds[1h], 3600) < 0",
                  summary="{{ $labels.device | toUpper }}")
    assert check_rule_files([path], prometheus_only=True) == ([], [])
    path = _write(tmp_path, expr="predict_linear(ups_batery_runtime_seconds[1h], 3600) < 0")
    (problem,), _ = check_rule_files([path], prometheus_only=True)
    assert problem == (f"{path}:{EXPR_LINE}: rule SiteRule: expr: unknown metric "
                       "'ups_batery_runtime_seconds' (not exposed by tierwatch; see "
                       "alerts/catalog.py)")


def test_subsystem_may_come_from_the_series_the_rule_joins(tmp_path: Path) -> None:
    joined = ("(tierwatch_device_up == 0) * on (device) group_left (subsystem) "
              "tierwatch_device_info")
    load_rule_files([_write(tmp_path, expr=joined, labels="{severity: warning}")])
    # on (device) alone keeps only device: no subsystem
    path = _write(tmp_path, expr="tierwatch_device_up < on (device) tierwatch_device_info",
                  labels="{severity: warning}")
    with pytest.raises(RuleError, match=r"labels\.subsystem: needed"):
        load_rule_files([path])


def test_not_yaml_and_missing_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups: [\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rule_files([broken, tmp_path / "missing.yml"])
    assert len(caught.value.problems) == 2
    assert "not valid YAML" in caught.value.problems[0]
    assert "cannot read" in caught.value.problems[1]


def test_tierwatch_check_names_a_bad_rule_file(tmp_path: Path) -> None:
    path = _write(tmp_path, expr="no_such_metric > 1")
    with pytest.raises(ConfigError) as caught:
        parse(f"site: {{name: T}}\nalerts: {{rule_files: ['{path}']}}\n")
    line = "\n".join(caught.value.problems)
    assert "alerts.rule_files" in line and f"{path}:{EXPR_LINE}" in line
    assert "rule SiteRule" in line and "no_such_metric" in line


def test_the_default_rule_files_are_the_shipped_ones() -> None:
    config = parse("site: {name: T}\n").config
    assert config.alerts.rule_files == [PROMETHEUS_RULES, INHIBIT_RULES]
    assert not any(p.name == "builtin.yml" for p in PROMETHEUS_RULES.parent.iterdir())


# --------------------------------------------------------------------------- the old language

OLD_RULE = """\
groups:
  - name: site
    rules:
      - alert: SiteUpsOnBattery
        expr:
          series:
            name: tierwatch_component_condition
            matchers: ['condition="on_battery"']
            op: '=='
            value: 1
        labels: {severity: critical, subsystem: power}
        annotations:
          summary: "{{ $labels.device }} on battery"
          summary_vi: "{{ $labels.device }} đang chạy ắc quy"
          runbook: "Check the mains."
          runbook_vi: "Kiểm tra điện lưới."
inhibit_rules:
  - source_matchers: ['alertname="SiteUpsOnBattery"']
    target_matchers: ['alertname="UpsRuntimeLow"']
    equal: [device]
"""


def test_an_old_format_site_file_still_works_for_one_release(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text(OLD_RULE, encoding="utf-8")
    ruleset = load_rule_files([path])
    assert ruleset.warnings == [
        f"{path}: written in the YAML condition language, which is deprecated and goes in the "
        "next release: write its rules in Prometheus format (*.rules.yml, docs/alerting.md)"]
    assert len(ruleset.inhibit) == 1
    view = {"tierwatch_component_condition": [
        Sample("tierwatch_component_condition",
               {"device": "ups-a", "component": "ups", "condition": "on_battery"}, 1.0),
        Sample("tierwatch_component_condition",
               {"device": "ups-b", "component": "ups", "condition": "bypass"}, 1.0)]}
    (alert,) = evaluate(ruleset.rules, view, 0.0, {}).active.values()
    assert alert.state == AlertState.FIRING and alert.labels["device"] == "ups-a"
    assert alert.annotations["summary"] == "ups-a on battery"


def test_tierwatch_check_warns_about_an_old_format_file(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text(OLD_RULE, encoding="utf-8")
    result = parse(f"site: {{name: T}}\nalerts:\n  rule_files: ['{path}']\n",
                   Path("tierwatch.yaml"))
    assert result.warnings == [
        f"tierwatch.yaml:3: alerts.rule_files: {path}: written in the YAML condition "
        "language, which is deprecated and goes in the next release: write its rules in "
        "Prometheus format (*.rules.yml, docs/alerting.md)"]


def test_an_old_format_file_is_still_checked(tmp_path: Path) -> None:
    path = tmp_path / "site.yml"
    path.write_text(OLD_RULE.replace("tierwatch_component_condition", "no_such_metric"),
                    encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rule_files([path])
    assert caught.value.problems == [
        f"{path}:4: rule SiteUpsOnBattery: expr: unknown metric 'no_such_metric' (not "
        "exposed by tierwatch; see alerts/catalog.py)"]


def test_rules_may_name_what_the_shipped_agent_profiles_keep() -> None:
    """The catalog finds the host agents' series (a rule on host_boot_time_seconds, which
    collector/agents/profiles/node-exporter.yaml keeps, is not refused as unknown)."""
    from alerts.catalog import known_metrics

    known = known_metrics()
    assert {"host_boot_time_seconds", "host_time_seconds"} <= set(known)
    assert known["host_boot_time_seconds"].source == "agent-profile:node-exporter"
