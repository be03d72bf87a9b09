"""A recorded walk of a device, read from a file, and an agent that answers from it offline.

Two formats, told apart by their first OID line:

* `.snmprec` (what snmpsim records and serves, collector/snmprec.py): `OID|TAG|VALUE`;
* Net-SNMP tool output with numeric OIDs (`snmpwalk -On`, `snmpbulkwalk -On`, any of
  `-Oe -Ot -Ox`): `.1.3.6.1.2.1.1.5.0 = STRING: "ups-a"`. `iso.3.6...` (no MIBs loaded) is
  read as `1.3.6...`; symbolic names (`SNMPv2-MIB::sysName.0`) cannot be, and say so.

A walk file is input from outside like any answer from the network: lines that cannot be
read are skipped and listed (file:line: why), never fatal; the file's size is bounded.
`RecordedAgent` serves the values through the SNMP client seam and remembers every OID a
profile read, so `tierwatch profile test` can say what in the walk no profile used.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from collector import snmprec
from collector.snmp.client import NO_SUCH_OBJECT, Credentials, Target, Value, WalkResult, oid_key

MAX_WALK_BYTES = 256 * 1024 * 1024  # a whole core router's walk is tens of MB
MAX_PROBLEMS = 1000  # lines listed as unreadable; the rest are counted

Format = Literal["snmprec", "snmpwalk"]


class WalkFileError(Exception):
    """A walk file that cannot be used at all (missing, too large, no OID line)."""


@dataclass
class Walk:
    values: dict[str, Value]  # dotted OID (no leading dot) -> the seam's plain value
    types: dict[str, str]  # dotted OID -> SNMP type name (INTEGER, OCTET STRING ...)
    source: str
    format: Format
    problems: list[str] = field(default_factory=list)  # file:line: why it was skipped
    skipped: int = 0  # lines skipped (problems lists the first MAX_PROBLEMS)

    def problem(self, text: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


_TAG_TYPES = {2: "INTEGER", 4: "OCTET STRING", 5: "NULL", 6: "OBJECT IDENTIFIER",
              64: "IpAddress", 65: "Counter32", 66: "Gauge32", 67: "TimeTicks", 68: "Opaque",
              70: "Counter64"}
_SNMPREC_LINE = re.compile(r"^\.?\d+(\.\d+)*\|")
_NETSNMP_LINE = re.compile(r"^(\.?\d+(\.\d+)+|iso(\.\d+)+|[A-Za-z][\w-]*::\S+) = ")


def read_walk(path: Path | str, max_bytes: int = MAX_WALK_BYTES) -> Walk:
    """The walk in `path`, whichever of the two formats it is in."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise WalkFileError(f"{path}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise WalkFileError(f"{path}: {size} bytes, more than the {max_bytes} a walk may have")
    text = path.read_bytes().decode("utf-8", errors="replace")
    return parse_walk(text, str(path))


def parse_walk(text: str, source: str = "<walk>") -> Walk:
    lines = text.splitlines()
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if _SNMPREC_LINE.match(stripped):
            return _parse_snmprec(lines, source)
        if _NETSNMP_LINE.match(stripped):
            return _parse_netsnmp(lines, source)
        break
    raise WalkFileError(f"{source}: neither .snmprec (OID|TAG|VALUE) nor snmpwalk -On "
                        f"output (.OID = TYPE: VALUE)")


def _parse_snmprec(lines: Sequence[str], source: str) -> Walk:
    walk = Walk({}, {}, source, "snmprec")
    for number, line in enumerate(lines, 1):
        where = f"{source}:{number}"
        try:
            entry = snmprec.parse_line(line, where)
        except snmprec.SnmprecError as exc:
            walk.problem(str(exc))
            continue
        if entry is None:
            continue
        key = ".".join(map(str, entry.oid))
        walk.values[key] = _wire(entry.tag, entry.at(0.0))
        walk.types[key] = _TAG_TYPES.get(entry.tag, str(entry.tag))
    return walk


