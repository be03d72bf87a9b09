"""/metrics rendering: valid exposition, no stale series, device samples grouped by family."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from collector.snmp.poller import MetricMeta, PollResult
from exporters.prometheus import MetricsExporter
from tierwatch.core.model import ComponentStatus, Sample, Status
from tierwatch.core.state import State

META = {"ups_battery_charge_ratio": MetricMeta("gauge", "Battery charge"),
        "if_hc_in_octets_total": MetricMeta("counter", "Octets in")}


def result(device: str, charge: float, note: str = "plain") -> PollResult:
    labels = {"device": device, "note": note}
    return PollResult(device, 1.0, samples=[
        Sample("ups_battery_charge_ratio", labels, charge, 1.0),
        Sample("if_hc_in_octets_total", {**labels, "ifName": "Gi1/0/1"}, 12345678901234.0),
    ], components=[ComponentStatus("ups", Status.DEGRADED)], metadata=META)


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_render_parses_and_groups_devices_per_family() -> None:
    state = State(["a", "b"])
    state.update(result("a", 0.9))
    state.update(result("b", 0.5, note='quote " back \\ slash\nnewline'))
    text = MetricsExporter(state).render().decode()
    assert text.count("# TYPE ups_battery_charge_ratio gauge") == 1
    got = families(text)
    assert sorted(v for _, v in got["ups_battery_charge_ratio"]) == [0.5, 0.9]
    labels_b = next(lab for lab, _ in got["ups_battery_charge_ratio"] if lab["device"] == "b")
    assert labels_b["note"] == 'quote " back \\ slash\nnewline'
    assert got["if_hc_in_octets_total"][0][1] == 12345678901234.0
    assert ({"device": "a"}, 1.0) in got["tierwatch_device_up"]
    assert ({"device": "a", "component": "ups", "status": "degraded"}, 1.0) in got[
        "tierwatch_component_status"]
    assert ({"device": "a", "component": "ups", "status": "ok"}, 0.0) in got[
        "tierwatch_component_status"]


def test_removed_device_leaves_no_series() -> None:
    state = State(["a", "b"])
    exporter = MetricsExporter(state)
    state.update(result("a", 0.9))
    state.update(result("b", 0.5))
    assert 'device="b"' in exporter.render().decode()
    state.set_devices(["a"])
    assert 'device="b"' not in exporter.render().decode()


def test_failed_poll_removes_the_device_samples_but_keeps_self_metrics() -> None:
    state = State(["a"], unreachable_after=1)
    exporter = MetricsExporter(state)
    state.update(result("a", 0.9))
    state.update(PollResult("a", 2.0, error="timeout", message="no answer"))
    got = families(exporter.render().decode())
    assert "ups_battery_charge_ratio" not in got
    assert ({"device": "a"}, 0.0) in got["tierwatch_device_up"]
    assert ({"device": "a", "reason": "timeout"}, 1.0) in got["tierwatch_poll_errors_total"]


def test_cached_rendering_follows_new_polls() -> None:
    state = State(["a"])
    exporter = MetricsExporter(state)
    state.update(result("a", 0.9))
    exporter.render()
    state.update(result("a", 0.4))
    got = families(exporter.render().decode())
    assert [v for _, v in got["ups_battery_charge_ratio"]] == [0.4]


def test_own_series_equal_the_client_python_reference() -> None:
    """/metrics renders tierwatch's per-device series by hand; StateCollector renders the
    same view through client_python. Both must say the same thing, sample for sample."""
    from prometheus_client import CollectorRegistry, generate_latest

    from tests.helpers.reference_series import StateCollector
    from tierwatch.core.selfseries import SELF_FAMILIES

    state = State(["ok", "flaky", "down", "never", 'odd"id'], unreachable_after=2)
    state.update(result("ok", 0.9))
    state.update(PollResult("ok", 2.0, 0.125, components=[
        ComponentStatus('port "Gi1/0/1"\\x', Status.FAILED, "down"),
        ComponentStatus("ups", Status.OK)], varbinds=162))
    state.update(result("flaky", 0.5))
    state.update(PollResult("flaky", 3.0, error="timeout", message="no answer"))
    state.count_skipped("flaky")
    for ts in (1.0, 2.0):
        state.update(PollResult("down", ts, error="auth", message="wrong key"))
    state.update(result('odd"id', 0.1))
    ours = MetricsExporter(state).render().decode()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(state))
    reference = generate_latest(registry).decode()

    def own(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {(s.name, tuple(sorted(s.labels.items())), s.value)
                for f in text_string_to_metric_families(text) for s in f.samples
                if s.name in SELF_FAMILIES}

    assert own(ours) == own(reference)
    assert len(own(ours)) > 40
    assert ("tierwatch_polls_skipped_total", (("device", "flaky"),), 1.0) in own(ours)


def test_a_skipped_poll_shows_without_a_new_poll() -> None:
    state = State(["a"])
    exporter = MetricsExporter(state)
    state.update(result("a", 0.9))
    assert ({"device": "a"}, 0.0) in families(exporter.render().decode())[
        "tierwatch_polls_skipped_total"]
    state.count_skipped("a")
    assert ({"device": "a"}, 1.0) in families(exporter.render().decode())[
        "tierwatch_polls_skipped_total"]
