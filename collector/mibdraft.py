"""`tierwatch profile new`: a draft profile written from a MIB compiled with pysmi.

The MIB is read from the directories given (the site's `snmp.mib_dirs`, `--mib-dir`), then
the base MIBs tierwatch ships (collector/mibs: the IETF SMI modules every MIB imports), then
the Net-SNMP MIBs Debian installs (/usr/share/snmp/mibs); nothing is ever downloaded. A MIB
that does not compile is an error that names what is missing and which file wants it.

The draft: for each table asked, its index (from the row's INDEX clause), its first text
column as a label, and one metric per numeric column; for each scalar (or group of scalars)
asked, one metric each. Every metric gets its OID, its SNMP type, enum names, and a
Prometheus name in base units: the UNITS clause (or, without one, the DESCRIPTION's wording)
says the scale and the suffix (kB -> x1024 _bytes, tenths of a degree -> x0.1 _celsius,
percent -> x0.01 _ratio ...); counters end in _total. What the draft cannot know (status
rules, a unit the MIB does not state) is left for a person, said in a comment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.profiles import SHIPPED as SHIPPED_PROFILES

BASE_MIBS = SHIPPED_PROFILES.parent / "mibs"
SYSTEM_MIBS = Path("/usr/share/snmp/mibs")  # Debian's libsnmp-base: Net-SNMP's own MIBs


class MibError(Exception):
    """A MIB that cannot be compiled or used; the message names the module and file."""


def mib_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    dirs = [*(Path(d) for d in extra), BASE_MIBS]
    if SYSTEM_MIBS.is_dir():
        dirs.append(SYSTEM_MIBS)
    return list(dict.fromkeys(dirs))


def _module_file(name: str, dirs: Sequence[Path]) -> Path | None:
    """The file that defines module `name` in `dirs` (by its DEFINITIONS line)."""
    definition = re.compile(rf"^\s*{re.escape(name)}\s+DEFINITIONS\s*::=", re.M)
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if not path.is_file() or path.stat().st_size > 8 * 1024 * 1024:
                continue
            stem = path.name.split(".")[0]
            if stem.upper() != name.upper() and path.suffix.lower() not in (".txt", ".mib", ".my"):
                continue
            try:
                head = path.read_text(encoding="latin-1")
            except OSError:
                continue
            if definition.search(head):
                return path
    return None


def _importers(missing: str, dirs: Sequence[Path], modules: Iterable[str]) -> list[str]:
    """'MOD (file)' for every module of `modules` whose IMPORTS name `missing`."""
    out = []
    wants = re.compile(rf"FROM\s+{re.escape(missing)}\b")
    for module in modules:
        path = _module_file(module, dirs)
        if path is None:
            continue
        text = path.read_text(encoding="latin-1")
        imports = text.split(";", 1)[0] if "IMPORTS" in text else ""
        if wants.search(imports):
            out.append(f"{module} ({path})")
    return out


def compile_mib(name: str, dirs: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """Module name -> pysmi's JSON of it, for `name` and everything it imports."""
    from pysmi.codegen import JsonCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser import SmiStarParser
    from pysmi.reader import FileReader
    from pysmi.writer import CallbackWriter

    compiled: dict[str, str] = {}

    def keep(module: str, data: str, _ctx: object) -> None:
        compiled[module] = data

    compiler = MibCompiler(SmiStarParser(), JsonCodeGen(), CallbackWriter(keep))
    compiler.add_sources(*(FileReader(str(d)) for d in dirs if d.is_dir()))
    try:
        statuses = compiler.compile(name, genTexts=True, textFilter=lambda _s, text: text,
                                    ignoreErrors=False)
    except Exception as exc:  # pysmi's own errors share no useful base here
        raise MibError(f"{name}: pysmi failed: {exc}") from None
    missing = sorted(m for m, status in statuses.items() if str(status) == "missing")
    failed = {m: status for m, status in statuses.items() if str(status) == "failed"}
    searched = ", ".join(str(d) for d in dirs)
    if name in missing and len(statuses) == 1:
        raise MibError(f"{name}: no MIB file defines it in {searched}")
    problems = []
    for module in missing:
        wanted_by = _importers(module, dirs, [m for m in statuses if m != module]) or [name]
        problems.append(f"{module} is imported by {', '.join(wanted_by)} but no file in "
                        f"{searched} defines it")
    for module, status in failed.items():
        if module in missing:
            continue
        error = getattr(status, "error", None)
        path = _module_file(module, dirs)
        if error is not None and "MIB source" in str(error) and missing:
            continue  # failed only because an import is missing: said above
        where = f" ({path})" if path else ""
        problems.append(f"{module}{where} does not compile: {error or status}")
    if problems or name not in compiled:
        raise MibError("; ".join(problems) or f"{name}: pysmi produced nothing")
    return {module: json.loads(data) for module, data in compiled.items()}


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    suffix: str  # the base-unit word(s) ending the name
    scale: float = 1.0
    counter: bool = False  # an energy counter reads as _joules_total


