"""Where profiles live and how they are found: the shipped YAML files beside this module,
and any directories the config adds (searched first, so a site can override a profile)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from collector.profile import Profile, parse_profile

SHIPPED = Path(__file__).resolve().parent


class ProfileError(Exception):
    """A profile file that cannot be used; the message names the file and the key."""


def _dirs(extra: Iterable[Path]) -> list[Path]:
    return [*(Path(d) for d in extra), SHIPPED]


def known_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Profile name -> file, earlier directories winning."""
    found: dict[str, Path] = {}
    for directory in _dirs(extra_dirs):
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def load_profile_file(path: Path) -> Profile:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _load_cached(path: Path, _mtime: int, _size: int) -> Profile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from None
    try:
        definition = parse_profile(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
            lines.append(f"{path}: {key.replace('.[', '[')}: {err['msg']}")
        raise ProfileError("\n".join(lines)) from None
    if definition.name != path.stem:
        raise ProfileError(f"{path}: name: {definition.name!r} differs from the file name")
    return Profile(definition)


def load_profiles(names: Sequence[str], extra_dirs: Iterable[Path] = ()) -> list[Profile]:
    """The named profiles and everything they include, each once, includes first."""
    known = known_profiles(extra_dirs)
    ordered: list[Profile] = []
    seen: set[str] = set()

    def add(name: str, chain: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in chain:
            raise ProfileError(f"profile include cycle: {' -> '.join((*chain, name))}")
        if name not in known:
            raise ProfileError(f"unknown profile {name!r}")
        profile = load_profile_file(known[name])
        for included in profile.definition.include:
            add(included, (*chain, name))
        seen.add(name)
        ordered.append(profile)

    for name in names:
        add(name, ())
    return ordered


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
