"""Hostile Modbus answers, sent byte by byte by a TCP server on loopback: each is refused,
counted under its reason, named in the poll's message, and never logged as a traceback."""

from __future__ import annotations

import logging
import struct

import pytest

from collector.modbus.component import ModbusPolling
from tests.helpers.modbus import Answer, config, hostile_device, mbap

pytestmark = pytest.mark.integration

# every read the power-meter map makes asks input registers (function 4); with max_gap 0
# the first is 3000..3009: 10 registers, 20 bytes
CASES: list[tuple[str, Answer, str, str]] = [
    ("another function", lambda t, u, p: mbap(t, u, bytes([3, 20]) + bytes(20)),
     "wrong_function", "asked function 4, the answer is function 3"),
    ("fewer registers", lambda t, u, p: mbap(t, u, bytes([4, 4]) + bytes(4)),
     "wrong_count", "asked 10 registers (20 bytes); the answer says 4 and carries 4"),
    ("a byte count that lies", lambda t, u, p: mbap(t, u, bytes([4, 200]) + bytes(20)),
     "wrong_count", "the answer says 200 and carries 20"),
    ("an MBAP length past the protocol",
     lambda t, u, p: mbap(t, u, b"\x04\xff" + b"A" * 50, length=60000),
     "bad_length", "MBAP length 60000, outside 2..254"),
    ("another transaction", lambda t, u, p: mbap((t + 1) & 0xFFFF, u, bytes([4, 20]) + bytes(20)),
     "protocol", "an answer to transaction"),
    ("another protocol",
     lambda t, u, p: struct.pack(">HHHB", t, 7, 22, u) + bytes([4, 20]) + bytes(20),
     "protocol", "protocol id 7, not 0"),
    ("another unit", lambda t, u, p: mbap(t, u + 1, bytes([4, 20]) + bytes(20)),
     "wrong_unit", "an answer from unit 2, not 1"),
    ("a frame cut short", lambda t, u, p: mbap(t, u, bytes([4, 20]) + bytes(20))[:12],
     "timeout", "no answer within"),
]


@pytest.mark.parametrize(("answer", "reason", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_a_hostile_answer_is_refused(answer: Answer, reason: str, words: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with hostile_device(answer) as address:
        polling = ModbusPolling(config([{"id": "m", "address": address,
                                         "profile": "power-meter"}], max_gap=0))
        result = await polling.poll("m")
        await polling.stop()
    assert result.error == reason
    assert words in result.message and result.message.startswith("device m: ")
    assert polling.counters.refused == {("m", reason): 1}
    assert result.samples == []
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_an_exception_for_every_read_fails_the_poll() -> None:
    async with hostile_device(lambda t, u, p: mbap(t, u, bytes([p[0] | 0x80, 4]))) as address:
        polling = ModbusPolling(config([{"id": "m", "address": address,
                                         "profile": "power-meter"}]))
        result = await polling.poll("m")
        await polling.stop()
    assert result.error == "exception"
    assert ("device m, input register 3000 (meter_power_watts, profile power-meter): the "
            "device answered exception 4 (server device failure)") in result.message
    # two blocks (3000..3009, 3020..3035), each refused once: exception 4 is not split
    assert polling.counters.refused == {("m", "exception"): 2}
