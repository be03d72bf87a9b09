"""Registers to numbers and back, and the reads a register map needs. Pure functions.

Modbus moves 16-bit registers, each sent high byte first. A 32-bit value takes two
registers; which one holds the high word is the device's choice (`word_order`), and a few
devices also swap the bytes inside each register (`byte_order`). Decoding with the wrong
order gives a number, not an error: that is why registers carry a plausible `range` and
the poller refuses what falls outside it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from collector.modbus.profile import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    RegisterDef,
)
from collector.profile import split_scale

_FORMATS = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "float32": ">f"}


def _swap(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def _ordered(words: Sequence[int], word_order: str, byte_order: str) -> list[int]:
    """The words as the big-endian layout (AB CD) reads them."""
    out = list(words) if word_order == "big" else list(reversed(words))
    return [_swap(w) for w in out] if byte_order == "little" else out


def decode(words: Sequence[int], value_type: str, word_order: str = "big",
           byte_order: str = "big") -> float:
    """The raw number held in `words` (registers as 0..65535). Raises ValueError for a
    word that is not a register value or a count that does not fit the type."""
    fmt = _FORMATS[value_type]
    need = struct.calcsize(fmt) // 2
    if len(words) != need:
        raise ValueError(f"{value_type} takes {need} registers, got {len(words)}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError("a register value outside 0..65535")
    raw = struct.pack(f">{need}H", *_ordered(words, word_order, byte_order))
    return float(struct.unpack(fmt, raw)[0])


def encode(value: float, value_type: str, word_order: str = "big",
           byte_order: str = "big") -> list[int]:
    """The registers a device would send for `value` (the simulator's side)."""
    fmt = _FORMATS[value_type]
    need = struct.calcsize(fmt) // 2
    number: float | int = value if value_type == "float32" else round(value)
    words = list(struct.unpack(f">{need}H", struct.pack(fmt, number)))
    # _ordered is its own inverse for both orders
    return _ordered(words, word_order, byte_order)


@dataclass(frozen=True)
class Reading:
    """A register's value as the profile reads it: `value` (scaled), or why there is none."""

    value: float | None
    raw: float | None
    problem: str | None = None  # a sentence: refused (out of range, not finite)
    reason: str | None = None  # its counter label: out_of_range, not_finite


def reading(register: RegisterDef, raw: float) -> Reading:
    """Apply the profile to a raw number: unavailable markers, scale and offset, range."""
    if register.unavailable and raw in register.unavailable:
        return Reading(None, raw)
    if not math.isfinite(raw):
        return Reading(None, raw, f"{register.type} is {raw} (not a number: check "
                                  f"word_order/byte_order)", "not_finite")
    if register.type == "float32" and raw != 0.0 and abs(raw) < 1.1754943508222875e-38:
        # a subnormal float: no meter sends one; the words came in another order
        return Reading(None, raw, f"float32 {raw:.6g} is subnormal (check word_order/"
                                  f"byte_order)", "out_of_range")
    mul, div = split_scale(register.scale)  # 900 x 0.001 is 900 / 1000 = 0.9 exactly
    value = raw * mul / div + register.offset
    if register.range is not None:
        low, high = register.range
        if not low <= value <= high:
            return Reading(None, raw, f"value {value:.6g} outside its range {low:g}..{high:g}"
                                      + (" (check word_order/byte_order)"
                                         if register.width == 2 else ""), "out_of_range")
    return Reading(value, raw)


# --------------------------------------------------------------------------- read plan


@dataclass(frozen=True)
class Block:
    """One read request: `count` registers (or bits) of `function` from `start`, and the
    registers of the map it carries."""

    function: str
    start: int
    count: int
    members: tuple[RegisterDef, ...]

    def words_of(self, register: RegisterDef, words: Sequence[int]) -> Sequence[int]:
        at = register.address - self.start
        return words[at:at + register.width]


def plan_reads(registers: Sequence[RegisterDef], max_gap: int = 8) -> list[Block]:
    """The fewest reads that cover every register: registers of one function table merged
    while the hole between them is at most `max_gap` and the read stays within the protocol's
    limit (125 registers, 2000 bits)."""
    blocks: list[Block] = []
    by_function: dict[str, list[RegisterDef]] = {}
    for register in registers:
        by_function.setdefault(register.function, []).append(register)
    for function, members in by_function.items():
        limit = MAX_BITS_PER_READ if function in ("coil", "discrete") else MAX_REGISTERS_PER_READ
        members.sort(key=lambda r: (r.address, r.width))
        current: list[RegisterDef] = []
        start = end = 0
        for register in members:
            r_end = register.address + register.width
            if current and (register.address - end <= max_gap
                            and max(end, r_end) - start <= limit):
                current.append(register)
                end = max(end, r_end)
                continue
            if current:
                blocks.append(Block(function, start, end - start, tuple(current)))
            current, start, end = [register], register.address, r_end
        if current:
            blocks.append(Block(function, start, end - start, tuple(current)))
    return blocks
