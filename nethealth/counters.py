"""Counter arithmetic for interface counters: per-second rates from two polls, or why not.

Pure functions: no clock, no state. The stateful part (the previous poll per interface) is
nethealth/traffic.py. The rules, from RFC 2863 (IF-MIB) and RFC 2578 (Counter32/Counter64):

* A counter only goes up; after its maximum it starts again at 0 (a wrap). Counter32 wraps at
  2^32, Counter64 at 2^64. A 64-bit octet counter at 400 Gbit/s wraps after 11 years: a
  64-bit counter that went back was reset (the agent restarted, or a discontinuity), never
  wrapped.
* A counter that went back across a reboot is not a wrap either: after a restart the agent
  counts from 0 (or from anything, RFC 2863 3.1.6: ifCounterDiscontinuityTime). So the first
  poll after a reboot is not counted: it becomes the new baseline. A reboot shows as sysUpTime
  advancing less than the wall clock did between the two polls (allowing `slack` seconds for
  when in the poll it was read), or snmpEngineBoots going up. sysUpTime itself is TimeTicks:
  it wraps after 497.1 days, and a wrap (the old uptime plus the elapsed time crossing 2^32
  hundredths) is not a reboot.
* A 32-bit counter that went back without a reboot wrapped once, if once is possible: when
  the counter's ceiling (octets: the link's speed in bytes per second) is known, the
  increase it implies must fit under the ceiling; without a ceiling (errors, discards) an
  increase of 2^31 or more in one interval is taken as a reset, not a wrap (no port sees two
  thousand million errors between two polls).
* A 32-bit counter whose ceiling lets it wrap within one interval (1 Gbit/s fills 2^32 octets
  in 34 s) may have wrapped more than once unseen: its rate is ambiguous and not reported.
* A missed poll (a timeout in between) just makes the interval longer: the rate is the
  average over it, up to `max_gap` seconds; older baselines are dropped.
* ifHighSpeed 0 means the agent does not know the speed (RFC 2863: an interface slower than
  500 kbit/s, or a virtual one): there is no utilisation, only the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

UPTIME_WRAP_SECONDS = 2**32 / 100.0  # sysUpTime: TimeTicks, hundredths of a second
WRAP = {32: 2**32, 64: 2**64}
# a 32-bit increase at least this large with no ceiling known is a reset, not a wrap
_UNBOUNDED_WRAP_LIMIT = 2**31
# how far above its ceiling an octet rate may read (the counters and the poll's time are
# not read at the same instant) before a wrap that implies it is refused
CEILING_TOLERANCE = 1.10


class Skip(StrEnum):
    """Why two polls gave no rate."""

    FIRST = "first"  # no earlier poll to compare with
    REBOOT = "reboot"  # the device restarted in between: its counters started over
    GAP = "gap"  # the earlier poll is older than max_gap
    CLOCK = "clock"  # the poll's time did not move forward
    RESET = "reset"  # the counter went back and it was no wrap (a discontinuity)
    AMBIGUOUS = "ambiguous"  # a 32-bit counter that may have wrapped more than once


@dataclass(frozen=True, slots=True)
class DevicePoll:
    """What one poll says about the device as a whole."""

    ts: float  # when the poll ran (epoch seconds)
    uptime: float | None = None  # sysUpTime in seconds, as read
    boots: float | None = None  # snmpEngineBoots, as read


def interval(prev: DevicePoll | None, cur: DevicePoll, max_gap: float,
             slack: float = 10.0) -> float | Skip:
    """Seconds between two polls of one device whose counters may be compared, or why not."""
    if prev is None:
        return Skip.FIRST
    seconds = cur.ts - prev.ts
    if seconds <= 0:
        return Skip.CLOCK
    if prev.boots is not None and cur.boots is not None and cur.boots != prev.boots:
        return Skip.REBOOT
    if prev.uptime is not None and cur.uptime is not None:
        expected = prev.uptime + seconds
        if cur.uptime < expected - slack:
            wrapped = expected - UPTIME_WRAP_SECONDS
            if not (expected >= UPTIME_WRAP_SECONDS - slack and abs(cur.uptime - wrapped) <= slack):
                return Skip.REBOOT
    if seconds > max_gap:
        return Skip.GAP
    return seconds


def increase(prev: int, cur: int, bits: int, seconds: float,
             ceiling: float | None = None) -> int | Skip:
    """How much a counter counted in `seconds`, or why that cannot be told.

    `ceiling`: the most it can count per second (octets: the link speed in bytes/s)."""
    wrap = WRAP[bits]
    if not (0 <= prev < wrap and 0 <= cur < wrap):
        return Skip.RESET  # not a value this counter can hold: refuse, never guess
    could_lap = bits == 32 and ceiling is not None and ceiling * seconds >= wrap
    if cur >= prev:
        return Skip.AMBIGUOUS if could_lap else cur - prev
    if bits == 64:
        return Skip.RESET
    counted = cur + wrap - prev
    if could_lap:
        return Skip.AMBIGUOUS
    if ceiling is not None:
        if counted > ceiling * seconds * CEILING_TOLERANCE:
            return Skip.RESET
    elif counted >= _UNBOUNDED_WRAP_LIMIT:
        return Skip.RESET
    return counted


def rate(prev: int, cur: int, bits: int, seconds: float,
         ceiling: float | None = None) -> float | Skip:
    """Per-second rate of a counter between two polls `seconds` apart, or why not."""
    counted = increase(prev, cur, bits, seconds, ceiling)
    return counted if isinstance(counted, Skip) else counted / seconds


def utilisation(bytes_per_second: float, speed_bytes: float | None) -> float | None:
    """Share of the link's speed in use, or None when the speed is unknown (ifHighSpeed 0)."""
    if speed_bytes is None or speed_bytes <= 0:
        return None
    return bytes_per_second / speed_bytes
