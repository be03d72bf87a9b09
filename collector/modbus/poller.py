"""Register map + client -> samples and component statuses for one Modbus device.

`ModbusPlan` compiles a device's profiles once: the reads (codec.plan_reads), each
register's metric, the status rules. `poll()` is stateless: it reads every block, decodes
each register, refuses what does not decode to a plausible value (named by device, register
and profile, counted by reason) and evaluates the status rules on what is left. A block the
device refuses with "illegal data address" is read again register by register, so the
message names the register the device does not have, not the block it was in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from collector.modbus.client import ModbusClient, ModbusError
from collector.modbus.codec import Block, decode, plan_reads, reading
from collector.modbus.profile import ModbusProfile, RegisterDef
from collector.profile import CompiledRule
from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status

Refused = Callable[[str], None]  # called with the reason of each refusal


@dataclass(frozen=True)
class _Entry:
    register: RegisterDef
    profile: str
    labels: Mapping[str, str]


class ModbusPlan:
    """A device's Modbus profiles compiled into reads and mappings."""

    def __init__(self, profiles: Sequence[ModbusProfile], max_gap: int = 8) -> None:
        self.profiles = list(profiles)
        self.entries: dict[int, _Entry] = {}
        registers: list[RegisterDef] = []
        self.metadata: dict[str, MetricMeta] = {}
        for profile in self.profiles:
            for register in profile.definition.registers:
                self.entries[id(register)] = _Entry(register, profile.name, register.labels)
                registers.append(register)
                help_text = register.help
                if register.enum:
                    states = ", ".join(f"{k}={v}" for k, v in sorted(register.enum.items()))
                    help_text = f"{help_text} ({states})" if help_text else states
                self.metadata.setdefault(register.name, MetricMeta(register.kind, help_text))
        self.blocks: list[Block] = plan_reads(registers, max_gap)

    def split(self, block: Block) -> list[Block]:
        """A block the device refused with "illegal data address" is read in smaller parts
        from now on: first without the holes between its registers (many devices refuse a
        read across unmapped addresses), then register by register (to name the one the
        device does not have)."""
        parts = plan_reads(block.members, max_gap=0)
        if len(parts) == 1:
            parts = [Block(block.function, r.address, r.width, (r,)) for r in block.members]
        if block in self.blocks:
            at = self.blocks.index(block)
            self.blocks[at:at + 1] = parts
        return parts

    def where(self, device: str, register: RegisterDef) -> str:
        """'device gen-1, holding register 1027 (generator_fuel_level_percent, profile
        genset-controller)': how every problem names a register."""
        profile = self.entries[id(register)].profile
        return f"device {device}, {register.where()} ({register.key}, profile {profile})"


async def _read_block(client: ModbusClient, block: Block, device: str, plan: ModbusPlan,
                      problems: list[str], refused: Refused
                      ) -> list[tuple[RegisterDef, list[int]]]:
    """(register, its words) for every register of the block the device gave."""
    try:
        words = await client.read(block.function, block.start, block.count)
    except ModbusError as exc:
        if exc.transport:
            raise
        refused(exc.reason)
        if exc.exception_code == 2 and len(block.members) > 1:
            # read it again in parts (bounded: each split has fewer registers per read)
            out: list[tuple[RegisterDef, list[int]]] = []
            for part in plan.split(block):
                out += await _read_block(client, part, device, plan, problems, refused)
            return out
        for register in block.members:
            problems.append(f"{plan.where(device, register)}: {exc}")
        return []
    return [(r, list(block.words_of(r, words))) for r in block.members]


async def poll(device: str, client: ModbusClient, plan: ModbusPlan,
               base_labels: Mapping[str, str], now: float | None = None,
               refused: Refused = lambda reason: None) -> PollResult:
    started = time.time() if now is None else now
    t0 = time.perf_counter()
    problems: list[str] = []
    got: list[tuple[RegisterDef, list[int]]] = []
    try:
        for block in list(plan.blocks):
            got += await _read_block(client, block, device, plan, problems, refused)
    except ModbusError as exc:
        refused(exc.reason)
        return PollResult(device, started, time.perf_counter() - t0, error=exc.reason,
                          message=f"device {device}: {exc}")
    if not got and problems:  # the device refused every read: nothing of it is known
        return PollResult(device, started, time.perf_counter() - t0, error="exception",
                          message="; ".join(problems))
    samples: list[Sample] = []
    values: dict[str, float] = {}
    names: dict[str, str] = {}
    registers_read = 0
    for register, words in got:
        registers_read += len(words)
        if register.bit:
            raw = float(words[0])
        else:
            try:
                raw = decode(words, register.type, register.word_order, register.byte_order)
            except ValueError as exc:  # the client checked: a defect if it happens
                refused("bad_register")
                problems.append(f"{plan.where(device, register)}: {exc}")
                continue
        found = reading(register, raw)
        if found.problem is not None:
            refused(found.reason or "bad_value")
            problems.append(f"{plan.where(device, register)}: {found.problem}")
            continue
        if found.value is None:
            continue  # the device's own "not measured"
        values[register.key] = found.value
        if register.enum is not None:
            name = register.enum.get(int(raw))
            if name is not None:
                names[register.key] = name
        labels = {**base_labels, **register.labels} if register.labels else base_labels
        samples.append(Sample(register.name, labels, found.value, started))
    components = [_status(p, values, names) for p in plan.profiles
                  if p.definition.component and p.rules]
    return PollResult(device, started, time.perf_counter() - t0, samples=samples,
                      components=components, varbinds=registers_read,
                      message="; ".join(problems), metadata=plan.metadata)


def _status(profile: ModbusProfile, values: Mapping[str, float], names: Mapping[str, str]
            ) -> ComponentStatus:
    """The profile's component: the worst status its rules give (unknown when none could
    be evaluated: the registers they read were refused or missing)."""
    component = profile.definition.component
    assert component is not None
    status, reasons, conditions, evaluated = Status.OK, [], set(), False
    rule: CompiledRule
    for rule in profile.rules:
        hit = rule.matches(values, names)
        if hit is None:
            continue
        evaluated = True
        if not hit:
            continue
        found = Status(rule.status)
        if found.severity > status.severity:
            status = found
        if rule.condition:
            conditions.add(rule.condition)
        reasons.append(rule.reason or rule.status)
    if not evaluated:
        return ComponentStatus(component, Status.UNKNOWN, "no data for its status rules")
    return ComponentStatus(component, status, "; ".join(dict.fromkeys(reasons)),
                           frozenset(conditions))