# UNITS clauses (and DESCRIPTION phrases) as vendors write them, lower-cased
_UNITS: list[tuple[str, Unit]] = [
    (r"^(k|kilo)\s*-?\s*(b|bytes?)$|^kbytes$", Unit("bytes", 1024)),
    (r"^(m|mega)\s*-?\s*bytes?$|^mb$", Unit("bytes", 1048576)),
    (r"^bytes?$|^octets$", Unit("bytes")),
    (r"^(0?\.1|tenths? of an?)\s*(degrees?|deg)?\s*(c|celsius|centigrade)$|"
     r"^tenths of (a )?degrees? celsius$", Unit("celsius", 0.1)),
    (r"^(degrees?|deg)?\s*(c|celsius|centigrade)$|^°c$", Unit("celsius")),
    (r"^(0?\.1|tenths? of (a )?)\s*(percent|%)( rh| relative humidity)?$", Unit("ratio", 0.001)),
    (r"^(percent|%)( rh| relative humidity)?$", Unit("ratio", 0.01)),
    (r"^(0?\.1|tenths? of (a )?)\s*(v|volts?)(dc|ac|rms| ac rms| dc)?$", Unit("volts", 0.1)),
    (r"^(mv|millivolts?)$", Unit("volts", 0.001)),
    (r"^(v|volts?|vac|vdc|volts?[ -]ac[ -]rms|voltrms)$", Unit("volts")),
    (r"^(0?\.01|hundredths? of (an? )?)\s*(a|amps?|amperes?)(.*rms)?$", Unit("amperes", 0.01)),
    (r"^(0?\.1|tenths? of (an? )?)\s*(a|amps?|amperes?)(.*rms)?$", Unit("amperes", 0.1)),
    (r"^(ma|milliamps?|milliamperes?)$", Unit("amperes", 0.001)),
    (r"^(a|amps?|amperes?)(-ac-rms)?$", Unit("amperes")),
    (r"^(kw|kilowatts?)$", Unit("watts", 1000)),
    (r"^(w|watts?)$", Unit("watts")),
    (r"^(kva)$", Unit("volt_amperes", 1000)),
    (r"^(va|volt-?amps?|voltamps?|volt-amperes?)$", Unit("volt_amperes")),
    (r"^(0?\.1|tenths? of (a )?)\s*(hz|hertz)$", Unit("hertz", 0.1)),
    (r"^(hz|hertz)$", Unit("hertz")),
    (r"^(0?\.1)\s*(kilowatt-hours?|kwh)$", Unit("joules", 360000, counter=True)),
    (r"^(kilowatt-hours?|kwh)$", Unit("joules", 3600000, counter=True)),
    (r"^(watt-hours?|wh)$", Unit("joules", 3600, counter=True)),
    (r"^(hundredths of a second|centi-?seconds?|timeticks)$", Unit("seconds", 0.01)),
    (r"^(ms|milliseconds?)$", Unit("seconds", 0.001)),
    (r"^(s|secs?|seconds?)$", Unit("seconds")),
    (r"^(min|minutes?)$", Unit("seconds", 60)),
    (r"^(h|hours?)$", Unit("seconds", 3600)),
    (r"^rpm$", Unit("rpm")),
]
# phrases in a DESCRIPTION when there is no UNITS clause ("in tenths of a degree Celsius")
_DESCRIBED = re.compile(
    r"\bin (units of )?((?:0?\.1|0?\.01|tenths? of (?:an? )?|hundredths? of (?:an? )?)?\s*"
    r"(?:degrees? celsius|celsius|percent|volts?|amperes?|amps?|watts?|hertz|seconds?|"
    r"minutes?|milliseconds?|kilobytes|bytes|kb))\b", re.I)


def unit_of(units: str | None, description: str, syntax: str) -> tuple[Unit | None, str]:
    """The unit and where it was read from ('UNITS "kB"', 'DESCRIPTION "in ..."', '')."""
    if syntax == "TimeTicks":
        return Unit("seconds", 0.01), "TimeTicks (hundredths of a second)"
    if units:
        text = units.strip().lower()
        for pattern, unit in _UNITS:
            if re.match(pattern, text):
                return unit, f'UNITS "{units.strip()}"'
        return None, f'UNITS "{units.strip()}" (not a unit tierwatch converts: check it)'
    found = _DESCRIBED.search(" ".join(description.split()))
    if found:
        phrase = found.group(2).lower().replace("kilobytes", "kb")
        for pattern, unit in _UNITS:
            if re.match(pattern, phrase.strip()):
                return unit, f'DESCRIPTION "...{found.group(0)}..."'
    return None, ""


