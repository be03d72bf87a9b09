"""The agents: and probes: sections: validated like the rest, errors name the key path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tierwatch.config import ConfigError, dump_redacted, parse

GOOD = """
site: {name: Trung tâm dữ liệu thành phố}
credentials:
  v2: {version: 2c, community: "${SNMP_COMMUNITY}"}
devices:
  - {id: edge-w7, address: "10.70.7.254", credentials: v2, profile: if-mib}
agents:
  interval: 15s
  max_body: 2MB
  hosts:
    - id: db-01
      url: http://10.20.0.11:9100/metrics
      profile: node-exporter
      labels: {rack: R07}
    - id: db-01-bmc
      url: https://10.20.1.11:9290/ipmi?target=10.20.1.11
      profile: [ipmi-exporter]
      bearer_token: ${IPMI_TOKEN}
      timeout: 8s
probes:
  interval: 10s
  window: 20
  degraded: {loss: 10%, rtt: 150ms}
  links:
    - id: link-d1-w7a
      name: "Quận 1 - Phường 7, tuyến A"
      checks: [{icmp: 10.61.7.1}]
  sites:
    - id: site-w7
      name: UBND Phường 7
      checks:
        - {icmp: 10.70.7.1}
        - {tcp: "portal.phuong7.example:443", name: portal, timeout: 2s}
      router: edge-w7
      uplinks: ["port ge-0/0/0", "port ge-0/0/1"]
