"""The frames between the service and its poll worker processes (collector/snmp/workers.py,
collector/snmp/worker.py), over the worker's stdin and stdout.

A frame is an 8-octet header, then its payload:

    version  u8   WIRE_VERSION; anything else is refused
    kind     u8   one of Kind
    flags    u16  0 (reserved; anything else is refused)
    length   u32  octets of payload, at most MAX_FRAME

Everything is little-endian. Strings are UTF-8 with a u8, u16 or u32 length before them.
The worker is our own code, but it parses what agents send: the service reads what comes
back as it reads the network, length-bounded and strictly parsed (`WireError` names what
was wrong, the service counts it by reason and restarts the worker).

A poll's result travels as a RESULT frame. Its samples are split into a *shape* (each
sample's name and labels, each value's type, the families' HELP and TYPE) and the values:
a device's shape is the same poll after poll, so the worker sends it only when it changed
and otherwise just the values, packed by `struct` in one call. The service keeps each
device's last shape, with one labels dict per table row as the worker had it (the /metrics
templates compare those by identity). Component statuses are sent only when they changed
as well. Every sample of a poll carries the poll's time (collector.snmp.poller.PollPlan.map);
a poll whose values do not fit the packed form (an integer beyond 64 bits, a sample with
its own time) goes as text, value by value.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import repeat
from typing import Any

from tierwatch.core.model import ComponentStatus, MetricMeta, PollResult, Sample, Status

WIRE_VERSION = 1
HEADER = struct.Struct("<BBHI")
MAX_FRAME = 64 * 1024 * 1024  # a poll of max_rows rows of many columns fits; more is refused
MAX_MESSAGE = 4096  # octets of a poll's error message kept
MAX_NAMES = 1024  # profiles of a device, transport counters, ...

_new_tuple = tuple.__new__  # Sample(...) without the generated __new__'s Python frame
_STATUSES = (Status.OK, Status.DEGRADED, Status.FAILED, Status.UNKNOWN)
_STATUS_CODE = {s: i for i, s in enumerate(_STATUSES)}
_U8, _U16, _U32, _U64, _F64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q", "<d"))
_RESULT_HEAD = struct.Struct("<IIddIB")  # device, tag, ts, duration, varbinds, flags
_INT64 = (-(2**63), 2**63)
_TYPE_CODE = {int: "q", float: "d"}
_UINT64_TOP = 2**64


class Kind(IntEnum):
    HELLO = 1  # worker -> service: pid, worker index
    CONFIG = 2  # service -> worker: what to poll (JSON)
    POLL = 3  # service -> worker: poll one device now (tag, device)
    RESULT = 4  # worker -> service: one poll's result
    SKIPPED = 5  # worker -> service: ticks skipped (device, count)
    PROFILES = 6  # worker -> service: a device's profiles, `profile: auto` resolved
    STATS = 7  # worker -> service: the native engine's datagram counters
    STOP = 8  # service -> worker: finish and exit


# every reason a WireError gives (a closed set: each exported from the start)
REFUSAL_REASONS = ("truncated", "oversized", "wrong_version", "malformed", "unknown_kind",
                   "unexpected_kind", "unknown_device", "unknown_shape")


class WireError(ValueError):
    """A frame that is refused; `reason` is a short code for the refusal counter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# RESULT flags
_SHAPE = 1  # a new shape follows
_COMPONENTS = 2  # the components follow (else: the same as the device's last ones)
_TEXT = 4  # the values as text, each with its own time


# --------------------------------------------------------------------------- frames


