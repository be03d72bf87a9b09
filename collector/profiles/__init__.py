"""Where profiles live and how they are found: the shipped YAML files beside this module,
and any directories the config adds (searched first, so a site can override a profile)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from collector import profile_files
from collector.profile import Profile, parse_profile
from collector.snmp.client import Missing

SHIPPED = Path(__file__).resolve().parent


class ProfileError(Exception):
    """A profile file that cannot be used; the message names the file and the key."""


def _dirs(extra: Iterable[Path]) -> list[Path]:
    return [*(Path(d) for d in extra), SHIPPED]


def known_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Profile name -> file, earlier directories winning."""
    return profile_files.find(_dirs(extra_dirs))


def load_profile_file(path: Path) -> Profile:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _load_cached(path: Path, _mtime: int, _size: int) -> Profile:
    return Profile(profile_files.read(path, parse_profile, ProfileError))


def load_profiles(names: Sequence[str], extra_dirs: Iterable[Path] = ()) -> list[Profile]:
    """The named profiles and everything they include, each once, includes first."""
    return profile_files.resolve(names, known_profiles(extra_dirs), load_profile_file,
                                 lambda p: p.definition.include, ProfileError, "profile")


def select_auto(sys_object_id: str, extra_dirs: Iterable[Path] = ()) -> list[str]:
    """Profiles for `profile: auto`: the longest sysObjectID prefix match, else `system`.

    Several profiles matching with the same longest prefix are all taken (a UPS answering
    both its vendor MIB and UPS-MIB, say).
    """
    oid = sys_object_id.strip(".")
    best: list[str] = []
    best_len = -1
    for name, path in known_profiles(extra_dirs).items():
        for prefix in load_profile_file(path).definition.sys_object_id:
            if oid == prefix or oid.startswith(prefix + "."):
                if len(prefix) > best_len:
                    best, best_len = [name], len(prefix)
                elif len(prefix) == best_len:
                    best.append(name)
    return sorted(best) if best else ["system"]


@dataclass(frozen=True)
class AutoChoice:
    """What `profile: auto` picks for a device, and why (one line per profile)."""

    profiles: list[str]
    reasons: dict[str, str]


def detect_oids(extra_dirs: Iterable[Path] = ()) -> list[str]:
    """Every OID a profile's `detect:` asks: read with sysObjectID before choosing."""
    oids: list[str] = []
    for path in known_profiles(extra_dirs).values():
        oids.extend(load_profile_file(path).definition.detect)
    return list(dict.fromkeys(oids))


def choose_auto(sys_object_id: str, answers: Mapping[str, object] | None = None,
                extra_dirs: Iterable[Path] = ()) -> AutoChoice:
    """`profile: auto` for a device: the profiles its sysObjectID selects (longest prefix,
    see select_auto) and every profile one of whose `detect:` OIDs the device answered
    (`answers`: OID -> value; a missing OID, a noSuch* or endOfMibView is no answer)."""
    oid = sys_object_id.strip(".")
    reasons: dict[str, str] = {}
    best_len = -1
    for name, path in known_profiles(extra_dirs).items():
        for prefix in load_profile_file(path).definition.sys_object_id:
            if oid == prefix or oid.startswith(prefix + "."):
                if len(prefix) > best_len:
                    reasons.clear()
                    best_len = len(prefix)
                if len(prefix) == best_len:
                    reasons[name] = f"sysObjectID {oid} is under {prefix}"
    for name, path in known_profiles(extra_dirs).items():
        if name in reasons:
            continue
        for probe in load_profile_file(path).definition.detect:
            value = (answers or {}).get(probe)
            if value is not None and not isinstance(value, Missing):
                reasons[name] = f"answers {probe}"
                break
    if not reasons:
        why = f"sysObjectID {oid or '(none)'} matches no profile" if oid else "no sysObjectID"
        return AutoChoice(["system"], {"system": why})
    names = sorted(reasons)
    return AutoChoice(names, {n: reasons[n] for n in names})
