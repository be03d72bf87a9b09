"""tierwatch's samples equal what Net-SNMP's own tools read from the same real agent.

For each SNMP engine behind the seam (pysnmp, native) and each security model (v2c, v3
authPriv SHA/AES and SHA-256/AES-256), the full pipeline (engine -> profile mapping ->
samples) polls a real snmpd with the `system` and `if-mib` profiles, and every IF-MIB
sample is compared with `snmpbulkwalk -On` of the same column. Counters move while we
look (the agent's own loopback carries our packets), so a counter must lie between the
values Net-SNMP read just before and just after tierwatch's poll; everything else must be
equal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.profiles import load_profiles
from collector.snmp.client import open_client
from collector.snmp.poller import PollPlan, poll
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd

pytestmark = pytest.mark.integration

ENGINES = ["pysnmp", "native"]
USERS = [SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123"),
         SnmpdUser("ops256", "SHA-256", "authpass256", "AES-256", "privpass256")]
SECURITY = [("2c", None), ("3", "ops"), ("3", "ops256")]


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with run_snmpd(tmp_path_factory.mktemp("snmpd"), users=USERS) as running:
        yield running


def cli_columns(agent: Agent, roots: list[str], version: str, user: str | None
                ) -> dict[str, dict[str, object]]:
    """root -> {row index -> value} as snmpbulkwalk reads it."""
    out: dict[str, dict[str, object]] = {}
    for root in roots:
        rows = out.setdefault(root, {})
        for oid, value, _type in agent.walk_cli(root, version, user=user):
            rows[oid.lstrip(".")[len(root) + 1:]] = value
    return out


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("version", "user"), SECURITY, ids=["v2c", "v3-sha-aes",
                                                              "v3-sha256-aes256"])
async def test_if_mib_and_system_match_snmpbulkwalk(agent: Agent, engine: str, version: str,
                                                    user: str | None) -> None:
    profiles = load_profiles(["system", "if-mib"])
    plan = PollPlan(profiles)
    table = next(t for p in profiles for t in p.definition.tables if t.name == "interfaces")
    metric_roots = {m.oid: m for m in table.metrics}
    label_roots = {lab.oid: lab for lab in table.labels}
    roots = [*metric_roots, *label_roots]

    client = open_client(agent.target(version, user=user), engine)
    try:
        before = cli_columns(agent, roots, version, user)
        result = await poll("snmpd", client, plan, {"device": "snmpd"})
        after = cli_columns(agent, roots, version, user)
    finally:
        await client.close()
    assert result.ok, result.message

    compared = 0
    for root, metric in metric_roots.items():
        ours = {s.labels["if_index"]: s.value for s in result.samples if s.name == metric.name}
        theirs = before[root]
        assert set(ours) == set(theirs), (metric.name, ours, theirs)
        for index, value in ours.items():
            low, high = theirs[index], after[root][index]
            expected_low = float(low) * metric.scale  # type: ignore[arg-type]
            expected_high = float(high) * metric.scale  # type: ignore[arg-type]
            if metric.type == "counter":
                assert expected_low <= value <= expected_high, (metric.name, index)
            else:
                assert value == pytest.approx(expected_low), (metric.name, index)
            compared += 1
    assert compared >= 8

    # row labels are the same strings Net-SNMP reads
    for root, label in label_roots.items():
        for index, raw in before[root].items():
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            rows = [s for s in result.samples
                    if s.labels.get("if_index") == index and s.name == "if_oper_status"]
            if text:
                assert rows and rows[0].labels[label.label] == text, (label.label, index)

    # system group: identity exact, uptime within the seconds the comparison took
    (descr, oid, name), (uptime, *_rest) = (
        [v for _, v, _ in agent.get_cli(["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0",
                                         "1.3.6.1.2.1.1.5.0"], version, user=user)],
        [v for _, v, _ in agent.get_cli(["1.3.6.1.2.1.1.3.0"], version, user=user)],
    )
    info = next(s for s in result.samples if s.name == "snmp_system_info")
    assert info.labels["sys_descr"] == descr.decode()  # type: ignore[union-attr]
    assert info.labels["sys_object_id"] == str(oid).lstrip(".")
    assert info.labels["sys_name"] == name.decode()  # type: ignore[union-attr]
    ours_uptime = next(s.value for s in result.samples if s.name == "snmp_uptime_seconds")
    assert 0 <= float(uptime) / 100 - ours_uptime < 30  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ENGINES)
async def test_wrong_credentials_are_counted_errors(agent: Agent, engine: str) -> None:
    plan = PollPlan(load_profiles(["if-mib"]))
    bad_targets = {
        "timeout": agent.target("2c", community="wrong-community", timeout=0.5, retries=0),
        "auth": agent.target("3", user="ops", timeout=0.5, retries=0),
    }
    # the v3 user with a wrong authentication password
    from dataclasses import replace

    bad_targets["auth"] = replace(bad_targets["auth"], credentials=replace(
        bad_targets["auth"].credentials, auth_key="not-the-password"))
    for reason, target in bad_targets.items():
        client = open_client(target, engine)
        try:
            result = await poll("snmpd", client, plan, {"device": "snmpd"})
        finally:
            await client.close()
        assert result.error == reason, (engine, reason, result.message)
        assert result.samples == []
        assert "not-the-password" not in result.message