# --------------------------------------------------------------------------- the draft


_NUMERIC = {"Integer32", "INTEGER", "Unsigned32", "Gauge32", "Counter32", "Counter64",
            "TimeTicks", "Counter", "Gauge"}
_COUNTERS = {"Counter32", "Counter64", "Counter"}
_TEXT = {"OCTET STRING", "DisplayString", "SnmpAdminString", "OctetString"}


class Mib:
    """The compiled module and what it imports, for looking objects and TCs up."""

    def __init__(self, name: str, modules: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.modules = modules
        self.main = modules[name]

    def objects(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.main.items() if isinstance(v, dict) and "oid" in v}

    def find(self, symbol: str) -> dict[str, Any]:
        obj = self.main.get(symbol)
        if not isinstance(obj, dict) or "oid" not in obj:
            known = sorted(k for k, v in self.objects().items()
                           if v.get("nodetype") == "table")
            raise MibError(f"{self.name} has no object {symbol!r} (its tables: "
                           f"{', '.join(known) or 'none'})")
        return obj

    def base_type(self, syntax: dict[str, Any]) -> tuple[str, dict[int, str] | None, str]:
        """(base SNMP type, enum names, the type as written) through textual conventions."""
        written = str(syntax.get("type", ""))
        enum = (syntax.get("constraints") or {}).get("enumeration")
        seen = set()
        current = syntax
        while True:
            kind = str(current.get("type", ""))
            if kind in seen:
                break
            seen.add(kind)
            tc = self._tc(kind)
            if tc is None:
                break
            current = tc.get("type", {})
            enum = enum or (current.get("constraints") or {}).get("enumeration")
        base = str(current.get("type", written))
        if base == "INTEGER" and written in ("TruthValue",):
            enum = enum or {"true": 1, "false": 2}
        names = {int(v): str(k) for k, v in enum.items()} if enum else None
        return base, names, written

    def _tc(self, name: str) -> dict[str, Any] | None:
        for module in self.modules.values():
            item = module.get(name)
            if isinstance(item, dict) and item.get("class") == "textualconvention":
                return item
        return None

    def children(self, parent_oid: str) -> list[dict[str, Any]]:
        prefix = parent_oid + "."
        return sorted((o for o in self.objects().values()
                       if str(o["oid"]).startswith(prefix)
                       and "." not in str(o["oid"])[len(prefix):]),
                      key=lambda o: [int(x) for x in str(o["oid"]).split(".")])


def _snake(name: str) -> str:
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", words)
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    sentence = re.split(r"(?<=[a-z0-9)])\.\s", flat, maxsplit=1)[0].rstrip(".")
    return sentence[:150] if sentence else ""


@dataclass
class DraftMetric:
    lines: list[str]
    name: str


@dataclass
class Draft:
    name: str
    mib: str
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _metric(mib: Mib, obj: dict[str, Any], prefix: str, indent: str, scalar: bool
            ) -> DraftMetric | None:
    syntax = obj.get("syntax") or {}
    base, enum, written = mib.base_type(syntax)
    if base not in _NUMERIC:
        return None
    unit, source = unit_of(obj.get("units"), str(obj.get("description", "")), base)
    stem = _snake(obj["name"])
    # CounterBasedGauge64 (HCNUM-TC) is a gauge carried in a Counter64
    counter = (base in _COUNTERS and "Gauge" not in written) or (
        unit is not None and unit.counter)
    name = f"{prefix}{stem}"
    if unit is not None and enum is None and not name.endswith("_" + unit.suffix):
        name = f"{name}_{unit.suffix}"
    if counter and enum is None:
        name += "_total"
    oid = str(obj["oid"]) + (".0" if scalar else "")
    help_text = _first_sentence(str(obj.get("description", ""))) or obj["name"]
    comment = f"{obj['name']}, {written}" + (f", {source}" if source else "")
    lines = [f"{indent}- name: {name}",
             f"{indent}  oid: {oid}    # {comment}"]
    if counter and enum is None:
        lines.append(f"{indent}  type: counter")
    if unit is not None and unit.scale != 1.0 and enum is None:
        lines.append(f"{indent}  scale: {unit.scale:g}")
    if enum:
        pairs = ", ".join(f"{k}: {json.dumps(v)}" for k, v in sorted(enum.items()))
        lines.append(f"{indent}  enum: {{{pairs}}}")
    if unit is None and enum is None and not counter:
        lines.append(f"{indent}  # unit: the MIB states none; read the DESCRIPTION and name "
                     f"the unit (and scale) before use")
    lines.append(f"{indent}  help: {json.dumps(help_text + ' (' + obj['name'] + ')')}")
    return DraftMetric(lines, name)


_INDEX_TYPES = {"IpAddress": "ipv4", "InetAddressIPv4": "ipv4"}


def draft_profile(mib: Mib, tables: Sequence[str], objects: Sequence[str], name: str,
                  prefix: str) -> Draft:
    draft = Draft(name, mib.name)
    out = draft.lines
    out += [f"# Draft written by `tierwatch profile new` from {mib.name}: review it before use.",
            "# What it cannot know is left to you: status rules (read the MIB's DESCRIPTIONs),",
            "# units the MIB does not state (marked below), sys_object_id / detect for auto.",
            f"name: {name}",
            f"description: Draft from {mib.name}",
            "include: [system]"]
    scalars: list[DraftMetric] = []
    for symbol in objects:
        obj = mib.find(symbol)
        members = [obj] if obj.get("nodetype") == "scalar" else [
            c for c in mib.children(str(obj["oid"])) if c.get("nodetype") == "scalar"]
        if not members:
            raise MibError(f"{mib.name}: {symbol} is neither a scalar nor a group of scalars")
        for member in members:
            metric = _metric(mib, member, prefix, "  ", scalar=True)
            if metric is not None:
                scalars.append(metric)
            else:
                draft.notes.append(f"{member['name']}: not numeric, left out")
    if scalars:
        out.append("scalars:")
        for metric in scalars:
            out += metric.lines
    if tables:
        out.append("tables:")
    for symbol in tables:
        table = mib.find(symbol)
        if table.get("nodetype") != "table":
            raise MibError(f"{mib.name}: {symbol} is not a table")
        rows = mib.children(str(table["oid"]))
        if not rows or rows[0].get("nodetype") != "row":
            raise MibError(f"{mib.name}: {symbol} has no row definition")
        row = rows[0]
        columns = mib.children(str(row["oid"]))
        indices = row.get("indices") or []
        out.append(f"  - name: {symbol}")
        parts = []
        for index in indices:
            item = mib.modules.get(index.get("module", mib.name), {}).get(index["object"], {})
            base, _, written = mib.base_type(item.get("syntax") or {}) if item else ("", None, "")
            kind = _INDEX_TYPES.get(written) or _INDEX_TYPES.get(base)
            if kind is None and (base in _TEXT or written in _TEXT):
                kind = "implied_string" if index.get("implied") else "string"
            label = _snake(index["object"])
            parts.append(f"{{label: {label}" + (f", type: {kind}" if kind else "") + "}")
        out.append(f"    index: [{', '.join(parts) or '{label: index}'}]    "
                   f"# {', '.join(i['object'] for i in indices)}")
        index_names = {i["object"] for i in indices}
        text_columns = [c for c in columns if c["name"] not in index_names
                        and mib.base_type(c.get("syntax") or {})[0] in _TEXT
                        and c.get("maxaccess") != "not-accessible"]
        if text_columns:
            first = text_columns[0]
            out += ["    labels:",
                    f"      - {{label: {_snake(first['name'])}, oid: {first['oid']}}}    "
                    f"# {first['name']}"]
        out.append("    metrics:")
        count = 0
        for column in columns:
            if column["name"] in index_names or column.get("maxaccess") == "not-accessible":
                continue
            metric = _metric(mib, column, prefix, "      ", scalar=False)
            if metric is None:
                if column not in text_columns[:1]:
                    draft.notes.append(f"{column['name']}: not numeric, left out")
                continue
            out += metric.lines
            count += 1
        if not count:
            raise MibError(f"{mib.name}: {symbol} has no numeric column to read")
    if not scalars and not tables:
        raise MibError("give at least one --table or --object")
    return draft


def new_profile(mib_name: str, tables: Sequence[str], objects: Sequence[str],
                dirs: Sequence[Path], name: str | None = None, prefix: str | None = None
                ) -> Draft:
    modules = compile_mib(mib_name, dirs)
    mib = Mib(mib_name, modules)
    profile_name = name or re.sub(r"[^a-z0-9-]+", "-", mib_name.lower()).strip("-")
    metric_prefix = prefix if prefix is not None else (
        _snake(mib_name.removesuffix("-MIB").split("-")[0]) + "_")
    return draft_profile(mib, tables, objects, profile_name, metric_prefix)
