"""Stable hashes of names: the same key gives the same number on every host, in every
process and after every restart (Python's `hash()` of a str is salted per process).

Two splits read them: the shards of a site (tierwatch/sharding.py: rendezvous hashing of
device ids over the shards) and the poll workers of one instance
(collector/snmp/workershare.py: devices in the order of their hash, dealt to workers).
"""

from __future__ import annotations

import hashlib


def stable_hash(key: str) -> int:
    """A 64-bit unsigned hash of `key` (BLAKE2b, 8 octets, big-endian)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


def weight(bucket: int, key: str) -> int:
    """Rendezvous weight of `key` for `bucket`: the bucket scoring highest owns the key."""
    return stable_hash(f"{bucket}\x00{key}")


def rendezvous_owner(key: str, count: int) -> int:
    """The bucket (0..count-1) that scores `key` highest."""
    return max(range(count), key=lambda bucket: weight(bucket, key))
