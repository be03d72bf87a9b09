"""What SNMP profiles (collector/profiles/) and agent profiles (collector/agents/profiles/)
share as files: YAML found by name in a list of directories (earlier ones win, so a site
can override a shipped profile), validated into a pydantic model with errors that name the
file and the key, and `include:` lists resolved in order, each profile once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import ValidationError


class Definition(Protocol):
    @property
    def name(self) -> str: ...


D = TypeVar("D", bound=Definition)
P = TypeVar("P")


def find(dirs: Iterable[Path]) -> dict[str, Path]:
    """Profile name (the file's stem) -> file, earlier directories winning."""
    found: dict[str, Path] = {}
    for directory in dirs:
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def read(path: Path, parse: Callable[[Any], D], error: type[Exception]) -> D:
    """The file's definition; `error` names the file and each offending key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: {exc}") from None
    try:
        definition = parse(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
            lines.append(f"{path}: {key.replace('.[', '[')}: "
                         f"{err['msg'].removeprefix('Value error, ')}")
        raise error("\n".join(lines)) from None
    if definition.name != path.stem:
        raise error(f"{path}: name: {definition.name!r} differs from the file name")
    return definition


def resolve(names: Sequence[str], known: dict[str, Path], load: Callable[[Path], P],
            includes: Callable[[P], Sequence[str]], error: type[Exception], kind: str
            ) -> list[P]:
    """The named profiles and everything they include, each once, includes first."""
    ordered: list[P] = []
    seen: set[str] = set()

    def add(name: str, chain: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in chain:
            raise error(f"{kind} include cycle: {' -> '.join((*chain, name))}")
        if name not in known:
            raise error(f"unknown {kind} {name!r} (known: {', '.join(sorted(known))})")
        profile = load(known[name])
        for included in includes(profile):
            add(included, (*chain, name))
        seen.add(name)
        ordered.append(profile)

    for name in names:
        add(name, ())
    return ordered
