"""Bad input in the services' configuration: `tierwatch check` names the file, the line and
the key of each problem (lines counted by hand in the texts below)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.procs import env_with_repo, tierwatch_cmd

SCHEMA_ERRORS = """\
site: {name: Thành phố}
topology:
  services:
    nodes:
      - {id: portal}
services:
  checks:
    - service: portal
      name: nothing to check
    - service: portal
      http: ftp://portal.thanhpho.gov.vn/
"""

CROSS_ERRORS = """\
site: {name: Thành phố}
topology:
  services:
    nodes:
      - id: portal
        depends_on: [dns, DC-SERVERS]
      - id: dns
        depends_on: [docs]
      - id: docs
        depends_on: [dns]
services:
  checks:
    - service: portal
      http: https://portal.thanhpho.gov.vn/
      ca_file: not-a-cert.pem
    - service: mail
      smtp: 127.0.0.1:25
"""


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "tierwatch.yaml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(tierwatch_cmd("check", "-c", str(path)), env=env_with_repo(),
                          capture_output=True, text=True, cwd=tmp_path)


def test_a_check_with_no_target_and_a_url_that_is_not_http(tmp_path: Path) -> None:
    run = check(tmp_path, SCHEMA_ERRORS)
    assert run.returncode == 1
    where = f"{tmp_path / 'tierwatch.yaml'}"
    assert (f"{where}:8: services.checks[0]: a check needs a target: one of http: URL"
            in run.stderr), run.stderr
    assert (f"{where}:11: services.checks[1].http: 'ftp://portal.thanhpho.gov.vn/': only "
            "http:// and https:// URLs can be checked") in run.stderr


def test_unknown_ids_a_cycle_and_a_file_that_is_not_pem(tmp_path: Path) -> None:
    (tmp_path / "not-a-cert.pem").write_text("this is not a certificate\n")
    run = check(tmp_path, CROSS_ERRORS)
    assert run.returncode == 1
    where = f"{tmp_path / 'tierwatch.yaml'}"
    lines = run.stderr.splitlines()
    expected = [
        f"{where}:6: topology.services.nodes[0].depends_on[1]: unknown depends_on id "
        "'DC-SERVERS' (neither a node of the topology nor a service)",
        f"{where}:8: topology.services.nodes[1].depends_on[0]: cycle among services "
        "dns -> docs -> dns",
        f"{where}:15: services.checks[0].ca_file: '{tmp_path / 'not-a-cert.pem'}' is not a "
        "PEM certificate file (no BEGIN CERTIFICATE block)",
        f"{where}:16: services.checks[1].service: unknown service 'mail' (a node of "
        "topology.services)",
    ]
    for line in expected:
        assert any(found.endswith(line) or found == line for found in lines), (line, lines)
