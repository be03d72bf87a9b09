"""Counter arithmetic against sequences of polls (tests/fixtures/counters, expected values
worked out by hand there), and the edges of one step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nethealth.counters import UPTIME_WRAP_SECONDS, DevicePoll, Skip, increase, interval
from nethealth.traffic import TrafficTracker
from tests.helpers import FIXTURES_DIR
from tierwatch.core.model import PollResult, Sample

SEQUENCES = sorted((FIXTURES_DIR / "counters").glob("*.yaml"))
_FAMILY = {"traffic": "if_traffic_bytes_per_second", "utilisation": "if_utilisation_ratio",
           "errors": "if_errors_per_second", "discards": "if_discards_per_second"}
LABELS = {"device": "sw", "if_index": "7", "if_name": "Gi0/7"}


def _result(poll: dict[str, Any], speed: float) -> PollResult:
    if poll.get("failed"):
        return PollResult("sw", poll["ts"], error="timeout", message="no answer")
    samples = [Sample("snmp_uptime_seconds", {"device": "sw"}, poll["uptime"], poll["ts"])]
    samples += [Sample(name, LABELS, value, poll["ts"]) for name, value in poll["counters"].items()]
    samples.append(Sample("if_speed_bytes", LABELS, speed, poll["ts"]))
    return PollResult("sw", poll["ts"], samples=samples)


@pytest.mark.parametrize("path", SEQUENCES, ids=[p.stem for p in SEQUENCES])
def test_recorded_sequence(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tracker = TrafficTracker(max_gap=600.0)
    for i, poll in enumerate(data["polls"]):
        before = dict(tracker.skipped)
        derived = tracker.observe(_result(poll, data["speed_bytes"]))
        expect = poll["expect"]
        got: dict[str, dict[str, float]] = {}
        for s in derived:
            family = next(k for k, v in _FAMILY.items() if v == s.name)
            got.setdefault(family, {})[s.labels["direction"]] = s.value
            assert s.labels["if_name"] == "Gi0/7" and s.ts == poll["ts"]
        skipped = {reason: n - before.get(("sw", reason), 0)
                   for (_, reason), n in tracker.skipped.items()
                   if n != before.get(("sw", reason), 0)}
        if "skip" in expect:
            assert got == {}, f"poll {i}"
            if expect["skip"] != "none":
                assert skipped == {expect["skip"]: 1}, f"poll {i}"
            else:
                assert skipped == {}
            continue
        want = {k: v for k, v in expect.items() if k != "skipped"}
        assert got.keys() == want.keys(), f"poll {i}"
        for family, directions in want.items():
            assert got[family] == pytest.approx(directions, rel=1e-12), f"poll {i} {family}"
        assert skipped == expect.get("skipped", {}), f"poll {i}"


@pytest.mark.parametrize(("prev", "cur", "bits", "seconds", "ceiling", "want"), [
    (10, 25, 32, 60, None, 15),
    (2**32 - 5, 4, 32, 60, None, 9),                 # one wrap: 4 + 2^32 - (2^32 - 5)
    (2**32 - 1, 0, 32, 60, None, 1),                 # the smallest wrap
    (2**31, 0, 32, 60, None, Skip.RESET),            # a wrap of 2^31 without a ceiling
    (2**31 + 1, 0, 32, 60, None, 2**31 - 1),         # ... just under it is a wrap
    (2**64 - 1, 0, 64, 60, None, Skip.RESET),        # 64-bit never wraps in practice
    (2**64 - 10, 2**64 - 1, 64, 60, None, 9),
    (0, 2**32, 32, 60, None, Skip.RESET),            # not a Counter32 value: refused
    (-1, 5, 64, 60, None, Skip.RESET),
    (100, 200, 32, 60, 125e6, Skip.AMBIGUOUS),       # 1 Gbit/s over 60 s can lap 2^32
    (100, 200, 32, 30, 125e6, 100),                  # 3.75e9 in 30 s cannot
    # 12.5e6 B/s x 300 s = 3.75e9: a wrap implying 4.2e9 (over the speed, 10 % slack): a reset
    (2**32 - 1000, 4_200_000_000, 32, 300, 12.5e6, Skip.RESET),
])
def test_increase(prev: int, cur: int, bits: int, seconds: float, ceiling: float | None,
                  want: int | Skip) -> None:
    assert increase(prev, cur, bits, seconds, ceiling) == want


@pytest.mark.parametrize(("prev", "cur", "want"), [
    (None, DevicePoll(10, 5), Skip.FIRST),
    (DevicePoll(10, 100), DevicePoll(10, 100), Skip.CLOCK),
    (DevicePoll(0, 100), DevicePoll(60, 160), 60),
    (DevicePoll(0, 100), DevicePoll(60, 152), 60),        # read 8 s apart in the polls: slack
    (DevicePoll(0, 100), DevicePoll(60, 140), Skip.REBOOT),
    (DevicePoll(0, 100, boots=3), DevicePoll(60, 160, boots=4), Skip.REBOOT),
    (DevicePoll(0, UPTIME_WRAP_SECONDS - 20), DevicePoll(60, 40), 60),  # sysUpTime wrapped
    (DevicePoll(0, UPTIME_WRAP_SECONDS - 20), DevicePoll(60, 5), Skip.REBOOT),
    (DevicePoll(0, None), DevicePoll(601, None), Skip.GAP),
    (DevicePoll(0, None), DevicePoll(600, None), 600),
])
def test_interval(prev: DevicePoll | None, cur: DevicePoll, want: float | Skip) -> None:
    assert interval(prev, cur, max_gap=600) == want


def test_thresholds_only_where_configured() -> None:
    def thresholds(labels: Any) -> dict[str, float]:
        return {"utilisation": 0.6} if labels.get("if_name") == "Gi0/7" else {}

    tracker = TrafficTracker(600.0, thresholds)
    other = {**LABELS, "if_index": "8", "if_name": "Gi0/8"}

    def poll(ts: float, octets: int) -> PollResult:
        return PollResult("sw", ts, samples=[
            Sample("if_hc_in_octets_total", LABELS, octets, ts),
            Sample("if_hc_in_octets_total", other, octets, ts)])

    assert tracker.observe(poll(0, 0)) == []
    derived = tracker.observe(poll(10, 1000))
    thresholds_seen = [(s.labels["if_name"], s.value) for s in derived
                       if s.name == "if_utilisation_threshold_ratio"]
    assert thresholds_seen == [("Gi0/7", 0.6)]
    rates = sorted((s.labels["if_name"], s.value) for s in derived
                   if s.name == "if_traffic_bytes_per_second")
    assert rates == [("Gi0/7", 100.0), ("Gi0/8", 100.0)]
