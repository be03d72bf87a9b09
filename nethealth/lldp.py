"""LLDP against the declared topology: who each port really sees, and what the YAML says.

A device polled with the `lldp` profile (collector/profiles/lldp.yaml) brings its own LLDP
identity, its local ports and its neighbours as samples. `read_lldp` turns them into
`Neighbour`s, refusing (and counting) what does not fit: every string is the neighbour's
own word from the network, so it is bounded, must be printable, and is only ever compared,
shown escaped, or replaced by a configured id before it goes near a label.

`compare` (pure) judges each declared port (`fed_from: [{id: X, port: P}]`, see
tier/topology.py `port_bindings`):

* ok: the expected neighbour is seen on that port;
* moved: it is not seen there but on another port of the same device;
* missing: it is not seen at all;
* unknown: the device has not told us its neighbours (not polled yet, or it does not
  answer LLDP-MIB).

and lists the unexpected neighbours: seen on a declared port where someone else was
expected, or a known device seen on a port nothing declares. Missing and moved links are
*unverified*: the live tier does not count them as paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from nethealth.config import LldpConfig
from tier.topology import PortBinding
from tierwatch.core.model import PollResult, Sample

MAX_TEXT = 255  # LLDP-MIB: SnmpAdminString / LldpChassisId / LldpPortId are SIZE (..255)
VERDICTS = ("ok", "missing", "moved", "unknown")
UNVERIFIED = frozenset({"missing", "moved"})
# a port name we will put in a label: what interface names look like, and short
_PORT_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 /._:+@-]{0,63}$")

REMOTE = "lldp_remote_chassis_id_subtype"
LOCAL_PORT = "lldp_local_port_id_subtype"
LOCAL_INFO = "lldp_local_info"


def normal(name: str) -> str:
    """How names are compared: case-folded, without a trailing dot."""
    return name.strip().rstrip(".").casefold()


def short(name: str) -> str:
    """A host name without its domain (core-1.cantho.gov.vn -> core-1); a MAC stays whole."""
    text = normal(name)
    if ":" in text:
        return text
    return text.split(".", 1)[0]


def _text(value: str | None) -> str | None:
    if value is None or not value or len(value) > MAX_TEXT or not value.isprintable():
        return None
    return value


@dataclass(frozen=True, slots=True)
class Neighbour:
    local_port: str  # the port's name as the device gives it (description, else id)
    local_names: frozenset[str]  # every name the local port goes by, normalised
    chassis_id: str
    sys_name: str  # "" when the neighbour does not send one
    port_id: str
    port_desc: str

    @property
    def name(self) -> str:
        return self.sys_name or self.chassis_id

    def to_json(self) -> dict[str, str]:
        return {"local_port": self.local_port, "chassis_id": self.chassis_id,
                "sys_name": self.sys_name, "port_id": self.port_id, "port_desc": self.port_desc}


@dataclass
class DeviceLldp:
    """What one poll said: the device's own identity and its neighbours."""

    chassis_id: str | None = None
    sys_name: str | None = None
    neighbours: list[Neighbour] = field(default_factory=list)
    ports: dict[str, frozenset[str]] = field(default_factory=dict)  # port num -> names
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def read_lldp(samples: Iterable[Sample], max_neighbours: int) -> DeviceLldp | None:
    """The LLDP a poll carried, or None when it carried none (no lldp profile, or the
    device does not answer LLDP-MIB)."""
    out = DeviceLldp()
    remotes: dict[tuple[str, str], tuple[int, Mapping[str, str]]] = {}
    seen = False
    for s in samples:
        if s.name == LOCAL_PORT:
            seen = True
            num = s.labels.get("lldp_port_num", "")
            names = {normal(t) for t in (_text(s.labels.get("port_id")),
                                         _text(s.labels.get("port_desc"))) if t}
            # shown by its id when the id is a name (interfaceAlias 1, interfaceName 5,
            # local 7), else by its description (a MAC-address id means little to people)
            first, second = ("port_id", "port_desc") if s.value in (1, 5, 7) else (
                "port_desc", "port_id")
            desc = _text(s.labels.get(first)) or _text(s.labels.get(second))
            if not num.isdigit() or not names or desc is None:
                out.refuse("bad_local_port")
                continue
            out.ports[num] = frozenset(names | {f"\0{desc}"})  # keep the display name
        elif s.name == REMOTE:
            seen = True
            mark, num, index = (s.labels.get(k, "") for k in
                                ("lldp_time_mark", "lldp_port_num", "lldp_rem_index"))
            if not (mark.isdigit() and num.isdigit() and index.isdigit()):
                out.refuse("bad_index")
                continue
            key = (num, index)
            # a TimeFilter index may show one neighbour under several time marks: the
            # latest is what the agent knows now
            if key not in remotes or int(mark) > remotes[key][0]:
                remotes[key] = (int(mark), s.labels)
        elif s.name == LOCAL_INFO:
            seen = True
            out.chassis_id = _text(s.labels.get("chassis_id"))
            out.sys_name = _text(s.labels.get("sys_name"))
    if not seen:
        return None
    for (num, _), (_, labels) in sorted(remotes.items(), key=lambda kv: (int(kv[0][0]),
                                                                          int(kv[0][1]))):
        if len(out.neighbours) >= max_neighbours:
            out.refuse("too_many")
            continue
        chassis = _text(labels.get("rem_chassis_id"))
        if chassis is None:
            out.refuse("bad_chassis_id")  # a mandatory TLV: missing, too long or unprintable
            continue
        port_names = out.ports.get(num)
        if port_names is None:
            out.refuse("unknown_local_port")
            continue
        display = next(n[1:] for n in port_names if n.startswith("\0"))
        sys_name = labels.get("rem_sys_name")  # optional TLV: absent or empty is fine
        if sys_name and _text(sys_name) is None:
            out.refuse("bad_sys_name")
            continue
        out.neighbours.append(Neighbour(
            local_port=display,
            local_names=frozenset(n for n in port_names if not n.startswith("\0")),
            chassis_id=chassis, sys_name=sys_name or "",
            port_id=_text(labels.get("rem_port_id")) or "",
            port_desc=_text(labels.get("rem_port_desc")) or ""))
    return out


