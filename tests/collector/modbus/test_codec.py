"""Registers to numbers: against IEEE 754 bytes written out by hand."""

from __future__ import annotations

import math

import pytest

from collector.modbus.codec import decode, encode, plan_reads, reading
from collector.modbus.profile import ModbusProfileDef, RegisterDef

# (value, type, word order, byte order, the registers on the wire)
TABLE = [
    (230.5, "float32", "big", "big", [0x4366, 0x8000]),      # 0x43668000
    (230.5, "float32", "little", "big", [0x8000, 0x4366]),   # CD AB
    (230.5, "float32", "big", "little", [0x6643, 0x0080]),   # BA DC
    (230.5, "float32", "little", "little", [0x0080, 0x6643]),  # DC BA
    (-1.0, "float32", "big", "big", [0xBF80, 0x0000]),
    (50.0, "float32", "little", "big", [0x0000, 0x4248]),
    (65535, "uint16", "big", "big", [0xFFFF]),
    (-2, "int16", "big", "big", [0xFFFE]),
    (-32768, "int16", "big", "big", [0x8000]),
    (4294967295, "uint32", "big", "big", [0xFFFF, 0xFFFF]),
    (70000, "uint32", "big", "big", [0x0001, 0x1170]),
    (70000, "uint32", "little", "big", [0x1170, 0x0001]),
    (-70000, "int32", "big", "big", [0xFFFE, 0xEE90]),
]


@pytest.mark.parametrize(("value", "kind", "words_order", "bytes_order", "wire"), TABLE)
def test_decode_and_encode_match_the_wire(value: float, kind: str, words_order: str,
                                          bytes_order: str, wire: list[int]) -> None:
    assert decode(wire, kind, words_order, bytes_order) == value
    assert encode(value, kind, words_order, bytes_order) == wire


def test_decode_refuses_a_short_read_and_a_word_out_of_range() -> None:
    with pytest.raises(ValueError, match="takes 2 registers"):
        decode([0x4366], "float32")
    with pytest.raises(ValueError, match=r"outside 0\.\.65535"):
        decode([0x10000], "uint16")


def _register(**kw: object) -> RegisterDef:
    return RegisterDef.model_validate({"name": "x", "address": 0, **kw})


def test_reading_scales_exactly_and_refuses_implausible_values() -> None:
    tenths = _register(type="uint16", scale=0.001, range=[0, 1])
    assert reading(tenths, 900).value == 0.9  # 900 / 1000, not 900 x 0.001
    assert reading(tenths, 1200).reason == "out_of_range"
    hz = _register(type="float32", range=[40, 70])
    assert reading(hz, 50.0).value == 50.0
    # 50.0 read high word first when the meter sent it low word first: 0x00004248
    swapped = decode([0x0000, 0x4248], "float32", "big")
    found = reading(hz, swapped)
    assert found.value is None and found.reason == "out_of_range"
    assert "word_order" in (found.problem or "")
    # a subnormal float is refused even where the range would allow it
    assert reading(_register(type="float32"), swapped).reason == "out_of_range"
    assert reading(hz, math.nan).reason == "not_finite"
    marker = _register(type="uint16", unavailable=[65535])
    found = reading(marker, 65535)
    assert found.value is None and found.problem is None


def test_reads_are_merged_within_the_gap_and_the_protocol_limit() -> None:
    regs = [_register(address=a, type="uint16") for a in (0, 1, 5, 30)]
    regs.append(_register(address=10, type="float32", function="input"))
    blocks = plan_reads(regs, max_gap=8)
    assert [(b.function, b.start, b.count, len(b.members)) for b in blocks] == [
        ("holding", 0, 6, 3), ("holding", 30, 1, 1), ("input", 10, 2, 1)]
    # 130 consecutive registers: no read may ask more than 125
    many = [_register(address=a, type="uint16") for a in range(130)]
    assert [(b.start, b.count) for b in plan_reads(many)] == [(0, 125), (125, 5)]


@pytest.mark.parametrize(("register", "message"), [
    ({"function": "coil", "type": "uint16"}, "coils and discrete inputs are type bool"),
    ({"address": 65535, "type": "float32"}, "passes 65535"),
    ({"address": 65536}, "less than or equal to 65535"),
    ({"kind": "counter"}, "must end in _total"),
    ({"type": "float32", "enum": {1: "on"}}, "an enum needs an integer type"),
])
def test_profile_schema_refuses(register: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModbusProfileDef.model_validate({"name": "p", "registers": [
            {"name": "x", "address": 0, **register}]})
