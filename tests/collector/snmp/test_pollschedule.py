"""The SNMP poll schedule: ticks on the interval, skips (never queues) a poll still running,
counts ticks the loop was too busy to serve, stops what is in flight.

Time is a fake clock given through the schedule's timer seam: it moves only when a test
moves it, so every count below is exact. Intervals are binary fractions (1/32 s, 1/4 s),
so tick times add up without rounding. Polls still run as tasks on the real event loop;
the fake timer lets them take their turn after each alarm (it yields to the loop, it does
not wait for time).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from collector.snmp.pollschedule import PollSchedule
from tests.helpers.fake_timer import START, FakeTimer


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


def schedule_on(timer: FakeTimer, rec: Recorder) -> PollSchedule:
    return PollSchedule(rec.run, rec.skip, timer=timer)


async def test_each_key_runs_on_its_own_interval_from_its_first_time() -> None:
    timer, rec = FakeTimer(), Recorder()
    schedule = schedule_on(timer, rec)
    schedule.add("fast", 1 / 64, START)
    schedule.add("slow", 1 / 4, START)
    schedule.add("later", 1 / 64, START + 10)
    schedule.start()
    await timer.advance(1.0)
    await schedule.stop()
    assert rec.runs == {"fast": 65, "slow": 5}  # at 0, 1/64 ... 64/64; at 0, 1/4 ... 4/4
    assert not rec.skips


async def test_a_poll_still_running_at_its_tick_is_skipped_not_queued() -> None:
    timer, rec = FakeTimer(), Recorder()
    rec.hold["stuck"] = asyncio.Event()
    schedule = schedule_on(timer, rec)
    schedule.add("stuck", 1 / 32, START)
    schedule.add("free", 1 / 32, START)
    schedule.start()
    await timer.advance(10 / 32)  # ticks at 0, 1/32 ... 10/32: eleven
    assert rec.runs == {"stuck": 1, "free": 11}  # no second run piled up behind the first
    assert rec.skips == {"stuck": 10}
    rec.hold["stuck"].set()  # once it finishes, the next tick runs it again
    await timer.advance(1 / 32)
    assert rec.runs == {"stuck": 2, "free": 12}
    assert rec.skips == {"stuck": 10}
    await schedule.stop()


async def test_ticks_the_loop_was_too_busy_for_are_counted_as_skipped() -> None:
    timer, rec = FakeTimer(), Recorder()
    schedule = schedule_on(timer, rec)
    schedule.add("d", 1 / 16, START)
    schedule.start()
    await timer.advance(0.0)
    assert rec.runs["d"] == 1
    await timer.block(6 / 16)  # the loop is blocked through the ticks at 1/16 ... 6/16
    assert rec.runs["d"] == 2  # one run for the first tick that came due, not six
    assert rec.skips["d"] == 5  # the other five are lost, and said so
    await timer.advance(1 / 16)  # in phase again: the next tick at 7/16
    assert (rec.runs["d"], rec.skips["d"]) == (3, 5)
    await schedule.stop()


async def test_stop_cancels_polls_in_flight_and_removed_keys_stop_ticking() -> None:
    timer, rec = FakeTimer(), Recorder()
    rec.hold["long"] = asyncio.Event()
    schedule = schedule_on(timer, rec)
    schedule.add("long", 1 / 32, START)
    schedule.add("gone", 1 / 32, START)
    schedule.start()
    await timer.advance(2 / 32)
    assert rec.runs == {"long": 1, "gone": 3}
    schedule.remove("gone")
    await timer.advance(4 / 32)
    assert rec.runs["gone"] == 3
    await schedule.stop()
    assert rec.cancelled == ["long"]
    assert schedule.running == {}
    await timer.advance(1.0)
    assert rec.runs == {"long": 1, "gone": 3}  # nothing ticks after stop


async def test_a_key_added_again_ticks_on_its_new_interval_only() -> None:
    timer, rec = FakeTimer(), Recorder()
    schedule = schedule_on(timer, rec)
    schedule.add("sw", 1 / 32, START)
    schedule.start()
    await timer.advance(2 / 32)
    assert rec.runs["sw"] == 3
    schedule.remove("sw")
    schedule.add("sw", 1 / 2, timer.now + 1 / 4)  # slower, later: first at +1/4
    await timer.advance(1 / 8)
    assert rec.runs["sw"] == 3  # the old 1/32 s ticks are gone
    await timer.advance(1 / 2)  # to +5/8: the tick at +1/4 came, the next is at +3/4
    assert rec.runs["sw"] == 4
    await timer.advance(1 / 8)
    assert rec.runs["sw"] == 5
    await schedule.stop()


async def test_without_a_timer_it_runs_on_the_event_loop_clock() -> None:
    """The service's case: no timer given, the loop's own clock and alarms. The first tick
    is due at once, so the test waits for the poll, not for time."""
    rec = Recorder()
    ran = asyncio.Event()

    async def run(key: str) -> None:
        await rec.run(key)
        ran.set()

    schedule = PollSchedule(run, rec.skip)
    schedule.add("d", 3600.0, asyncio.get_running_loop().time())
    schedule.start()
    await asyncio.wait_for(ran.wait(), 10)
    await schedule.stop()
    assert rec.runs == {"d": 1} and not rec.skips
