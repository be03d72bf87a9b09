"""Where agent profiles live and how they are found: the shipped YAML files beside this
module, and any directories the config adds (searched first, so a site can override one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from collector.agent_profile import AgentProfile, parse_agent_profile

SHIPPED = Path(__file__).resolve().parent


class AgentProfileError(Exception):
    """A profile file that cannot be used; the message names the file and the key."""


def known_agent_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Profile name -> file, earlier directories winning."""
    found: dict[str, Path] = {}
    for directory in [*(Path(d) for d in extra_dirs), SHIPPED]:
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def load_agent_profile_file(path: Path) -> AgentProfile:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_cached(path: Path, _mtime: int, _size: int) -> AgentProfile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AgentProfileError(f"{path}: {exc}") from None
    try:
        definition = parse_agent_profile(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
            lines.append(f"{path}: {key.replace('.[', '[')}: "
                         f"{err['msg'].removeprefix('Value error, ')}")
        raise AgentProfileError("\n".join(lines)) from None
    if definition.name != path.stem:
        raise AgentProfileError(f"{path}: name: {definition.name!r} differs from the file name")
    return AgentProfile(definition)


def load_agent_profiles(names: Sequence[str], extra_dirs: Iterable[Path] = ()
                        ) -> list[AgentProfile]:
    """The named profiles and everything they include, each once, includes first."""
    known = known_agent_profiles(extra_dirs)
    ordered: list[AgentProfile] = []
    seen: set[str] = set()

    def add(name: str, chain: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in chain:
            raise AgentProfileError(f"agent profile include cycle: {' -> '.join((*chain, name))}")
        if name not in known:
            raise AgentProfileError(f"unknown agent profile {name!r} "
                                    f"(known: {', '.join(sorted(known))})")
        profile = load_agent_profile_file(known[name])
        for included in profile.definition.include:
            add(included, (*chain, name))
        seen.add(name)
        ordered.append(profile)

    for name in names:
        add(name, ())
    return ordered
