"""Agent profiles: what tierwatch keeps from a host agent's answer and how it judges it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.agents.profile import AgentPlan, Mapped, parse_agent_profile
from collector.agents.profiles import known_agent_profiles, load_agent_profiles
from tests.helpers import FIXTURES_DIR
from tierwatch.core.model import ComponentStatus, PollResult, Status
from tierwatch.core.state import State

FIXTURES = FIXTURES_DIR / "agents"
BASE = {"device": "srv1"}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def mapped(profile: str, text: str) -> Mapped:
    plan = AgentPlan(load_agent_profiles([profile]))
    return plan.map(text_string_to_metric_families(text), BASE, 100.0)


def value(m: Mapped, name: str, **labels: str) -> float | None:
    for s in m.samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def component(m: Mapped, name: str) -> ComponentStatus:
    found = {c.component: c for c in m.components}
    assert name in found, f"{name!r} not among {sorted(found)}"
    return found[name]


def raw(text: str, metric: str) -> float:
    """A value as the agent wrote it (the first series of that name)."""
    match = re.search(rf"^{re.escape(metric)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert match, metric
    return float(match.group(1))


@pytest.mark.parametrize("name", sorted(known_agent_profiles()))
def test_every_shipped_agent_profile_loads(name: str) -> None:
    (profile,) = load_agent_profiles([name])
    assert profile.definition.metrics, name
    for metric in profile.definition.metrics:
        assert metric.name.startswith("host_"), f"{name}: {metric.name} outside host_"


def test_recorded_node_exporter_on_this_kind_of_vm() -> None:
    text = fixture("node-exporter-1.5-debian12-vm.prom")
    m = mapped("node-exporter", text)
    cpus = len(set(re.findall(r'^node_cpu_seconds_total\{cpu="(\d+)",mode="idle"\}', text,
                              re.M)))
    assert value(m, "host_cpus") == cpus == 2
    assert value(m, "host_memory_available_ratio") == pytest.approx(
        raw(text, "node_memory_MemAvailable_bytes") / raw(text, "node_memory_MemTotal_bytes"))
    assert value(m, "host_boot_time_seconds") == raw(text, "node_boot_time_seconds")
    assert m.roles == {"boot_time": raw(text, "node_boot_time_seconds")}
    assert value(m, "host_uptime_seconds") == pytest.approx(
        raw(text, "node_time_seconds") - raw(text, "node_boot_time_seconds"))
    idle = sum(float(v) for v in re.findall(
        r'^node_cpu_seconds_total\{cpu="\d+",mode="idle"\} (\S+)$', text, re.M))
    assert value(m, "host_cpu_seconds_total", mode="idle") == pytest.approx(idle)
    # the agent's own `device` label is the filesystem's; tierwatch's device stays the host
    assert value(m, "host_filesystem_size_bytes", mountpoint="/", fs_device="/dev/vda",
                 device="srv1") == raw(text, "node_filesystem_size_bytes")
    assert not [s for s in m.samples if s.labels.get("fstype") == "tmpfs"]
    assert value(m, "host_info", nodename="vm", sysname="Linux") == 1
    # nothing of node_exporter's own self-metrics or the go runtime comes along
    assert {s.name for s in m.samples} <= {
        n.name for p in load_agent_profiles(["node-exporter"]) for n in p.definition.metrics
    } | {d.name for p in load_agent_profiles(["node-exporter"]) for d in p.definition.derived}
    assert {c.component: c.status for c in m.components} == {
        "host": Status.OK, "filesystem /": Status.OK}


SERVER = fixture("node-exporter-1.5-server.prom")


def edit(text: str, series: str, new_value: str) -> str:
    pattern = re.compile(rf"^({re.escape(series)}) \S+$", re.M)
    assert pattern.search(text), series
    return pattern.sub(rf"\g<1> {new_value}", text)


def test_healthy_server_is_ok_with_a_component_per_sensor_filesystem_and_supply() -> None:
    m = mapped("node-exporter", SERVER)
    statuses = {c.component: c.status for c in m.components}
    assert statuses == {
        "host": Status.OK,
        "filesystem /": Status.OK,
        "filesystem /var/lib/postgresql": Status.OK,
        "sensor platform_coretemp_0 temp1": Status.OK,
        "sensor platform_coretemp_0 temp2": Status.OK,
        "sensor platform_nct6775_2560 temp1": Status.OK,  # no thresholds: nothing wrong
        "fan platform_nct6775_2560 fan1": Status.OK,
        "fan platform_nct6775_2560 fan2": Status.OK,
        "power supply PSU1": Status.OK,
        "power supply PSU2": Status.OK,
        "power supplies": Status.OK,
    }
    assert value(m, "host_cpus") == 4
    assert value(m, "host_cpu_seconds_total", mode="user") == 5000 + 4100 + 3200 + 2300
    assert value(m, "host_load15_per_cpu") == pytest.approx(1.2 / 4)


CASES = [
    # (what happens, series, new value, component, status, condition)
    ("memory nearly exhausted", "node_memory_MemAvailable_bytes", "2e+09",
     "host", Status.DEGRADED, "memory_low"),
    ("load 5 per CPU", "node_load15", "20", "host", Status.DEGRADED, "overloaded"),
    ("root filesystem 1 % free",
     'node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"}', "1e+09",
     "filesystem /", Status.DEGRADED, "disk_full"),
    ("database filesystem 5 % free",
     'node_filesystem_avail_bytes{device="/dev/sdb1",fstype="xfs",'
     'mountpoint="/var/lib/postgresql"}', "1e+11",
     "filesystem /var/lib/postgresql", Status.DEGRADED, "disk_low"),
    ("CPU over its high mark", 'node_hwmon_temp_celsius{chip="platform_coretemp_0",'
     'sensor="temp2"}', "90", "sensor platform_coretemp_0 temp2", Status.DEGRADED, "hot"),
    ("CPU at its critical mark", 'node_hwmon_temp_celsius{chip="platform_coretemp_0",'
     'sensor="temp1"}', "100", "sensor platform_coretemp_0 temp1", Status.DEGRADED,
     "overheat"),
    ("chip raises its critical alarm", 'node_hwmon_temp_crit_alarm_celsius{'
     'chip="platform_coretemp_0",sensor="temp1"}', "1", "sensor platform_coretemp_0 temp1",
     Status.DEGRADED, "overheat"),
    ("fan alarm", 'node_hwmon_fan_alarm{chip="platform_nct6775_2560",sensor="fan2"}', "1",
     "fan platform_nct6775_2560 fan2", Status.DEGRADED, "fan_alarm"),
    ("one power supply offline", 'node_power_supply_online{power_supply="PSU2"}', "0",
     "power supply PSU2", Status.FAILED, "psu_offline"),
]


@pytest.mark.parametrize(("what", "series", "new", "comp", "status", "condition"), CASES,
                         ids=[c[0] for c in CASES])
def test_one_reading_changes_one_component(what: str, series: str, new: str, comp: str,
                                           status: Status, condition: str) -> None:
    m = mapped("node-exporter", edit(SERVER, series, new))
    c = component(m, comp)
    assert (c.status, condition in c.conditions) == (status, True), c
    others = [x for x in m.components
              if x.component not in (comp, "power supplies") and x.status != Status.OK]
    assert others == [], f"{what}: only {comp} should change"


def test_a_failed_supply_leaves_the_host_degraded_not_down() -> None:
    """Each supply keeps its exact status (a topology cord binds to it) but the host, still
    running on the other supply, rolls up to degraded."""
    m = mapped("node-exporter", edit(SERVER, 'node_power_supply_online{power_supply="PSU2"}',
                                     "0"))
    psu = component(m, "power supply PSU2")
    assert psu.status == Status.FAILED and psu.rollup is False
    summary = component(m, "power supplies")
    assert summary.status == Status.DEGRADED and summary.rollup is True
    assert "psu_offline" in summary.conditions
    state = State(["srv1"])
    state.update(PollResult("srv1", 1.0, samples=m.samples, components=m.components))
    dev = state.devices["srv1"]
    assert dev.status == Status.DEGRADED
    assert state.statuses()[("srv1", "power supply PSU2")].status == Status.FAILED


def test_windows_exporter() -> None:
    text = fixture("windows-exporter-0.25.prom")
    m = mapped("windows-exporter", text)
    assert value(m, "host_cpus") == 2
    assert value(m, "host_boot_time_seconds") == raw(text, "windows_system_system_up_time")
    assert value(m, "host_memory_available_ratio") == pytest.approx(6.4e9 / 1.7179869184e10)
    assert value(m, "host_filesystem_avail_ratio", mountpoint="C:") == pytest.approx(0.01)
    assert value(m, "host_filesystem_size_bytes", mountpoint="HarddiskVolume1") is None
    assert value(m, "host_info", product="Microsoft Windows Server 2022 Standard") == 1
    c = component(m, "filesystem C:")
    assert c.status == Status.DEGRADED and "disk_full" in c.conditions
    assert component(m, "filesystem D:").status == Status.OK


def test_windows_exporter_newer_boot_time_name_wins() -> None:
    text = fixture("windows-exporter-0.25.prom") + (
        "# TYPE windows_system_boot_time_timestamp_seconds gauge\n"
        "windows_system_boot_time_timestamp_seconds 1.6999e+09\n")
    assert value(mapped("windows-exporter", text), "host_boot_time_seconds") == 1.6999e9


def test_ipmi_power_supplies_bind_one_by_one() -> None:
    text = fixture("ipmi-exporter-1.8.prom")
    healthy = mapped("ipmi-exporter", text)
    assert {c.component: c.status for c in healthy.components} == {
        "psu PS1 Status": Status.OK, "psu PS2 Status": Status.OK,
        "power supplies": Status.OK, "temperature Inlet Temp": Status.OK,
        "temperature Exhaust Temp": Status.OK, "fan Fan1A": Status.OK,
        "fan Fan2A": Status.OK, "chassis": Status.OK}
    assert value(healthy, "host_power_watts") == 312
    broken = mapped("ipmi-exporter", edit(
        text, 'ipmi_sensor_state{id="201",name="PS2 Status",type="Power Supply"}', "2"))
    assert component(broken, "psu PS2 Status").status == Status.FAILED
    assert component(broken, "psu PS1 Status").status == Status.OK
    assert component(broken, "power supplies").status == Status.DEGRADED
    off = mapped("ipmi-exporter", edit(text, "ipmi_chassis_power_state", "0"))
    assert component(off, "chassis").status == Status.FAILED


def test_no_data_for_the_host_rules_is_unknown() -> None:
    m = mapped("node-exporter", "# TYPE node_load1 gauge\nnode_load1 0.5\n")
    assert component(m, "host").status == Status.UNKNOWN
    assert value(m, "host_load1") == 0.5


def test_source_label_named_like_a_base_label_is_kept_apart() -> None:
    definition = parse_agent_profile({
        "name": "t", "metrics": [{"name": "host_x", "source": "x"}]})
    from collector.agents.profile import AgentProfile

    plan = AgentPlan([AgentProfile(definition)])
    m = plan.map(text_string_to_metric_families('x{device="sda"} 3\n'), BASE, 0.0)
    assert [(dict(s.labels), s.value) for s in m.samples] == [
        ({"device": "srv1", "exported_device": "sda"}, 3.0)]


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "t", "metrics": [{"name": "host_x", "source": "x", "type": "counter"}]},
     "must end in _total"),
    ({"name": "t", "metrics": [{"name": "tierwatch_x", "source": "x"}]}, "tierwatch's own"),
    ({"name": "t", "metrics": [{"name": "host_x", "source": "x"}],
      "components": [{"name": "c", "status": [{"when": {"metric": "host_y", "below": 1},
                                               "status": "degraded"}]}]},
     "unknown metric 'host_y'"),
    ({"name": "t", "metrics": [{"name": "host_x", "source": "x"}],
      "components": [{"name": "c {mountpoint}", "status": [
          {"when": {"metric": "host_x", "below": 1}, "status": "degraded"}]}]},
     "is not one of by"),
    ({"name": "t", "metrics": [{"name": "host_x", "source": "x", "match": {"a": "("}}]},
     "bad regular expression"),
    ({"name": "t", "metrics": [{"name": "host_x", "source": "x"}],
      "derived": [{"name": "host_r", "op": "divide", "args": ["host_x", "host_z"]}]},
     "unknown metric 'host_z'"),
])
def test_profile_mistakes_are_reported(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_agent_profile(data)


AGENT_FILES = sorted(known_agent_profiles().items())


@pytest.mark.parametrize(("name", "path"), AGENT_FILES, ids=[n for n, _ in AGENT_FILES])
def test_agent_metric_names_follow_the_house_rules(name: str, path: Path) -> None:
    """The naming rules the SNMP profiles keep (tests/collector/profiles), for agent profiles."""
    from tests.collector.profiles.test_shipped_profiles import (
        NOT_BASE,
        PROMLINT_ABBREVIATIONS,
        UNITS,
    )

    (profile,) = [p for p in load_agent_profiles([name]) if p.name == name]
    d = profile.definition
    problems = []
    produced = [(m.name, m.type) for m in d.metrics] + [(x.name, "gauge") for x in d.derived]
    for metric, kind in produced:
        words = metric.split("_")
        stem = metric.removesuffix("_total")
        if (kind == "counter") != metric.endswith("_total"):
            problems.append(f"{metric}: _total is for counters, and counters only")
        if PROMLINT_ABBREVIATIONS & set(words):
            problems.append(f"{metric}: promtool reads an abbreviated unit in it")
        if NOT_BASE & set(words):
            problems.append(f"{metric}: {sorted(NOT_BASE & set(words))} is not a base unit")
        for unit in UNITS:
            if f"_{unit}_" in f"_{stem}_" and not stem.endswith(f"_{unit}"):
                problems.append(f"{metric}: the unit {unit!r} must end the name")
    for metric in d.metrics:
        for label in [*(metric.labels or []), *metric.rename.values()]:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", label):
                problems.append(f"{metric.name}: label {label!r} is not snake_case")
    assert problems == []


def test_a_name_means_one_type_across_snmp_and_agent_profiles() -> None:
    from collector.profiles import SHIPPED, load_profile_file

    kinds: dict[str, set[str]] = {}
    for path in sorted(SHIPPED.glob("*.yaml")):
        d = load_profile_file(path).definition
        for metric in [*d.scalars, *(m for t in d.tables for m in t.metrics)]:
            kinds.setdefault(metric.name, set()).add(metric.type)
        for info in d.info:
            kinds.setdefault(info.name, set()).add("info")
    for name, _path in AGENT_FILES:
        for p in load_agent_profiles([name]):
            for metric in p.definition.metrics:
                kinds.setdefault(metric.name, set()).add(metric.type)
            for derived in p.definition.derived:
                kinds.setdefault(derived.name, set()).add("gauge")
    assert {n: k for n, k in kinds.items() if len(k) > 1} == {}
