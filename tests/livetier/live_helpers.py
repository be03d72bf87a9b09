"""Building blocks for live-tier tests: a config with devices bound to a topology, polls as
the collectors would report them, a clock the test moves."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from livetier.engine import LiveTier
from tierwatch.config import Config, parse
from tierwatch.core.model import ComponentStatus, PollResult, Sample, Status, StatusChange
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State
from tierwatch.core.store import Store
from tierwatch.core.timer import Timer

DEVICES = """\
site: {name: Trung tâm dữ liệu thử nghiệm}
credentials:
  sim: {version: 2c, community: public}
devices:
  - {id: ups-a, address: "127.0.0.1:16101", credentials: sim, profile: apc-ups}
  - {id: ups-b, address: "127.0.0.1:16102", credentials: sim, profile: apc-ups}
  - {id: pdu-a, address: "127.0.0.1:16111", credentials: sim, profile: apc-pdu}
  - {id: pdu-b, address: "127.0.0.1:16112", credentials: sim, profile: apc-pdu}
"""

# TIER-MODEL worked example 2, its UPSs bound to devices
EXAMPLE2 = """\
topology:
  power:
    groups:
      - {id: generator, demand: 120}
    nodes:
      - {id: G1, kind: generator, capacity: 150}
      - {id: G2, kind: generator, capacity: 150}
      - {id: SWB-A, kind: switchboard, fed_from: [G1, G2]}
      - {id: SWB-B, kind: switchboard, fed_from: [G1, G2]}
      - {id: UPS-A, kind: ups, capacity: 100, fed_from: [SWB-A], device: ups-a}
      - {id: UPS-B, kind: ups, capacity: 100, fed_from: [SWB-B], device: ups-b}
      - {id: PDU-A, kind: pdu, fed_from: [UPS-A]}
      - {id: PDU-B, kind: pdu, fed_from: [{id: UPS-B, mode: manual}]}
      - {id: R, kind: rack, demand: 80, fed_from: [PDU-A, PDU-B]}
"""


def config(topology: str = EXAMPLE2, extra: str = "") -> Config:
    return parse(DEVICES + textwrap.dedent(extra) + textwrap.dedent(topology)).config


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


OK = ComponentStatus("ups", Status.OK, "")
ON_BATTERY = ComponentStatus("ups", Status.DEGRADED, "on battery", frozenset({"on_battery"}))
BYPASS = ComponentStatus(
    "ups", Status.FAILED, "on bypass (the load is unprotected)", frozenset({"bypass"})
)
OFF = ComponentStatus("ups", Status.FAILED, "output off", frozenset({"off"}))


def poll(
    state: State,
    device: str,
    ts: float,
    *components: ComponentStatus,
    samples: list[Sample] | None = None,
    error: str | None = None,
) -> list[StatusChange]:
    """Fold one poll into the state, as the service does after a collector answers."""
    return state.update(
        PollResult(
            device,
            ts,
            components=list(components),
            samples=samples or [],
            error=error,
            message="no answer" if error else "",
        )
    )


async def start_live(cfg: Config, state: State, store: Store | None = None,
                     clock: Callable[[], float] | None = None, timer: Timer | None = None
                     ) -> tuple[LiveTier, Runtime]:
    """A live tier over `cfg`'s topology, started on a runtime of these parts (the store an
    in-memory one unless given; the debounce on `timer`, the event loop unless given)."""
    rt = Runtime.for_tests(store, state, site=cfg.site, clock=clock or Clock())
    live = LiveTier(cfg.topology, cfg.tier, timer=timer)
    await live.start(rt)
    return live, rt


async def settle(live: object, seq: int, timeout: float = 5.0) -> None:
    """Wait until the live tier has published a snapshot newer than `seq`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        snap = getattr(live, "snapshot", None)
        if snap is not None and snap.seq > seq:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no re-score after seq {seq} within {timeout}s")


Predicate = Callable[[], bool]
