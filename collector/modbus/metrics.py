"""The Modbus collector's own series: requests, registers read, and every refusal by reason
(an exception answer, a wrong function code or count, a value out of range ...)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric


class ModbusCounters:
    def __init__(self) -> None:
        self.refused: Counter[tuple[str, str]] = Counter()  # (device, reason)
        self.requests: Counter[str] = Counter()
        self.registers: Counter[str] = Counter()

    def refuse(self, device: str, reason: str) -> None:
        self.refused[(device, reason)] += 1


class ModbusCollector:
    def __init__(self, counters: ModbusCounters) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        refused = CounterMetricFamily(
            "tierwatch_modbus_refused", "Modbus answers or values refused, by reason "
            "(exception, wrong_function, wrong_count, bad_register, timeout, connection, "
            "protocol, not_finite, out_of_range)", labels=["device", "reason"])
        for (device, reason), count in sorted(self.counters.refused.items()):
            refused.add_metric([device, reason], count)
        yield refused
        registers = CounterMetricFamily(
            "tierwatch_modbus_registers_read", "Registers (and bits) read from each Modbus "
            "device", labels=["device"])
        for device, count in sorted(self.counters.registers.items()):
            registers.add_metric([device], count)
        yield registers
