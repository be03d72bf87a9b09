"""Scale-out: which instance polls which device (`tierwatch run --shard K/N`).

Rendezvous (highest random weight) hashing: every device scores every shard with a hash of
(shard, device) and goes to the shard that scores highest. It is stable (the same config
gives the same split on every host, after every restart) and moves few devices when the
shard count changes: going from N to N+1 shards moves only the devices the new shard wins,
about 1/(N+1) of them; nothing moves between the old shards.

A shard polls its share of the SNMP devices, host agents and probe targets; an agency site
probed through its edge router goes with the router (the site folds in the router's uplink
statuses, which only the router's shard sees). Every shard serves its own /metrics and
writes its devices' status changes to the shared store; one more instance, `--tier-only`,
polls nothing and runs the Tier engine over the statuses the store holds
(tierwatch/core/storefeed.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tierwatch.core.hashing import rendezvous_owner, weight

if TYPE_CHECKING:
    from tierwatch.config import Config

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 1024


__all__ = ["MAX_SHARDS", "Shard", "owner", "split", "weight"]


def owner(key: str, count: int) -> int:
    """The shard (0..count-1) a device id belongs to."""
    return rendezvous_owner(key, count)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'K/N' -> Shard; ValueError saying what is wrong."""
        match = _SPEC.match(text)
        if not match:
            raise ValueError(f"--shard {text!r}: expected K/N, e.g. 0/2 (shards count from 0)")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise ValueError(f"--shard {text!r}: N must be 1 to {MAX_SHARDS}")
        if index >= count:
            raise ValueError(f"--shard {text!r}: K must be below N (0 to {count - 1})")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def instance(self) -> str:
        """This shard's name in the shared store (heartbeats, who wrote a status)."""
        return f"shard-{self.index}-of-{self.count}"

    def owns(self, key: str) -> bool:
        return owner(key, self.count) == self.index

    def share(self, config: Config) -> Config:
        """The config with only this shard's devices, hosts and probe targets left."""
        probes = config.probes
        return config.model_copy(update={
            "devices": [d for d in config.devices if self.owns(d.id)],
            "agents": config.agents.model_copy(update={
                "hosts": [h for h in config.agents.hosts if self.owns(h.id)]}),
            "probes": probes.model_copy(update={
                "links": [t for t in probes.links if self.owns(t.id)],
                "sites": [s for s in probes.sites if self.owns(s.router or s.id)],
            }),
            "modbus": config.modbus.model_copy(update={
                "devices": [m for m in config.modbus.devices if self.owns(m.id)]}),
        })


def split(keys: Iterable[str], count: int) -> dict[int, list[str]]:
    """Shard -> its keys (for `tierwatch shards` and the tests)."""
    out: dict[int, list[str]] = {i: [] for i in range(count)}
    for key in keys:
        out[owner(key, count)].append(key)
    return out
