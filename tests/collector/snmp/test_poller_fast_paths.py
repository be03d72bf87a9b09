"""The mapping's fast paths give exactly what the general mapping gives.

`PollPlan(profiles)` maps plain, scaled and enum columns in a tight loop of its own;
`PollPlan(profiles, fast=False)` maps every reading the general way. For every simulated
model, with each of its faults on, through every shipped profile that finds data in it,
both plans must produce the same samples (names, labels, values, order), the same
component statuses and the same roles. Damaged readings (text where a number belongs,
missing values, indexes that do not decode) go through both as well.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from collector.profile import Profile, parse_profile
from collector.profiles import known_profiles, load_profiles
from collector.snmp.client import NO_SUCH_INSTANCE, FakeSnmpClient, Value
from collector.snmp.poller import PollPlan, PollResult, poll
from sim import agent
from tests.helpers.recorded import model_data_path, model_overlay, values_from_snmprec

MODELS = agent.load_models()


def cases() -> list[tuple[str, str, str | None]]:
    out = []
    for model, spec in sorted(MODELS.items()):
        for fault in [None, *sorted(spec.faults)]:
            for profile in sorted(known_profiles()):
                out.append((model, profile, fault))
    return out


def same(fast: PollResult, general: PollResult) -> None:
    assert [(s.name, dict(s.labels), s.ts) for s in fast.samples] == [
        (s.name, dict(s.labels), s.ts) for s in general.samples]
    for a, b in zip(fast.samples, general.samples, strict=True):
        assert a.value == b.value and type(a.value) is type(b.value), (a, b)
    assert fast.components == general.components
    assert fast.roles == general.roles
    assert (fast.error, fast.varbinds) == (general.error, general.varbinds)


@functools.cache
def walk_of(model: str, fault: str | None) -> dict[str, Value]:
    return values_from_snmprec(model_data_path(model), model_overlay(model, [fault] if fault
                                                                      else []))


@pytest.mark.parametrize(("model", "profile", "fault"), cases())
async def test_fast_mapping_equals_the_general_mapping(model: str, profile: str,
                                                       fault: str | None) -> None:
    profiles = load_profiles([profile])
    results = []
    for fast in (True, False):
        client = FakeSnmpClient(walk_of(model, fault))
        results.append(await poll(model, client, PollPlan(profiles, fast=fast),
                                  {"device": model, "room": "A"}, now=5.0))
    same(*results)


IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def damaged_if_mib() -> dict[str, Value]:
    values: dict[str, Value] = {
        "1.3.6.1.2.1.1.3.0": 100,
        f"{IF}.2.1": b"lo", f"{IF}.2.2": b"eth0", f"{IF}.2.3.7": b"odd index",
        f"{IFX}.1.1": b"lo", f"{IFX}.1.2": b"eth0",
        f"{IF}.7.1": 1, f"{IF}.7.2": 1, f"{IF}.7.3.7": 1, f"{IF}.7.9": b"up",
        f"{IF}.8.1": 1, f"{IF}.8.2": 2, f"{IF}.8.9": 99,
        f"{IFX}.6.1": 2**64 - 1, f"{IFX}.6.2": b" 12.5 ", f"{IFX}.6.3": b"n/a",
        f"{IFX}.10.1": NO_SUCH_INSTANCE, f"{IFX}.10.2": None, f"{IFX}.10.4": "1.3.6",
        f"{IF}.14.2": -5, f"{IFX}.15.1": 0, f"{IFX}.15.2": 10000, f"{IFX}.15.5": b"",
    }
    return values


@pytest.mark.parametrize("profiles", [["if-mib"], ["system", "if-mib"]])
async def test_damaged_readings_take_the_same_road(profiles: list[str]) -> None:
    loaded = load_profiles(profiles)
    fast = await poll("sw", FakeSnmpClient(damaged_if_mib()), PollPlan(loaded),
                      {"device": "sw"}, now=1.0)
    general = await poll("sw", FakeSnmpClient(damaged_if_mib()), PollPlan(loaded, fast=False),
                         {"device": "sw"}, now=1.0)
    same(fast, general)
    # and what a user sees: the exact 64-bit counter, text numbers read, junk dropped
    octets = {s.labels["if_index"]: s.value for s in fast.samples
              if s.name == "if_hc_in_octets_total"}
    assert octets == {"1": 2**64 - 1, "2": 12.5}
    port2 = next(c for c in fast.components if c.component == "port eth0")
    assert port2.status == "failed"


def test_unavailable_values_and_offsets_in_a_fast_column() -> None:
    definition: dict[str, Any] = {
        "name": "t", "tables": [{
            "name": "rows", "index": [{"label": "i"}],
            "metrics": [
                {"name": "a_celsius", "oid": "1.3.6.1.4.1.9.1.1", "scale": 0.1, "offset": -2,
                 "unavailable": [-1]},
                {"name": "b", "oid": "1.3.6.1.4.1.9.1.2", "enum": {1: "on", 2: "off"},
                 "unavailable": [0]},
            ],
            "component": "row {i}",
            "status": [{"when": {"metric": "b", "in": ["off"]}, "status": "failed"}],
        }]}
    profile = Profile(parse_profile(definition))
    walked = {"1.3.6.1.4.1.9.1.1": [("1", 215), ("2", -1), ("3", 7)],
              "1.3.6.1.4.1.9.1.2": [("1", 2), ("2", 0), ("3", 1)]}
    fast = PollPlan([profile]).map({}, walked, {"device": "d"}, 0.0)
    general = PollPlan([profile], fast=False).map({}, walked, {"device": "d"}, 0.0)
    assert fast == general
    samples, statuses, _ = fast
    assert [(s.name, s.labels["i"], s.value) for s in samples] == [
        ("a_celsius", "1", 19.5), ("a_celsius", "3", -1.3), ("b", "1", 2), ("b", "3", 1)]
    assert [(c.component, c.status) for c in statuses] == [
        ("row 1", "failed"), ("row 2", "unknown"), ("row 3", "ok")]


def test_compiled_rules_answer_what_the_rule_tree_answers() -> None:
    """Every status rule of every shipped profile, compiled once (`compile_when`), against
    the reference walk over the tree (`_eval`), for readings present, missing, in and out
    of each rule's sets and thresholds."""
    import random

    from collector.profile import _eval, compile_when, rule_metric_names

    rng = random.Random(7)
    checked = 0
    for profile in load_profiles(sorted(known_profiles())):
        d = profile.definition
        rules = [*d.status, *(r for t in d.tables for r in t.status)]
        enums = {m.key: m.enum for m in [*d.scalars, *(m for t in d.tables for m in t.metrics)]
                 if m.enum}
        for rule in rules:
            test = compile_when(rule.when)
            metrics = rule_metric_names(rule.when)
            for _ in range(200):
                values: dict[str, float] = {}
                names: dict[str, str] = {}
                for metric in metrics:
                    if rng.random() < 0.15:
                        continue  # missing
                    enum = enums.get(metric)
                    if enum and rng.random() < 0.8:
                        raw = rng.choice([*enum, 99])
                        values[metric] = raw
                        if raw in enum:
                            names[metric] = enum[raw]
                    else:
                        values[metric] = rng.choice([0, 1, 2, 5, 10, 40, 75, 100, 101, 1e6,
                                                     rng.uniform(-50, 500)])
                assert test(values, names) == _eval(rule.when, values, names), (rule, values)
                checked += 1
    assert checked > 2000


