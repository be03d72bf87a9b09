"""`tierwatch profile test`: a profile run against a recorded walk, offline.

The walk (collector/walkfile.py) answers through the same seam a live agent does, the
device's profiles are compiled into the same PollPlan, and one poll gives the samples and
component statuses tierwatch would record from that device; the OIDs of the walk no
profile read are listed by subtree, so a profile's author sees what the device has that
the profile ignores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector import profile_files
from collector.profile import Profile, parse_profile
from collector.profiles import (
    AutoChoice,
    ProfileError,
    choose_auto,
    detect_oids,
    load_profiles,
)
from collector.snmp.poller import PollPlan, device_status, poll
from collector.walkfile import RecordedAgent, Walk, group_oids, read_walk
from tierwatch.core.model import PollResult

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


@dataclass
class ProfileRun:
    walk: Walk
    profiles: list[str]
    result: PollResult
    status: str
    unread: list[str]
    auto: AutoChoice | None = None
    metric_names: dict[str, set[str]] = field(default_factory=dict)  # profile -> names
    requested: list[str] = field(default_factory=list)  # named (or chosen by auto)

    @property
    def empty_profiles(self) -> list[str]:
        """Profiles that gave no sample from this walk (one that does not fit it, or an
        included one whose part of the device the recording left out)."""
        produced = {s.name for s in self.result.samples}
        return [name for name, names in self.metric_names.items() if not names & produced]

    @property
    def failed(self) -> bool:
        """The poll failed, or a profile asked for (not one it includes) gave nothing."""
        return not self.result.ok or bool(set(self.empty_profiles) & set(self.requested))

    def unread_groups(self, max_groups: int = 40) -> list[tuple[str, int]]:
        return group_oids(self.unread, max_groups)

    def to_json(self) -> dict[str, Any]:
        body = self.result.to_json(self.status)
        return {
            "walk": {"file": self.walk.source, "format": self.walk.format,
                     "oids": len(self.walk.values), "skipped_lines": self.walk.skipped,
                     "problems": self.walk.problems[:50]},
            "profiles": self.profiles,
            "auto": None if self.auto is None else self.auto.reasons,
            "status": self.status,
            "components": [{"component": c.component, "status": str(c.status),
                            "reason": c.reason, "conditions": sorted(c.conditions)}
                           for c in self.result.components],
            "samples": body.get("samples", []),
            "empty_profiles": self.empty_profiles,
            "error": self.result.error,
            "message": self.result.message,
            "unread": {"oids": len(self.unread),
                       "subtrees": [{"oid": o, "count": n} for o, n in self.unread_groups()]},
        }


def resolve(spec: Sequence[str], walk: Walk, extra_dirs: Iterable[Path] = ()
            ) -> tuple[list[Profile], AutoChoice | None]:
    """The profiles to run: names of known profiles, paths of profile files (a draft not yet
    in a profile directory), or `auto` (chosen from the walk as a live device's would be)."""
    dirs = list(extra_dirs)
    if list(spec) == ["auto"]:
        answers = {oid: walk.values.get(oid) for oid in [SYS_OBJECT_ID, *detect_oids(dirs)]}
        sys_oid = answers.get(SYS_OBJECT_ID)
        choice = choose_auto(sys_oid if isinstance(sys_oid, str) else "", answers, dirs)
        return load_profiles(choice.profiles, dirs), choice
    names: list[str] = []
    files: list[Path] = []
    for item in spec:
        if item == "auto":
            raise ProfileError("'auto' cannot be combined with other profiles")
        if item.endswith((".yaml", ".yml")) or "/" in item:
            files.append(Path(item))
        else:
            names.append(item)
    for path in files:
        if not path.is_file():
            raise ProfileError(f"{path}: no such profile file")
    # a file given by path may include shipped profiles; its own directory is searched first
    dirs = [*dict.fromkeys(p.parent for p in files), *dirs]
    ordered: list[Profile] = []
    for path in files:
        definition = profile_files.read(path, parse_profile, ProfileError)
        for included in load_profiles(definition.include, dirs):
            if included.name not in {p.name for p in ordered}:
                ordered.append(included)
        ordered.append(Profile(definition))
    for profile in load_profiles(names, dirs):
        if profile.name not in {p.name for p in ordered}:
            ordered.append(profile)
    return ordered, None


async def run_profiles(profiles: Sequence[Profile], walk: Walk, *, device: str = "walk",
                       auto: AutoChoice | None = None, also_read: Iterable[str] = (),
                       requested: Sequence[str] = ()) -> ProfileRun:
    """One offline poll of the walk through the profiles. `also_read`: OIDs read before the
    poll (sysObjectID and the detect OIDs, to choose `auto`)."""
    agent = RecordedAgent(walk)
    plan = PollPlan(list(profiles))
    result = await poll(device, agent, plan, {"device": device}, now=0.0)
    status = str(device_status(result)) if result.ok else "unknown"
    agent.read.update(o for o in also_read if o in walk.values)
    names = {p.name: _metric_names(p) for p in profiles}
    return ProfileRun(walk, [p.name for p in profiles], result, status, agent.unread(), auto,
                      names, list(requested))


def _metric_names(profile: Profile) -> set[str]:
    d = profile.definition
    metrics = [*d.scalars, *(m for t in d.tables for m in t.metrics)]
    names = {n for m in metrics for n in ([m.name] if m.name_by is None
                                          else [x.name for x in m.name_by.names.values()])}
    return names | {i.name for i in d.info}


async def run_walk(spec: Sequence[str], walk_path: Path | str,
                   extra_dirs: Iterable[Path] = ()) -> ProfileRun:
    """Read the walk, resolve the profiles, poll once offline."""
    dirs = list(extra_dirs)
    walk = read_walk(walk_path)
    profiles, auto = resolve(spec, walk, dirs)
    also = [SYS_OBJECT_ID, *detect_oids(dirs)] if auto is not None else []
    requested = auto.profiles if auto is not None else [
        Path(item).stem if item.endswith((".yaml", ".yml")) else item for item in spec]
    return await run_profiles(profiles, walk, device=Path(str(walk_path)).stem, auto=auto,
                              also_read=also, requested=requested)
