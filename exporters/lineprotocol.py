"""tierwatch's records as InfluxDB line protocol (millisecond timestamps).

* a `Sample` is one point: measurement = the metric name, tags = its labels, field `value`
  (always a float, so a field never changes type);
* a component status change is a point of `tierwatch_component_status` with tags `device`,
  `component`, `status` and fields `code` (0 ok, 1 unknown, 2 degraded, 3 failed: the
  status' severity) and `reason` (a string, unless string fields are off);
* a tier snapshot is a handful of points (see `snapshot_lines`).

Tags are sorted by key (what InfluxDB stores anyway), empty tag values are left out (line
protocol has no empty tag), a non-finite value cannot be written and is counted by the
caller. Escaping follows the line-protocol reference: `,`, `=`, space and `\\` in tag keys
and values, `,` and space in measurements, `"` and `\\` in string fields; line breaks
cannot be escaped and become spaces.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tierwatch.core.model import Sample, Status, StatusChange

STATUS_CODES = {Status.OK: 0, Status.UNKNOWN: 1, Status.DEGRADED: 2, Status.FAILED: 3}

_TAG_ESCAPE = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\\": "\\\\", "\n": "\\ ",
                             "\r": "\\ "})
_MEASUREMENT_ESCAPE = str.maketrans({",": "\\,", " ": "\\ ", "\n": "\\ ", "\r": "\\ "})


_TAG_SPECIAL = re.compile(r"[,= \\\n\r]")
_PAIR_CACHE_MAX = 200_000


def escape_tag(text: str) -> str:
    # most label values need no escaping: a regex search is much cheaper than translate
    return text.translate(_TAG_ESCAPE) if _TAG_SPECIAL.search(text) else text


def escape_measurement(text: str) -> str:
    return text.translate(_MEASUREMENT_ESCAPE) if _TAG_SPECIAL.search(text) else text


def string_field(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{text}"'


def tag_text(labels: Mapping[str, str], extra: Mapping[str, str] | None = None,
             pairs: dict[tuple[str, str], str] | None = None) -> str:
    """`,k=v,k2=v2` (with the leading comma), sorted, empty values left out. `pairs`
    caches escaped `,k=v` pieces: label values repeat over rows and polls."""
    merged = {**extra, **labels} if extra else labels
    if pairs is None:
        return "".join(f",{escape_tag(k)}={escape_tag(v)}"
                       for k, v in sorted(merged.items()) if v)
    out = []
    for item in sorted(merged.items()):
        piece = pairs.get(item)
        if piece is None:
            if len(pairs) >= _PAIR_CACHE_MAX:
                pairs.clear()
            k, v = item
            piece = f",{escape_tag(k)}={escape_tag(v)}" if v else ""
            pairs[item] = piece
        out.append(piece)
    return "".join(out)


def float_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text  # 12.0 -> 12 (still a float field)


def ms(ts: float) -> int:
    return round(ts * 1000)


class LineEncoder:
    """Encodes records; `global_tags` go on every point (a sample's own labels win)."""

    def __init__(self, global_tags: Mapping[str, str] | None = None,
                 string_fields: bool = True) -> None:
        self.global_tags = dict(global_tags or {})
        self.string_fields = string_fields
        self._pairs: dict[tuple[str, str], str] = {}

    def samples(self, samples: Iterable[Sample], default_ts: float) -> tuple[list[str], int]:
        """Lines for samples, and how many could not be written (NaN, infinity)."""
        lines: list[str] = []
        skipped = 0
        tags_of: dict[int, str] = {}  # rows of one table share a labels dict: render it once
        for sample in samples:
            value = sample.value
            if not math.isfinite(value):
                skipped += 1
                continue
            key = id(sample.labels)
            tags = tags_of.get(key)
            if tags is None:
                tags = tag_text(sample.labels, self.global_tags, self._pairs)
                tags_of[key] = tags
            lines.append(f"{escape_measurement(sample.name)}{tags} value={float_text(value)} "
                         f"{ms(sample.ts or default_ts)}")
        return lines, skipped

    def status_change(self, change: StatusChange) -> str:
        tags = tag_text({"device": change.device, "component": change.component,
                         "status": str(change.new)}, self.global_tags)
        fields = f"code={STATUS_CODES[change.new]}i"
        if self.string_fields:
            fields += f",reason={string_field(change.reason)}"
        return f"tierwatch_component_status{tags} {fields} {ms(change.ts)}"

    def point(self, measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any],
              ts: float) -> str | None:
        """A general point; None when no field can be written."""
        parts = []
        for key, value in fields.items():
            if isinstance(value, bool):
                parts.append(f"{escape_tag(key)}={'true' if value else 'false'}")
            elif isinstance(value, int):
                parts.append(f"{escape_tag(key)}={value}i")
            elif isinstance(value, float):
                if math.isfinite(value):
                    parts.append(f"{escape_tag(key)}={float_text(value)}")
            elif isinstance(value, str) and self.string_fields:
                parts.append(f"{escape_tag(key)}={string_field(value)}")
        if not parts:
            return None
        return (f"{escape_measurement(measurement)}{tag_text(tags, self.global_tags)} "
                f"{','.join(parts)} {ms(ts)}")

    def snapshot(self, snapshot: Any, ts: float) -> list[str]:
        """A `tier.score.TierSnapshot` as points, named as the Prometheus tier metrics:

        * `tierwatch_tier` (tag subsystem, `site` for the whole): fields `design`, `live`
        * `tierwatch_readiness`: field `score` (0-100) and one field per score part (0-1)
        * `tierwatch_capacity` (tags subsystem, group): `required`, `installed`,
          `available`, `spare`, `demand`, `label` (string)
        * `tierwatch_subsystem` (tag subsystem): `spofs`, `maintainability_failures`,
          `loads`, `loads_unserved`, `unavailable_nodes`
        """
        lines = [
            self.point("tierwatch_tier", {"subsystem": "site"},
                       {"design": snapshot.design_tier, "live": snapshot.live_tier}, ts),
            self.point("tierwatch_readiness", {},
                       {"score": float(snapshot.score),
                        **{p.name: float(p.value) for p in snapshot.parts
                           if p.value is not None}}, ts),
        ]
        for sub in snapshot.subsystems:
            live = sub.live
            lines.append(self.point("tierwatch_tier", {"subsystem": sub.name},
                                    {"design": sub.design.tier, "live": live.tier}, ts))
            lines.append(self.point("tierwatch_subsystem", {"subsystem": sub.name}, {
                "spofs": len(live.spofs),
                "maintainability_failures": len(live.maintainability),
                "loads": len(live.loads),
                "loads_unserved": sum(1 for load in live.loads if not load.served),
                "unavailable_nodes": len(sub.unavailable),
            }, ts))
            for group in live.groups:
                lines.append(self.point(
                    "tierwatch_capacity", {"subsystem": sub.name, "group": group.id},
                    {"required": group.required, "installed": group.installed,
                     "available": group.available, "spare": group.spare,
                     "demand": float(group.demand), "label": group.label}, ts))
        return [line for line in lines if line is not None]
