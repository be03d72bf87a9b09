"""The SNMP poll schedule: ticks on the interval, skips (never queues) a poll still running,
counts ticks the loop was too busy to serve, stops what is in flight."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from collector.snmp.pollschedule import PollSchedule


class Recorder:
    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.skips: Counter[str] = Counter()
        self.hold: dict[str, asyncio.Event] = {}
        self.cancelled: list[str] = []

    async def run(self, key: str) -> None:
        self.runs[key] += 1
        gate = self.hold.get(key)
        if gate is not None:
            try:
                await gate.wait()
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise

    def skip(self, key: str) -> None:
        self.skips[key] += 1


async def test_each_key_runs_on_its_own_interval_from_its_first_time() -> None:
    rec = Recorder()
    schedule = PollSchedule(rec.run, rec.skip)
    now = asyncio.get_running_loop().time()
    schedule.add("fast", 0.02, now)
    schedule.add("slow", 0.2, now)
    schedule.add("later", 0.02, now + 10)
    schedule.start()
    await asyncio.sleep(0.5)
    await schedule.stop()
    assert rec.runs["fast"] >= 8
    assert 1 <= rec.runs["slow"] <= 4
    assert rec.runs["fast"] > 2 * rec.runs["slow"]
    assert rec.runs["later"] == 0
    assert not rec.skips


async def test_a_poll_still_running_at_its_tick_is_skipped_not_queued() -> None:
    rec = Recorder()
    rec.hold["stuck"] = asyncio.Event()
    schedule = PollSchedule(rec.run, rec.skip)
    now = asyncio.get_running_loop().time()
    schedule.add("stuck", 0.02, now)
    schedule.add("free", 0.02, now)
    schedule.start()
    await asyncio.sleep(0.3)
    assert rec.runs["stuck"] == 1  # no second run piled up behind the first
    assert rec.skips["stuck"] >= 5
    assert rec.skips["free"] == 0 and rec.runs["free"] >= 5
    rec.hold["stuck"].set()  # once it finishes, the next tick runs it again
    await asyncio.sleep(0.1)
    assert rec.runs["stuck"] >= 2
    await schedule.stop()


async def test_ticks_the_loop_was_too_busy_for_are_counted_as_skipped() -> None:
    rec = Recorder()
    schedule = PollSchedule(rec.run, rec.skip)
    schedule.add("d", 0.05, asyncio.get_running_loop().time())
    schedule.start()
    await asyncio.sleep(0.01)
    assert rec.runs["d"] == 1
    time.sleep(0.32)  # the loop is blocked through about six ticks
    await asyncio.sleep(0.01)
    await schedule.stop()
    assert rec.runs["d"] == 2  # one run for the tick that came due, not six
    assert 4 <= rec.skips["d"] <= 7


async def test_stop_cancels_polls_in_flight_and_removed_keys_stop_ticking() -> None:
    rec = Recorder()
    rec.hold["long"] = asyncio.Event()
    schedule = PollSchedule(rec.run, rec.skip)
    now = asyncio.get_running_loop().time()
    schedule.add("long", 0.02, now)
    schedule.add("gone", 0.02, now)
    schedule.start()
    await asyncio.sleep(0.05)
    schedule.remove("gone")
    seen = rec.runs["gone"]
    await asyncio.sleep(0.1)
    assert rec.runs["gone"] == seen
    await schedule.stop()
    assert rec.cancelled == ["long"]
    assert schedule.running == {}
    runs = sum(rec.runs.values())
    await asyncio.sleep(0.06)
    assert sum(rec.runs.values()) == runs  # nothing ticks after stop


async def test_a_key_added_again_ticks_on_its_new_interval_only() -> None:
    rec = Recorder()
    schedule = PollSchedule(rec.run, rec.skip)
    now = asyncio.get_running_loop().time()
    schedule.add("sw", 0.02, now)
    schedule.start()
    await asyncio.sleep(0.05)
    schedule.remove("sw")
    schedule.add("sw", 0.5, asyncio.get_running_loop().time() + 0.3)  # slower, later
    before = rec.runs["sw"]
    await asyncio.sleep(0.2)
    assert rec.runs["sw"] == before  # the old 20 ms ticks are gone
    await asyncio.sleep(0.4)  # its first tick at 0.3 s, the next at 0.8 s
    await schedule.stop()
    assert rec.runs["sw"] == before + 1
