"""deploy/: the files an operator installs are valid for the tools that read them.

No Docker engine and no systemd run here: the compose file is parsed and checked (pinned
images, mounts that exist), Prometheus' and Alertmanager's configs go through promtool and
amtool, the systemd units through `systemd-analyze verify` where it is installed, and the
example tierwatch config through `tierwatch check`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.procs import ROOT, env_with_repo, need, tierwatch_cmd

pytestmark = pytest.mark.integration

DEPLOY = ROOT / "deploy"
PINNED = re.compile(r"^[a-z0-9][\w./-]*:v?\d+\.\d+\.\d+(?:-[\w.-]+)?$")
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
             "SystemCallFilter": "@system-service", "ProtectKernelTunables": "yes"}


def compose() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_promtool_accepts_the_prometheus_config_and_loads_the_rules() -> None:
    promtool = need("promtool")
    out = subprocess.run([promtool, "check", "config", "prometheus/prometheus.yml"],
                         cwd=DEPLOY, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    rules = sorted((ROOT / "alerts" / "rules").glob("*.rules.yml"))
    assert rules, "alerts/rules/ has no *.rules.yml for Prometheus to load"
    assert f"SUCCESS: {len(rules)} rule files found" in out.stdout, out.stdout


def test_amtool_accepts_the_alertmanager_config() -> None:
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    assert config.exists(), f"{config} is missing: compose mounts it into Alertmanager"
    amtool = need("amtool")
    out = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_parses_and_every_service_names_a_pinned_image() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    assert {"tierwatch", "prometheus", "alertmanager", "grafana", "influxdb"} <= set(services)
    for name, service in services.items():
        image = service.get("image", "")
        assert PINNED.match(image), f"{name}: image {image!r} is not pinned to a version"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: mounts {source}, which is missing"
        for env_file in service.get("env_file", []):
            example = DEPLOY / f"{env_file}.example"
            assert example.exists(), f"{name}: {env_file} has no {example.name} to copy"
    build = services["tierwatch"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    # only Grafana and tierwatch listen beyond the host
    for name in ("prometheus", "alertmanager", "influxdb"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_pair_override_runs_two_members_on_one_postgresql() -> None:
    """deploy/compose.pair.yaml (docs/operations.md): a second member with the first one's
    image, command and config, a PostgreSQL pinned and on the host's loopback only."""
    pair: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.pair.yaml").read_text())
    services = pair["services"]
    base = compose()["services"]
    assert isinstance(base, dict)
    member = services["tierwatch-b"]
    assert member["image"] == base["tierwatch"]["image"]
    assert member["command"] == base["tierwatch"]["command"]
    assert member["volumes"][0] == base["tierwatch"]["volumes"][0]  # the same tierwatch.yaml
    assert services["tierwatch"]["hostname"] != member["hostname"]  # two names in the lease
    # PostgreSQL's versions have two numbers (16.4 is a minor release, not a moving tag)
    assert re.fullmatch(r"postgres:\d+\.\d+", services["postgres"]["image"])
    assert all(str(p).startswith("127.0.0.1:") for p in services["postgres"]["ports"])
    secrets = (DEPLOY / "secrets.env.example").read_text()
    assert "\nPOSTGRES_PASSWORD=" in secrets and "\nPGPASSWORD=" in secrets


def test_dockerfile_pins_its_base_and_copies_what_exists() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    (base,) = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert PINNED.match(base), base
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), line


def test_prometheus_mounts_keep_the_relative_rule_path() -> None:
    mounts = dict(m.split(":")[:2] for m in compose()["services"]["prometheus"]["volumes"])
    config_dir = mounts["./prometheus"]
    rules = (Path(config_dir) / "../../alerts/rules").resolve()
    assert mounts["../alerts/rules"] == str(rules)


def test_the_example_config_validates_with_the_example_secrets(tmp_path: Path) -> None:
    secrets = {}
    for line in (DEPLOY / "secrets.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            secrets[key] = value
    example = DEPLOY / "tierwatch" / "tierwatch.example.yaml"
    settings = "\n".join(line.split("#")[0] for line in example.read_text().splitlines())
    for ref in re.findall(r"\$\{(\w+)\}", settings):
        assert ref in secrets, f"${{{ref}}} is not in secrets.env.example"
    out = subprocess.run(tierwatch_cmd("check", "-c", str(example)), env=env_with_repo(**secrets),
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    for value in secrets.values():
        assert value not in out.stdout + out.stderr


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> values (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r}"
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize("name", ["tierwatch.service", "tierwatch@.service"])
def test_systemd_units_run_tierwatch_hardened(name: str) -> None:
    svc = unit(DEPLOY / "systemd" / name)["Service"]
    (exec_start,) = svc["ExecStart"]
    args = exec_start.split()
    assert args[:4] == ["/opt/tierwatch/venv/bin/tierwatch", "run", "-c",
                        "/etc/tierwatch/tierwatch.yaml"]
    assert "/etc/tierwatch/tierwatch.env" in svc["EnvironmentFile"]
    assert svc["User"] == ["tierwatch"]
    for key, value in HARDENING.items():
        assert svc.get(key) == [value], f"{name}: {key}={value} expected"
    # every option the unit passes is one `tierwatch run` knows
    help_text = subprocess.run(tierwatch_cmd("run", "--help"), env=env_with_repo(),
                               capture_output=True, text=True, check=True).stdout
    for option in (a for a in args[4:] if a.startswith("--")):
        assert option in help_text, f"{name}: tierwatch run has no {option}"


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # the units name the installed binary; verify needs it to exist and be executable
    binary = tmp_path / "bin" / "tierwatch"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    units = []
    for name, as_name in (("tierwatch.service", "tierwatch.service"),
                          ("tierwatch@.service", "tierwatch@0.service")):
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / as_name).write_text(
            text.replace("/opt/tierwatch/venv/bin/tierwatch", str(binary)))
        units.append(str(tmp_path / as_name))
    out = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True,
                         text=True)
    problems = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert out.returncode == 0 and not problems, "\n".join(problems)


def test_the_scaling_guide_s_prometheus_examples_pass_promtool(tmp_path: Path) -> None:
    promtool = need("promtool")
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    blocks = [b.split("\n", 1)[1] for b in text.split("```")[1::2] if b.startswith("yaml")]
    configs = [b for b in blocks if "scrape_configs:" in b or "remote_write:" in b]
    assert len(configs) == 2  # federation and remote write
    for i, block in enumerate(configs):
        path = tmp_path / f"example-{i}.yml"
        path.write_text(block)
        out = subprocess.run([promtool, "check", "config", str(path)], capture_output=True,
                             text=True)
        assert out.returncode == 0, block + out.stdout + out.stderr