"""

ENV = {"SNMP_COMMUNITY": "public-s3cret", "IPMI_TOKEN": "t0ken-s3cret"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse(textwrap.dedent(text), Path("tw.yaml"))
    return err.value.problems


def test_agents_and_probes_load(env: None) -> None:
    result = parse(GOOD, Path("tw.yaml"))
    config = result.config
    assert result.warnings == []
    assert config.device_ids() == ["edge-w7", "db-01", "db-01-bmc", "link-d1-w7a", "site-w7"]
    agents = config.agents
    assert (agents.interval, agents.timeout, agents.max_body) == (15.0, 5.0, 2_000_000)
    assert agents.hosts[0].profile == ["node-exporter"]
    assert agents.hosts[1].timeout == 8.0
    probes = config.probes
    assert (probes.window, probes.degraded.loss, probes.degraded.rtt) == (20, 0.1, 0.15)
    site = probes.sites[0]
    checks = [c.to_check(probes.timeout) for c in site.checks]
    assert [(c.name, c.method, c.host, c.port, c.timeout) for c in checks] == [
        ("icmp 10.70.7.1", "icmp", "10.70.7.1", None, 1.0),
        ("portal", "tcp", "portal.phuong7.example", 443, 2.0)]
    assert probes.thresholds().fail_after == probes.unreachable_after == 3


def test_secrets_never_show_in_a_dump(env: None) -> None:
    config = parse(GOOD, Path("tw.yaml")).config
    text = json.dumps(dump_redacted(config))
    assert "t0ken-s3cret" not in text and "IPMI_TOKEN" not in text
    assert "**********" in text


def test_literal_or_cleartext_tokens_warn(env: None) -> None:
    text = GOOD.replace("bearer_token: ${IPMI_TOKEN}", "bearer_token: t0ken-s3cret").replace(
        "https://10.20.1.11", "http://10.20.1.11")
    warnings = parse(text, Path("tw.yaml")).warnings
    assert any("agents.hosts[1].bearer_token: secret written literally" in w for w in warnings)
    assert any("agents.hosts[1].bearer_token: sent over plain http" in w for w in warnings)
    assert not any("t0ken-s3cret" in w for w in warnings)


BAD = [
    ("duplicate id across sections",
     "agents:\n  hosts:\n  - {id: edge-w7, url: 'http://h:9100/metrics', profile: node-exporter}",
     "agents.hosts[0].id: duplicate device id 'edge-w7' (first at devices[0])"),
    ("a site named like a link",
     "probes:\n  links: [{id: x, checks: [{icmp: 10.0.0.1}]}]\n"
     "  sites: [{id: x, checks: [{icmp: 10.0.0.2}]}]",
     "probes.sites[0].id: duplicate device id 'x' (first at probes.links[0])"),
    ("unknown agent profile",
     "agents:\n  hosts:\n  - {id: h, url: 'http://h:9100/metrics', profile: node-exporterr}",
     "agents.hosts[0].profile: unknown agent profile 'node-exporterr'"),
    ("url not http", "agents:\n  hosts:\n  - {id: h, url: 'h:9100', profile: node-exporter}",
     "agents.hosts[0].url: 'h:9100': an agent url is http(s)://HOST[:PORT]/PATH"),
    ("credentials in the url",
     "agents:\n  hosts:\n  - {id: h, url: 'http://u:p@h/metrics', profile: node-exporter}",
     "agents.hosts[0].url: credentials do not go in the url"),
    ("token from an unset variable",
     "agents:\n  hosts:\n  - {id: h, url: 'https://h/metrics', profile: node-exporter,"
     " bearer_token: '${NOT_SET_ANYWHERE}'}",
     "agents.hosts[0].bearer_token: environment variable NOT_SET_ANYWHERE is not set"),
    ("bad size", "agents: {max_body: lots}",
     "agents.max_body: 'lots' is not a size"),
    ("tcp without a port", "probes:\n  sites: [{id: s, checks: [{tcp: 10.0.0.1}]}]",
     "probes.sites[0].checks[0]: '10.0.0.1': tcp needs HOST:PORT"),
    ("icmp and tcp at once",
     "probes:\n  sites: [{id: s, checks: [{icmp: 10.0.0.1, tcp: '10.0.0.1:22'}]}]",
     "probes.sites[0].checks[0]: give exactly one of icmp: HOST or tcp: HOST:PORT"),
    ("IPv6", "probes:\n  sites: [{id: s, checks: [{icmp: 'fd00::1'}]}]",
     "IPv6 targets are not supported yet"),
    ("no checks", "probes:\n  sites: [{id: s, checks: []}]",
     "probes.sites[0].checks: List should have at least 1 item"),
    ("two checks with one name",
     "probes:\n  sites: [{id: s, checks: [{icmp: 10.0.0.1}, {icmp: 10.0.0.1}]}]",
     "probes.sites[0]: two checks named 'icmp 10.0.0.1'"),
    ("uplinks without a router",
     "probes:\n  sites: [{id: s, checks: [{icmp: 10.0.0.1}], uplinks: [port ge0]}]",
     "uplinks need the router"),
    ("router that is not an SNMP device",
     "probes:\n  sites: [{id: s, checks: [{icmp: 10.0.0.1}], router: edge-x}]",
     "probes.sites[0].router: unknown device 'edge-x'"),
    ("timeout as long as the interval",
     "probes:\n  interval: 2s\n  sites: [{id: s, checks: [{icmp: 10.0.0.1, timeout: 2s}]}]",
     "probes.sites[0].checks[0]: timeout 2s is not shorter than the interval 2s"),
    ("loss as a percentage over 100", "probes: {degraded: {loss: 150%}}",
     "probes.degraded.loss: Input should be less than or equal to 1"),
    ("icmp mode", "probes: {icmp: sometimes}", "probes.icmp: Input should be 'auto'"),
    ("unknown key", "probes: {windw: 5}", "probes.windw: unknown key"),
]


@pytest.mark.parametrize(("what", "section", "message"), BAD, ids=[b[0] for b in BAD])
def test_mistakes_name_their_key(env: None, what: str, section: str, message: str) -> None:
    base = ("site: {name: T}\ncredentials:\n  v2: {version: 2c, community: x}\n"
            "devices:\n  - {id: edge-w7, address: 10.0.0.254, credentials: v2, "
            "profile: if-mib}\n")
    found = problems(base + section + "\n")
    assert any(message in p for p in found), found
    assert all(p.startswith("tw.yaml:") for p in found)
