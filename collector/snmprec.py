"""Reading .snmprec data files (the format snmpsim records and serves).

One line per OID: `OID|TAG|VALUE`, TAG the BER tag number of the type (2 INTEGER, 4 OCTET
STRING, 5 NULL, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks,
68 Opaque, 70 Counter64); `4x` means the value is hex (`64x` an IpAddress as four hex
bytes, as snmpsim records it). A tag may carry a variation, `TAG:NAME|PARAMS`, that makes
the value move with time; the simulator knows two:

* `67:uptime|BASE` - TimeTicks counting up from BASE since the simulator started;
* `TAG:numeric|initial=V,rate=R,wave=A,period=P,min=LO,max=HI` - V plus R per second
  (counters), plus a sine of amplitude A and period P seconds (temperatures, loads),
  clamped to [LO, HI], wrapping counters at their width.

snmpsim's `writecache` variation (`TAG:writecache|value=V`: a value an SNMP SET may change)
is read as the static value V: recordings from snmpsim-data carry it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

TAGS = {2, 4, 5, 6, 64, 65, 66, 67, 68, 70}
COUNTER_WRAP = {65: 2**32, 70: 2**64}


class SnmprecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Entry:
    oid: tuple[int, ...]
    tag: int
    value: int | bytes | str | None
    variation: str | None = None
    params: tuple[tuple[str, float], ...] = ()

    def at(self, elapsed: float) -> int | bytes | str | None:
        """The value this entry shows `elapsed` seconds after the simulator started."""
        if self.variation is None:
            return self.value
        p = dict(self.params)
        if self.variation == "uptime":
            base = int(self.value or 0)
            return (base + int(elapsed * 100)) % 2**32
        # numeric
        value = p.get("initial", float(self.value or 0))
        value += p.get("rate", 0.0) * elapsed
        amplitude = p.get("wave", 0.0)
        if amplitude:
            value += amplitude * math.sin(2 * math.pi * elapsed / p.get("period", 600.0))
        if "min" in p:
            value = max(value, p["min"])
        if "max" in p:
            value = min(value, p["max"])
        number = round(value)
        wrap = COUNTER_WRAP.get(self.tag)
        return number % wrap if wrap else number


def parse_line(line: str, where: str) -> Entry | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split("|", 2)
    if len(parts) != 3:
        raise SnmprecError(f"{where}: expected OID|TAG|VALUE")
    oid_text, tag_text, raw = parts
    try:
        oid = tuple(int(x) for x in oid_text.strip(".").split("."))
    except ValueError:
        raise SnmprecError(f"{where}: bad OID {oid_text!r}") from None
    tag_text, _, variation = tag_text.partition(":")
    hex_value = tag_text.endswith("x")
    try:
        tag = int(tag_text.rstrip("x"))
    except ValueError:
        raise SnmprecError(f"{where}: bad tag {tag_text!r}") from None
    if tag not in TAGS:
        raise SnmprecError(f"{where}: unsupported tag {tag}")
    if variation == "writecache":
        key, eq, value = raw.partition("=")
        if key.strip() != "value" or not eq:
            raise SnmprecError(f"{where}: writecache needs value=V")
        return Entry(oid, tag, _value(tag, value, hex_value, where))
    if variation:
        if variation not in ("uptime", "numeric"):
            raise SnmprecError(f"{where}: unknown variation {variation!r}")
        params: list[tuple[str, float]] = []
        base: int | None = None
        for item in raw.split(","):
            key, eq, val = item.partition("=")
            try:
                if eq:
                    params.append((key.strip(), float(val)))
                elif item.strip():
                    base = int(item)
            except ValueError:
                raise SnmprecError(f"{where}: bad variation parameter {item!r}") from None
        return Entry(oid, tag, base, variation, tuple(params))
    return Entry(oid, tag, _value(tag, raw, hex_value, where))


def _value(tag: int, raw: str, hex_value: bool, where: str) -> int | bytes | str | None:
    try:
        if tag in (4, 68):
            return bytes.fromhex(raw) if hex_value else raw.encode("utf-8")
        if tag == 5:
            return None
        if tag == 64 and hex_value:
            quad = bytes.fromhex(raw)
            if len(quad) != 4:
                raise ValueError(raw)
            return ".".join(str(b) for b in quad)
        if tag in (6, 64):
            return raw.strip(".")
        return int(raw)
    except ValueError:
        raise SnmprecError(f"{where}: bad value {raw!r} for tag {tag}") from None


def load(path: Path) -> dict[tuple[int, ...], Entry]:
    entries: dict[tuple[int, ...], Entry] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        entry = parse_line(line, f"{path}:{number}")
        if entry is not None:
            entries[entry.oid] = entry
    return entries