def frame(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_FRAME:
        raise WireError("oversized", f"a {kind.name} frame of {len(payload)} octets is over "
                                     f"the {MAX_FRAME} limit")
    return HEADER.pack(WIRE_VERSION, kind, 0, len(payload)) + payload


def parse_header(head: bytes) -> tuple[Kind, int]:
    """(kind, payload length) of a frame header, or WireError."""
    if len(head) != HEADER.size:
        raise WireError("truncated", f"a frame header of {len(head)} octets")
    version, kind, flags, length = HEADER.unpack(head)
    if version != WIRE_VERSION:
        raise WireError("wrong_version", f"wire version {version}, expected {WIRE_VERSION}")
    if flags != 0:
        raise WireError("malformed", f"reserved flags {flags:#x} set")
    if length > MAX_FRAME:
        raise WireError("oversized", f"a frame of {length} octets announced (limit "
                                     f"{MAX_FRAME})")
    try:
        return Kind(kind), length
    except ValueError:
        raise WireError("unknown_kind", f"frame kind {kind}") from None


def split_frames(data: bytes) -> list[tuple[Kind, bytes]]:
    """Every frame of a buffer that holds whole frames only (tests, and the worker's reads
    of a few frames at once)."""
    out: list[tuple[Kind, bytes]] = []
    offset = 0
    while offset < len(data):
        kind, length = parse_header(data[offset:offset + HEADER.size])
        start = offset + HEADER.size
        if start + length > len(data):
            raise WireError("truncated", f"a {kind.name} frame of {length} octets with "
                                         f"{len(data) - start} present")
        out.append((kind, data[start:start + length]))
        offset = start + length
    return out


# --------------------------------------------------------------------------- primitives


class _Writer:
    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u8(self, value: int) -> None:
        self.parts.append(_U8.pack(value))

    def u16(self, value: int) -> None:
        self.parts.append(_U16.pack(value))

    def u32(self, value: int) -> None:
        self.parts.append(_U32.pack(value))

    def u64(self, value: int) -> None:
        self.parts.append(_U64.pack(value))

    def f64(self, value: float) -> None:
        self.parts.append(_F64.pack(value))

    def text(self, value: str, width: struct.Struct = _U32) -> None:
        data = value.encode("utf-8", errors="surrogatepass")
        self.parts.append(width.pack(len(data)))
        self.parts.append(data)

    def raw(self, data: bytes) -> None:
        self.parts.append(data)

    def bytes(self) -> bytes:
        return b"".join(self.parts)


class _Reader:
    """Reads a payload front to back; any read past its end, a string that is not UTF-8 or
    octets left over raise WireError."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, fmt: struct.Struct) -> tuple[Any, ...]:
        offset = self.offset
        if offset + fmt.size > len(self.data):
            raise WireError("truncated", f"payload ends at octet {len(self.data)}, "
                                         f"{fmt.size} more needed at {offset}")
        self.offset = offset + fmt.size
        return fmt.unpack_from(self.data, offset)

    def _take(self, fmt: struct.Struct) -> Any:
        return self.take(fmt)[0]

    def u8(self) -> int:
        return int(self._take(_U8))

    def u16(self) -> int:
        return int(self._take(_U16))

    def u32(self) -> int:
        return int(self._take(_U32))

    def u64(self) -> int:
        return int(self._take(_U64))

    def f64(self) -> float:
        return float(self._take(_F64))

    def raw(self, size: int) -> bytes:
        offset = self.offset
        if size < 0 or offset + size > len(self.data):
            raise WireError("truncated", f"{size} octets announced, "
                                         f"{len(self.data) - offset} left")
        self.offset = offset + size
        return self.data[offset:offset + size]

    def text(self, width: struct.Struct = _U32) -> str:
        size = self._take(width)
        try:
            return self.raw(size).decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("malformed", "a string that is not UTF-8") from None

    def count(self, width: struct.Struct, per_item: int, limit: int) -> int:
        """A count of items, each at least `per_item` octets: never more than what is left
        could hold, nor `limit`."""
        n = int(self._take(width))
        if n > limit or n * per_item > len(self.data) - self.offset:
            raise WireError("malformed", f"{n} items announced, more than the payload or "
                                         f"the limit ({limit}) allows")
        return n

    def end(self) -> None:
        if self.offset != len(self.data):
            raise WireError("malformed", f"{len(self.data) - self.offset} octets after the "
                                         f"end of the payload")


# --------------------------------------------------------------------------- small frames


@dataclass(frozen=True)
class Hello:
    pid: int
    index: int


def encode_hello(pid: int, index: int) -> bytes:
    w = _Writer()
    w.u32(pid)
    w.u16(index)
    return frame(Kind.HELLO, w.bytes())


def decode_hello(payload: bytes) -> Hello:
    r = _Reader(payload)
    hello = Hello(r.u32(), r.u16())
    r.end()
    return hello


def encode_config(config: Mapping[str, Any]) -> bytes:
    """What a worker polls, as JSON (from the service to its own child: trusted)."""
    return frame(Kind.CONFIG, json.dumps(config, ensure_ascii=False).encode())


def decode_config(payload: bytes) -> dict[str, Any]:
    try:
        config = json.loads(payload)
    except ValueError:
        raise WireError("malformed", "a CONFIG frame that is not JSON") from None
    if not isinstance(config, dict):
        raise WireError("malformed", "a CONFIG frame that is not a JSON object")
    return config


def encode_poll(tag: int, device: int) -> bytes:
    return frame(Kind.POLL, _U32.pack(tag) + _U32.pack(device))


def decode_poll(payload: bytes) -> tuple[int, int]:
    r = _Reader(payload)
    tag, device = r.u32(), r.u32()
    r.end()
    return tag, device


def encode_skipped(device: int, count: int) -> bytes:
    return frame(Kind.SKIPPED, _U32.pack(device) + _U32.pack(count))


def decode_skipped(payload: bytes) -> tuple[int, int]:
    return decode_poll(payload)  # the same two u32


def encode_profiles(device: int, names: Sequence[str]) -> bytes:
    w = _Writer()
    w.u32(device)
    w.u16(len(names))
    for name in names:
        w.text(name, _U16)
    return frame(Kind.PROFILES, w.bytes())


def decode_profiles(payload: bytes) -> tuple[int, list[str]]:
    r = _Reader(payload)
    device = r.u32()
    names = [r.text(_U16) for _ in range(r.count(_U16, 2, MAX_NAMES))]
    r.end()
    return device, names


def encode_stats(stats: Mapping[str, int]) -> bytes:
    w = _Writer()
    w.u16(len(stats))
    for name, value in stats.items():
        w.text(name, _U8)
        w.u64(value)
    return frame(Kind.STATS, w.bytes())


def decode_stats(payload: bytes) -> dict[str, int]:
    r = _Reader(payload)
    stats: dict[str, int] = {}
    for _ in range(r.count(_U16, 9, MAX_NAMES)):
        name = r.text(_U8)
        stats[name] = r.u64()
    r.end()
    return stats


# --------------------------------------------------------------------------- results


def _value_code(value: object) -> str:
    """q, Q or d for a value the packed form carries exactly; '' for one it cannot."""
    if value.__class__ is float:
        return "d"
    if value.__class__ is int:
        if _INT64[0] <= value < _INT64[1]:
            return "q"
        return "Q" if 0 <= value < _UINT64_TOP else ""
    return ""


class _Shape:
    """A device's samples but for their values: each one's name and labels, the values'
    types (their `struct` format), the families' HELP and TYPE; as sent, or as received."""

    __slots__ = ("codec", "id", "labels", "metadata", "names", "types")

    def __init__(self, shape_id: int, names: Sequence[str],
                 labels: Sequence[Mapping[str, str]], types: str,
                 metadata: Mapping[str, MetricMeta]) -> None:
        self.id = shape_id
        self.names = names
        self.labels = labels
        self.types = types
        self.metadata = metadata
        self.codec = struct.Struct("<" + types)


@dataclass
class ResultEncoder:
    """The worker's side: what it last sent of each device (its shape, its components)."""

    shapes: dict[int, _Shape] = field(default_factory=dict)
    components: dict[int, list[ComponentStatus]] = field(default_factory=dict)
    _next_shape: int = 0

    def encode(self, device: int, result: PollResult, tag: int = 0) -> bytes:
        samples = result.samples
        flags = 0
        shape_part = b""
        values_part: bytes
        if samples:
            names, labels, values, stamps = zip(*samples, strict=True)
            # q for every int, d for every float, in C; "?" for anything else
            types = "".join(map(_TYPE_CODE.get, map(type, values), repeat("?")))
            text = "?" in types or stamps.count(result.ts) != len(stamps)
            # (min and max in C bound every int, floats too: a float or NaN outside the
            # range only sends this poll through the exact check below)
            if not text and "q" in types and not (_INT64[0] <= min(values)
                                                  and max(values) < _INT64[1]) and not all(
                    _INT64[0] <= v < _INT64[1] for v in values if v.__class__ is int):
                # an int beyond int64: u64 where it fits, else the whole poll as text
                types = "".join(map(_value_code, values))
                text = len(types) != len(values)
            if text:
                types = "".join("q" if v.__class__ is int else "d" for v in values)
            last = self.shapes.get(device)
            if (last is None or last.types != types or last.names != names
                    or last.labels != labels or last.metadata is not result.metadata):
                self._next_shape = self._next_shape % 0xFFFFFFFF + 1  # 0 is "no samples"
                last = self.shapes[device] = _Shape(self._next_shape, names, labels,
                                                        types, result.metadata)
                flags |= _SHAPE
                shape_part = _encode_shape(last)
            if text:
                flags |= _TEXT
                values_part = _encode_text_values(values, stamps)
            else:
                values_part = last.codec.pack(*values)
            shape_id = last.id
        else:
            shape_id, values_part = 0, b""
        components = result.components
        if self.components.get(device) != components:
            self.components[device] = list(components)
            flags |= _COMPONENTS
        w = _Writer()
        w.raw(_RESULT_HEAD.pack(device, tag, result.ts, result.duration, result.varbinds,
                                flags))
        w.text(result.error or "", _U8)
        message = result.message.encode("utf-8", errors="replace")[:MAX_MESSAGE]
        w.u16(len(message))
        w.raw(message)
        w.u32(shape_id)
        w.raw(shape_part)
        if flags & _COMPONENTS:
            w.u16(len(components))
            for c in components:
                w.text(c.component, _U16)
                w.u8(_STATUS_CODE[c.status])
                w.text(c.reason, _U32)
                w.u16(len(c.conditions))
                for condition in sorted(c.conditions):
                    w.text(condition, _U16)
                w.u8(1 if c.rollup else 0)
        w.u16(len(result.roles))
        for role, reading in result.roles.items():
            w.text(role, _U8)
            w.f64(reading)
        w.u32(len(samples))
        w.raw(values_part)
        return frame(Kind.RESULT, w.bytes())

    def forget(self) -> None:
        self.shapes.clear()
        self.components.clear()


def _encode_shape(shape: _Shape) -> bytes:
    w = _Writer()
    w.text(shape.types, _U32)
    names: dict[str, int] = {}
    label_sets: dict[int, int] = {}  # id(labels dict) -> its index
    distinct: list[Mapping[str, str]] = []
    order: list[bytes] = []
    for name, labels in zip(shape.names, shape.labels, strict=True):
        n = names.setdefault(name, len(names))
        index = label_sets.get(id(labels))
        if index is None:
            index = label_sets[id(labels)] = len(distinct)
            distinct.append(labels)
        order.append(_U32.pack(n) + _U32.pack(index))
    w.u32(len(names))
    for name in names:
        w.text(name, _U16)
    w.u32(len(distinct))
    for labels in distinct:
        w.u16(len(labels))
        for key, value in labels.items():
            w.text(key, _U16)
            w.text(value, _U32)
    w.raw(b"".join(order))
    w.u32(len(shape.metadata))
    for family, meta in shape.metadata.items():
        w.text(family, _U16)
        w.text(meta.type, _U8)
        w.text(meta.help, _U32)
    return w.bytes()


def _encode_text_values(values: Sequence[object], stamps: Sequence[float]) -> bytes:
    w = _Writer()
    for value, stamp in zip(values, stamps, strict=True):
        w.text(repr(value if value.__class__ is int else float(value)), _U8)  # type: ignore[arg-type]
        w.f64(stamp)
    return w.bytes()


_EMPTY_META: Mapping[str, MetricMeta] = {}


class ResultDecoder:
    """The service's side: each device's last shape and components from one worker; turns
    RESULT payloads back into PollResults with the device's id."""

    def __init__(self, device_ids: Sequence[str]) -> None:
        self.device_ids = list(device_ids)
        self._shapes: dict[int, _Shape] = {}
        self._components: dict[int, list[ComponentStatus]] = {}

    def forget(self) -> None:
        """A new worker process starts from nothing."""
        self._shapes.clear()
        self._components.clear()

    def device(self, index: int) -> str:
        if not 0 <= index < len(self.device_ids):
            raise WireError("unknown_device", f"device {index} of a share of "
                                              f"{len(self.device_ids)}")
        return self.device_ids[index]

    def decode(self, payload: bytes) -> tuple[int, PollResult]:
        """(tag, result), or WireError."""
        r = _Reader(payload)
        device, tag, ts, duration, varbinds, flags = r.take(_RESULT_HEAD)
        device_id = self.device(device)
        if flags & ~(_SHAPE | _COMPONENTS | _TEXT):
            raise WireError("malformed", f"unknown result flags {flags:#x}")
        error = r.text(_U8) or None
        message_size = r.u16()
        if message_size > MAX_MESSAGE:
            raise WireError("malformed", f"a message of {message_size} octets")
        try:
            message = r.raw(message_size).decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("malformed", "a message that is not UTF-8") from None
        shape_id = r.u32()
        shape: _Shape | None
        if flags & _SHAPE:
            if shape_id == 0:
                raise WireError("malformed", "a shape sent as shape 0")
            shape = self._shapes[device] = _decode_shape(r, shape_id)
        elif shape_id == 0:
            shape = None
        else:
            shape = self._shapes.get(device)
            if shape is None or shape.id != shape_id:
                raise WireError("unknown_shape", f"device {device_id}: shape {shape_id} was "
                                                 f"never sent")
        if flags & _COMPONENTS:
            components = self._components[device] = _decode_components(r)
        else:
            known = self._components.get(device)
            if known is None:
                raise WireError("unknown_shape", f"device {device_id}: components were "
                                                 f"never sent")
            components = list(known)
        roles: dict[str, float] = {}
        for _ in range(r.count(_U16, 9, MAX_NAMES)):
            role = r.text(_U8)
            roles[role] = r.f64()
        count = r.u32()
        samples: list[Sample]
        if shape is None:
            if count or flags & _TEXT:
                raise WireError("malformed", f"{count} values without a shape")
            samples = []
            metadata = _EMPTY_META
        else:
            if count != len(shape.names):
                raise WireError("malformed", f"{count} values for a shape of "
                                             f"{len(shape.names)}")
            if flags & _TEXT:
                samples = _decode_text_values(r, shape)
            else:
                values = shape.codec.unpack(r.raw(shape.codec.size))
                # Sample(name, labels, value, ts) for each, without a Python frame per
                # sample (names, labels and values are all the shape's length)
                samples = list(map(_new_tuple, repeat(Sample),
                                   zip(shape.names, shape.labels, values, repeat(ts))))
            metadata = shape.metadata
        r.end()
        result = PollResult(device_id, ts, duration, samples, components, varbinds, error,
                            message, roles, metadata)
        return tag, result


def _decode_shape(r: _Reader, shape_id: int) -> _Shape:
    types = r.text(_U32)
    if types.strip("qQd"):
        raise WireError("malformed", "value types other than q, Q, d")
    n = len(types)
    names = [sys.intern(r.text(_U16)) for _ in range(r.count(_U32, 2, n))]
    label_sets: list[dict[str, str]] = []
    for _ in range(r.count(_U32, 2, n)):
        labels: dict[str, str] = {}
        for _ in range(r.count(_U16, 6, 1 << 16)):
            key = sys.intern(r.text(_U16))
            labels[key] = r.text(_U32)
        label_sets.append(labels)
    order = r.raw(8 * n)
    sample_names: list[str] = []
    sample_labels: list[dict[str, str]] = []
    for name_index, labels_index in struct.iter_unpack("<II", order):
        if name_index >= len(names) or labels_index >= len(label_sets):
            raise WireError("malformed", "a sample naming a name or labels not sent")
        sample_names.append(names[name_index])
        sample_labels.append(label_sets[labels_index])
    metadata: dict[str, MetricMeta] = {}
    for _ in range(r.count(_U32, 7, 1 << 20)):
        family = sys.intern(r.text(_U16))
        metadata[family] = MetricMeta(r.text(_U8), r.text(_U32))
    return _Shape(shape_id, sample_names, sample_labels, types, metadata)


def _decode_components(r: _Reader) -> list[ComponentStatus]:
    out: list[ComponentStatus] = []
    for _ in range(r.count(_U16, 10, 1 << 16)):
        name = r.text(_U16)
        code = r.u8()
        if code >= len(_STATUSES):
            raise WireError("malformed", f"status code {code}")
        reason = r.text(_U32)
        conditions = frozenset(r.text(_U16) for _ in range(r.count(_U16, 2, 1 << 16)))
        rollup = r.u8()
        if rollup > 1:
            raise WireError("malformed", f"rollup {rollup}")
        out.append(ComponentStatus(name, _STATUSES[code], reason, conditions, bool(rollup)))
    return out


def _decode_text_values(r: _Reader, shape: _Shape) -> list[Sample]:
    samples: list[Sample] = []
    for name, labels, code in zip(shape.names, shape.labels, shape.types, strict=True):
        text = r.text(_U8)
        stamp = r.f64()
        try:
            value: float = float(text) if code == "d" else int(text)
        except ValueError:
            raise WireError("malformed", f"value {text[:40]!r} is not a number") from None
        samples.append(Sample(name, labels, value, stamp))
    return samples