def _wire(tag: int, value: int | bytes | str | None) -> Value:
    """A recorded value in the seam's plain types, cut to its type's width as an agent
    would encode it."""
    if tag in (4, 68):
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    if tag == 5 or value is None:
        return None
    if tag in (6, 64):
        return str(value).strip(".")
    number = int(value)
    if tag in (65, 67):
        return number % 2**32
    if tag == 66:
        return max(0, min(number, 2**32 - 1))
    if tag == 70:
        return number % 2**64
    return number


# --------------------------------------------------------------------------- Net-SNMP


_INTEGER_TYPES = {"INTEGER": "INTEGER", "Integer32": "INTEGER", "Counter32": "Counter32",
                  "Gauge32": "Gauge32", "Counter64": "Counter64", "UInteger32": "Gauge32",
                  "Unsigned32": "Gauge32", "Timeticks": "TimeTicks", "Counter": "Counter32",
                  "Gauge": "Gauge32"}
_ENUM_NUMBER = re.compile(r"^[A-Za-z][\w-]*\((-?\d+)\)")
_TICKS = re.compile(r"^\((\d+)\)")


def _netsnmp_oid(text: str) -> str | None:
    if text.startswith("iso."):
        text = "1." + text[4:]
    text = text.lstrip(".")
    if re.fullmatch(r"\d+(\.\d+)+", text):
        return text
    return None


def _parse_netsnmp(lines: Sequence[str], source: str) -> Walk:
    """snmpwalk output: one varbind per `OID = TYPE: VALUE` line; quoted strings and hex
    strings may go on over the lines that follow."""
    walk = Walk({}, {}, source, "snmpwalk")
    entries: list[tuple[int, str, list[str]]] = []
    for number, line in enumerate(lines, 1):
        if _NETSNMP_LINE.match(line):
            oid_text, _, rest = line.partition(" = ")
            entries.append((number, oid_text, [rest]))
        elif entries and _continues(entries[-1][2], line):
            entries[-1][2].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            walk.problem(f"{source}:{number}: not a varbind line")
    for number, oid_text, parts in entries:
        where = f"{source}:{number}"
        oid = _netsnmp_oid(oid_text)
        if oid is None:
            walk.problem(f"{where}: {oid_text!r} is not a numeric OID (record with "
                         f"snmpwalk -On)")
            continue
        try:
            parsed = _netsnmp_value(parts)
        except ValueError as exc:
            walk.problem(f"{where}: {exc}")
            continue
        if parsed is None:  # No Such Object / endOfMibView lines: nothing recorded
            continue
        walk.values[oid], walk.types[oid] = parsed
    return walk


def _continues(parts: list[str], line: str) -> bool:
    """Whether `line` goes on with the varbind so far: a quoted string whose closing quote
    has not come yet, or a hex string wrapped over lines."""
    text = "\n".join(parts)
    kind, sep, body = text.partition(": ")
    quoted = body if sep else text
    if quoted.startswith('"') and not _quote_closed(quoted):
        return True
    return kind == "Hex-STRING" and re.fullmatch(r"[0-9A-Fa-f ]+", line.strip()) is not None


def _quote_closed(text: str) -> bool:
    if not text.startswith('"'):
        return True
    body = text[1:]
    escaped = False
    for char in body:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return True
    return False