# --------------------------------------------------------------------------- the verdicts


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """One declared port, judged."""

    binding: PortBinding
    verdict: str  # ok | missing | moved | unknown
    expected: str  # the neighbour expected there (a name, or a device id)
    seen_on: tuple[str, ...] = ()  # moved: the ports it is seen on instead
    seen_here: tuple[str, ...] = ()  # who the declared port sees (neighbours' names)
    since: float | None = None  # when the verdict last changed

    @property
    def unverified(self) -> bool:
        return self.verdict in UNVERIFIED

    def to_json(self) -> dict[str, object]:
        b = self.binding
        return {"subsystem": b.subsystem, "from": b.feeder, "to": b.node, "device": b.device,
                "port": b.port, "expected": self.expected, "verdict": self.verdict,
                "seen_on": list(self.seen_on), "seen_here": list(self.seen_here),
                "since": self.since}


@dataclass(frozen=True, slots=True)
class Unexpected:
    """A neighbour nothing declares where it is seen."""

    device: str
    local_port: str
    neighbour: Neighbour
    neighbour_device: str | None  # the tierwatch device it is, when it is one

    def to_json(self) -> dict[str, object]:
        return {"device": self.device, "port": self.local_port,
                "neighbour": self.neighbour.name, "neighbour_port": self.neighbour.port_id,
                "neighbour_device": self.neighbour_device}


class Identities:
    """Which tierwatch device a neighbour is: by the names configured for it
    (`nethealth.lldp.names`), its id and configured name, and the identity it gives in
    its own LLDP answer. A name two devices claim identifies neither."""

    def __init__(self, names: Mapping[str, Sequence[str]]) -> None:
        self._static: dict[str, str | None] = {}
        for device, aliases in names.items():
            for alias in aliases:
                self._claim(self._static, alias, device)
        self._learnt: dict[str, str | None] = {}

    @staticmethod
    def _claim(table: dict[str, str | None], name: str, device: str) -> None:
        for key in {normal(name), short(name)}:
            if key and table.get(key, device) != device:
                table[key] = None  # claimed twice: ambiguous
            elif key:
                table[key] = device

    def learn(self, device: str, lldp: DeviceLldp) -> None:
        for name in (lldp.sys_name, lldp.chassis_id):
            if name:
                self._claim(self._learnt, name, device)

    def device_of(self, neighbour: Neighbour) -> str | None:
        for name in (neighbour.sys_name, neighbour.chassis_id):
            if not name:
                continue
            for key in (normal(name), short(name)):
                for table in (self._static, self._learnt):
                    if key in table:
                        return table[key]
        return None


