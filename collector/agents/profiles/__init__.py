"""Where agent profiles live and how they are found: the shipped YAML files beside this
module, and any directories the config adds (searched first, so a site can override one)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from collector import profile_files
from collector.agents.profile import AgentProfile, parse_agent_profile

SHIPPED = Path(__file__).resolve().parent


class AgentProfileError(Exception):
    """A profile file that cannot be used; the message names the file and the key."""


def known_agent_profiles(extra_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Profile name -> file, earlier directories winning."""
    return profile_files.find([*(Path(d) for d in extra_dirs), SHIPPED])


def load_agent_profile_file(path: Path) -> AgentProfile:
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_cached(path: Path, _mtime: int, _size: int) -> AgentProfile:
    return AgentProfile(profile_files.read(path, parse_agent_profile, AgentProfileError))


def load_agent_profiles(names: Sequence[str], extra_dirs: Iterable[Path] = ()
                        ) -> list[AgentProfile]:
    """The named profiles and everything they include, each once, includes first."""
    return profile_files.resolve(names, known_agent_profiles(extra_dirs),
                                 load_agent_profile_file, lambda p: p.definition.include,
                                 AgentProfileError, "agent profile")