async def test_a_row_whose_labels_did_not_change_keeps_its_labels_dict() -> None:
    """/metrics checks that a device's series did not change by comparing label dicts, and
    identical ones compare without a look inside: the plan hands an unchanged row the dict
    it gave last poll. A changed row gets a new one, and the last poll's samples keep
    theirs."""
    plan = PollPlan(load_profiles(["if-mib"]))
    base = {"device": "sw"}
    first = await poll("sw", FakeSnmpClient(damaged_if_mib()), plan, base, now=1.0)
    second = await poll("sw", FakeSnmpClient(damaged_if_mib()), plan, base, now=2.0)
    assert [s.labels for s in first.samples] == [s.labels for s in second.samples]
    assert all(a.labels is b.labels for a, b in zip(first.samples, second.samples, strict=True))
    renamed = damaged_if_mib() | {f"{IFX}.1.2": b"uplink"}
    third = await poll("sw", FakeSnmpClient(renamed), plan, base, now=3.0)
    eth0 = [s.labels for s in first.samples if s.labels.get("if_index") == "2"]
    now = [s.labels for s in third.samples if s.labels.get("if_index") == "2"]
    assert eth0 and all(labels["if_name"] == "eth0" for labels in eth0)
    assert now and all(labels["if_name"] == "uplink" for labels in now)
    lo = [(a.labels, b.labels) for a, b in zip(second.samples, third.samples, strict=True)
          if a.labels.get("if_index") == "1"]
    assert lo and all(a is b for a, b in lo)
