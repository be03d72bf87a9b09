"""The worked example of docs/profiles.md loads and does what the text says it does."""

from __future__ import annotations

import re

import yaml

from collector.profile import Profile, parse_profile
from collector.profiles import load_profiles
from collector.snmp.client import FakeSnmpClient
from collector.snmp.poller import PollPlan, poll
from tests.helpers.procs import ROOT
from tests.helpers.samples import component, matching, sample_value

DOC = ROOT / "docs" / "profiles.md"


def example() -> Profile:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# Example Corp.*?)```", text, re.S)
    assert block, "the worked example is missing from docs/profiles.md"
    return Profile(parse_profile(yaml.safe_load(block.group(1))))


async def test_worked_example_gives_what_the_text_promises():
    prof = example()
    base = "1.3.6.1.4.1.99999.3.1"
    client = FakeSnmpClient(
        {
            f"{base}.2.1": 123,
            f"{base}.3.1": -1,
            f"{base}.4.1": 3,
            "1.3.6.1.4.1.99999.1.1.0": b"EX-16",
            "1.3.6.1.2.1.1.3.0": 100,
        }
    )
    plan = PollPlan([*load_profiles(["system"]), prof])
    result = await poll("pdu", client, plan, {"device": "pdu"}, now=0.0)
    assert sample_value(result.samples, "pdu_phase_current_amperes", {"phase": "1"}) == 12.3
    assert matching(result.samples, "pdu_phase_volts") == []
    states = matching(result.samples, "pdu_phase_load_state", {"phase": "1"})
    assert {s.labels["state"]: s.value for s in states} == {
        "normal": 0,
        "nearOverload": 0,
        "overload": 1,
    }
    assert component(result, "phase 1").conditions == {"overload"}
    assert component(result, "phase 1").reason == "phase 1 overloaded"