def _expected(binding: PortBinding) -> str:
    return binding.neighbour or binding.neighbour_device or "?"


def _is_expected(binding: PortBinding, neighbour: Neighbour, device: str | None) -> bool:
    if binding.neighbour is not None:
        want = {normal(binding.neighbour), short(binding.neighbour)}
        names = {normal(neighbour.sys_name), short(neighbour.sys_name),
                 normal(neighbour.chassis_id)} - {""}
        return bool(want & names)
    return device is not None and device == binding.neighbour_device


def compare(bindings: Sequence[PortBinding], seen: Mapping[str, DeviceLldp],
            identities: Identities) -> tuple[list[LinkCheck], list[Unexpected]]:
    """Each declared port's verdict, and the unexpected neighbours of the devices checked.
    `seen`: device id -> its latest LLDP (absent: not known)."""
    explained: set[tuple[str, int]] = set()  # (device, neighbour index) accounted for
    resolved = {dev: [identities.device_of(n) for n in lldp.neighbours]
                for dev, lldp in seen.items()}
    # first every port that sees what it should: those neighbours belong to their port,
    # and cannot stand for another declared link that moved
    here_of: dict[int, tuple[list[int], list[int]]] = {}
    for k, b in enumerate(bindings):
        lldp = seen.get(b.device)
        if lldp is None:
            continue
        port = normal(b.port)
        here = [i for i, n in enumerate(lldp.neighbours) if port in n.local_names]
        match = [i for i in here if _is_expected(b, lldp.neighbours[i], resolved[b.device][i])]
        here_of[k] = (here, match)
        explained.update((b.device, i) for i in match)
    checks: list[LinkCheck] = []
    for k, b in enumerate(bindings):
        lldp = seen.get(b.device)
        if lldp is None:
            checks.append(LinkCheck(b, "unknown", _expected(b)))
            continue
        here, match = here_of[k]
        seen_here = tuple(sorted({lldp.neighbours[i].name for i in here}))
        if match:
            checks.append(LinkCheck(b, "ok", _expected(b), seen_here=seen_here))
            continue
        elsewhere = [i for i, n in enumerate(lldp.neighbours)
                     if i not in here and (b.device, i) not in explained
                     and _is_expected(b, n, resolved[b.device][i])]
        if elsewhere:
            explained.update((b.device, i) for i in elsewhere)
            ports = tuple(sorted({lldp.neighbours[i].local_port for i in elsewhere}))
            checks.append(LinkCheck(b, "moved", _expected(b), seen_on=ports,
                                    seen_here=seen_here))
        else:
            checks.append(LinkCheck(b, "missing", _expected(b), seen_here=seen_here))
    declared_ports: dict[str, set[str]] = {}
    for b in bindings:
        declared_ports.setdefault(b.device, set()).add(normal(b.port))
    unexpected: list[Unexpected] = []
    for device, declared in declared_ports.items():
        lldp = seen.get(device)
        if lldp is None:
            continue
        for i, n in enumerate(lldp.neighbours):
            if (device, i) in explained:
                continue
            known = resolved[device][i]
            if n.local_names & declared or known is not None:
                unexpected.append(Unexpected(device, n.local_port, n, known))
    return checks, unexpected


# how bad each verdict is for the node its link feeds: the node shows its worst link's
WORST_FIRST = ("missing", "moved", "unknown", "ok")


def node_verdicts(checks: Iterable[LinkCheck]) -> dict[str, str]:
    """node id -> the LLDP status of the node's declared links: the worst of their verdicts
    (missing, moved, unknown, ok), for nodes with at least one declared port."""
    rank = {v: i for i, v in enumerate(WORST_FIRST)}
    out: dict[str, str] = {}
    for c in checks:
        node = c.binding.node
        if node not in out or rank[c.verdict] < rank[out[node]]:
            out[node] = c.verdict
    return out


# --------------------------------------------------------------------------- the watch


def port_label(name: str) -> str:
    """A device's port name, fit for a label, or "invalid" (counted by the caller)."""
    return name if _PORT_LABEL.match(name) else "invalid"


