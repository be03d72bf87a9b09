"""The shipped rule files and Alertmanager configuration pass the real tools.

promtool checks every Prometheus rule file and runs its unit tests (a test per rule that
fires and one that does not: the very file the built-in engine passes in
tests/alerts/test_rule_files.py, and the range-function fixture tests/alerts/test_promql.py
runs); amtool checks the example Alertmanager configuration and its bilingual templates;
and a bad expression or an unknown metric is refused with file and rule named.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from alerts.rules import INHIBIT_RULES, PROMETHEUS_RULES, RULE_TESTS
from tests.helpers.procs import ROOT, env_with_repo, need, tierwatch_cmd

pytestmark = pytest.mark.integration

RULE_DIR = PROMETHEUS_RULES.parent
PROMETHEUS_FILES = sorted(RULE_DIR.glob("*.rules.yml"))
FIXTURE_TESTS = sorted((ROOT / "tests" / "fixtures" / "rules").glob("*.test.yml"))


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("path", PROMETHEUS_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    result = run([need("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass_and_cover_every_rule() -> None:
    tests = RULE_TESTS
    result = run([need("promtool"), "test", "rules", tests.name], cwd=RULE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    covered = {t["alert_rule_test"][0]["alertname"]
               for t in yaml.safe_load(tests.read_text(encoding="utf-8"))["tests"]}
    rules = {r["alert"] for g in yaml.safe_load(PROMETHEUS_RULES.read_text(encoding="utf-8"))
             ["groups"] for r in g["rules"] if "alert" in r}
    assert rules == covered


@pytest.mark.parametrize("path", FIXTURE_TESTS, ids=lambda p: p.name)
def test_promtool_passes_the_range_function_fixtures(path: Path) -> None:
    """The same expectations the built-in engine meets (tests/alerts/test_promql.py)."""
    result = run([need("promtool"), "test", "rules", path.name], cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_command_passes_the_shipped_files() -> None:
    result = subprocess.run(tierwatch_cmd("alerts", "check-rules",
                                          *(str(p) for p in PROMETHEUS_FILES),
                                          str(INHIBIT_RULES)),
                            capture_output=True, text=True, env=env_with_repo())
    assert result.returncode == 0, result.stderr


def test_a_bad_expression_and_an_unknown_metric_are_refused_naming_file_and_rule(
        tmp_path: Path) -> None:
    bad = tmp_path / "site.rules.yml"
    annotations = "{summary: s, summary_vi: s, runbook: r, runbook_vi: r}"
    bad.write_text(f"""\
groups:
  - name: site
    rules:
      - alert: Broken
        expr: ups_battery_runtime_seconds < < 600
        labels: {{severity: critical, subsystem: power}}
        annotations: {annotations}
      - alert: Misspelt
        expr: ups_batery_runtime_seconds < 600
        labels: {{severity: critical, subsystem: power}}
        annotations: {annotations}
""", encoding="utf-8")
    result = subprocess.run(tierwatch_cmd("alerts", "check-rules", str(bad)),
                            capture_output=True, text=True, env=env_with_repo())
    assert result.returncode == 1
    assert (f"{bad}:9: rule Misspelt: expr: unknown metric 'ups_batery_runtime_seconds'"
            in result.stderr)
    assert f"{bad}:5: rule Broken: expr: not valid PromQL" in result.stderr
    assert f"{bad}: promtool:" in result.stderr and "Broken" in result.stderr


def test_amtool_accepts_the_example_alertmanager_configuration() -> None:
    config = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
    result = run([need("amtool"), "check-config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 inhibit rules" in result.stdout and "1 templates" in result.stdout
    rendered = run([need("amtool"), "template", "render",
                    f"--template.glob={config.parent / 'templates' / '*.tmpl'}",
                    '--template.text={{ template "tierwatch.subject" . }}\n'
                    '{{ template "tierwatch.text" . }}'])
    assert rendered.returncode == 0, rendered.stderr
    assert "Hướng xử lý:" in rendered.stdout and "Runbook:" in rendered.stdout


def test_alertmanager_inhibit_rules_are_the_builtin_engine_s() -> None:
    am = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text(
        encoding="utf-8"))["inhibit_rules"]
    builtin = yaml.safe_load(INHIBIT_RULES.read_text(encoding="utf-8"))["inhibit_rules"]
    assert am == builtin