def _netsnmp_value(parts: list[str]) -> tuple[Value, str] | None:
    text = "\n".join(parts).strip()
    if text.startswith(("No Such Object", "No Such Instance", "No more variables")):
        return None
    if text == '""':
        return b"", "OCTET STRING"
    if text == "NULL":
        return None, "NULL"
    kind, sep, body = text.partition(": ")
    if not sep:
        if re.fullmatch(r"-?\d+", text):  # -Ot prints TimeTicks as a bare number
            return int(text), "TimeTicks"
        if text.endswith(":") and text[:-1] in ("STRING", "Hex-STRING"):
            return b"", "OCTET STRING"
        if text.startswith('"'):
            return _unquote(text).encode("utf-8"), "OCTET STRING"
        raise ValueError(f"cannot read value {text[:60]!r}")
    body = body.strip()
    if kind in ("STRING", "OPAQUE", "Opaque"):
        return _unquote(body).encode("utf-8"), "OCTET STRING"
    if kind in ("Hex-STRING", "BITS"):
        hex_part = re.sub(r"\s+", "", body.split("  ")[0] if kind == "BITS" else body)
        try:
            return bytes.fromhex(hex_part), "OCTET STRING"
        except ValueError:
            raise ValueError(f"bad hex string {body[:60]!r}") from None
    if kind in _INTEGER_TYPES:
        ticks = _TICKS.match(body)
        enum = _ENUM_NUMBER.match(body)
        token = ticks.group(1) if ticks else enum.group(1) if enum else body.split()[0]
        try:
            return int(token), _INTEGER_TYPES[kind]
        except ValueError:
            # a DISPLAY-HINT rendered it ("23.4"): the raw integer is not in the text
            raise ValueError(f"{kind} {body[:40]!r} is not a plain integer (record without "
                             f"MIBs, or with -Oe -Ot)") from None
    if kind == "OID":
        oid = _netsnmp_oid(body.split()[0])
        if oid is None:
            raise ValueError(f"OID value {body[:60]!r} is not numeric (record with -On)")
        return oid, "OBJECT IDENTIFIER"
    if kind == "IpAddress":
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", body):
            raise ValueError(f"bad IpAddress {body!r}")
        return body, "IpAddress"
    if kind == "Network Address":
        octets = body.split(":")
        try:
            return ".".join(str(int(o, 16)) for o in octets), "IpAddress"
        except ValueError:
            raise ValueError(f"bad Network Address {body!r}") from None
    raise ValueError(f"unknown type {kind!r}")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text.replace('\\"', '"').replace("\\\\", "\\")


# --------------------------------------------------------------------------- the agent


class RecordedAgent:
    """The SNMP client seam answering from a recorded walk, offline; remembers what was
    read (asked by GET, or under a walked root)."""

    def __init__(self, recording: Walk, target: Target | None = None) -> None:
        self.recording = recording
        self.target = target or Target("walk-file", 0, Credentials(version="2c"))
        self._ordered = sorted(recording.values, key=oid_key)
        self.read: set[str] = set()

    async def get(self, oids: Sequence[str]) -> dict[str, Value]:
        answer: dict[str, Value] = {}
        for oid in oids:
            key = oid.strip(".")
            value = self.recording.values.get(key, NO_SUCH_OBJECT)
            if key in self.recording.values:
                self.read.add(key)
            answer[oid] = value
        return answer

    async def walk(self, roots: Sequence[str]) -> WalkResult:
        result: WalkResult = {}
        for root in roots:
            prefix = root.strip(".") + "."
            rows = []
            for oid in self._subtree(prefix):
                self.read.add(oid)
                rows.append((oid[len(prefix):], self.recording.values[oid]))
            result[root] = rows
        return result

    def _subtree(self, prefix: str) -> Iterable[str]:
        root = prefix.rstrip(".")
        start = bisect.bisect_left(self._ordered, oid_key(root), key=oid_key)
        for oid in self._ordered[start:]:
            if oid.startswith(prefix):
                yield oid
            elif oid != root:  # the subtree is contiguous in OID order: past its end
                break

    async def close(self) -> None:
        return None

    def unread(self) -> list[str]:
        return [oid for oid in self._ordered if oid not in self.read]


def group_oids(oids: Sequence[str], max_groups: int = 40) -> list[tuple[str, int]]:
    """OIDs summarized as (subtree, count): each OID's parent first (a table column, a
    scalar's object), coarser prefixes until at most `max_groups` remain."""
    if not oids:
        return []
    depth = max(len(o.split(".")) for o in oids) - 1
    while True:
        groups: dict[str, int] = {}
        for oid in oids:
            arcs = oid.split(".")
            key = ".".join(arcs[: min(depth, len(arcs) - 1)] or arcs)
            groups[key] = groups.get(key, 0) + 1
        if len(groups) <= max_groups or depth <= 4:
            return sorted(groups.items(), key=lambda kv: oid_key(kv[0]))
        depth -= 1