class LldpWatch:
    """The latest LLDP of every device with a declared port, and the verdicts."""

    def __init__(self, bindings: Sequence[PortBinding], config: LldpConfig,
                 device_names: Mapping[str, str]) -> None:
        self.bindings = list(bindings)
        self.config = config
        names: dict[str, list[str]] = {d: [d] for d in device_names}
        for device, name in device_names.items():
            if name and name != device:
                names[device].append(name)
        for device, aliases in config.names.items():
            names.setdefault(device, []).extend(aliases)
        self.identities = Identities(names)
        self.watched = frozenset(b.device for b in self.bindings)
        self.seen: dict[str, DeviceLldp] = {}
        self.refused: dict[tuple[str, str], int] = {}
        self._checks: list[LinkCheck] = [LinkCheck(b, "unknown", _expected(b))
                                         for b in self.bindings]
        self._unexpected: list[Unexpected] = []

    def observe(self, result: PollResult) -> bool:
        """Fold in one poll; True when a verdict or the unexpected list changed."""
        if not result.ok:
            return False  # the last answer stands until the device answers again
        lldp = read_lldp(result.samples, self.config.max_neighbours)
        if lldp is None:
            return False
        for reason, n in lldp.refused.items():
            key = (result.device, reason)
            self.refused[key] = self.refused.get(key, 0) + n
        self.identities.learn(result.device, lldp)
        if result.device not in self.watched:
            return False
        self.seen[result.device] = lldp
        return self._judge(result.ts)

    def _judge(self, ts: float) -> bool:
        checks, unexpected = compare(self.bindings, self.seen, self.identities)
        previous = {(*c.binding.edge, c.binding.port): c for c in self._checks}
        stamped = []
        changed = False
        for c in checks:
            old = previous.get((*c.binding.edge, c.binding.port))
            if old is not None and old.verdict == c.verdict and old.seen_on == c.seen_on:
                stamped.append(LinkCheck(c.binding, c.verdict, c.expected, c.seen_on,
                                         c.seen_here, old.since))
            else:
                changed = True
                stamped.append(LinkCheck(c.binding, c.verdict, c.expected, c.seen_on,
                                         c.seen_here, ts))
        key = [(u.device, u.local_port, u.neighbour.name) for u in unexpected]
        if key != [(u.device, u.local_port, u.neighbour.name) for u in self._unexpected]:
            changed = True
        self._checks, self._unexpected = stamped, unexpected
        return changed

    def checks(self) -> list[LinkCheck]:
        return list(self._checks)

    def unexpected(self) -> list[Unexpected]:
        return list(self._unexpected)

    def unverified(self) -> frozenset[tuple[str, str]]:
        return frozenset(c.binding.edge for c in self._checks if c.unverified)

    def metrics(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            "tierwatch_lldp_link_status",
            "1 for a declared link's LLDP verdict (ok, missing, moved, unknown): its port "
            "sees the expected neighbour, sees it elsewhere, not at all, or cannot tell",
            labels=["subsystem", "from", "to", "device", "port", "status"])
        for c in self._checks:
            b = c.binding
            for verdict in VERDICTS:
                status.add_metric([b.subsystem, b.feeder, b.node, b.device, b.port, verdict],
                                  1.0 if c.verdict == verdict else 0.0)
        yield status
        unexpected = GaugeMetricFamily(
            "tierwatch_lldp_unexpected_neighbours",
            "Neighbours seen where nothing declares them, per device and port (names on the "
            "status page and in the API only)", labels=["device", "port"])
        counts: dict[tuple[str, str], int] = {}
        for u in self._unexpected:
            key = (u.device, port_label(u.local_port))
            counts[key] = counts.get(key, 0) + 1
        for (device, port), n in sorted(counts.items()):
            unexpected.add_metric([device, port], n)
        yield unexpected
        neighbours = GaugeMetricFamily("tierwatch_lldp_neighbours",
                                       "LLDP neighbours the device reported in its last poll",
                                       labels=["device"])
        for device, lldp in sorted(self.seen.items()):
            neighbours.add_metric([device], len(lldp.neighbours))
        yield neighbours
        refused = CounterMetricFamily(
            "tierwatch_lldp_refused", "LLDP rows refused: an index or name that does not "
            "fit, an unprintable or over-long string, too many neighbours",
            labels=["device", "reason"])
        for (device, reason), n in sorted(self.refused.items()):
            refused.add_metric([device, reason], n)
        yield refused
