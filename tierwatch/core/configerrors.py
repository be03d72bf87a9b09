"""Where a config problem is: YAML read with a line for every key path, and pydantic's
errors turned into key paths an operator can find.

Every file tierwatch reads (tierwatch.yaml, profiles, rule files) reports problems the same
way: `file:line: key.path: message`.

    doc = read_yaml(text, path)              # raises ConfigError "file:3: not valid YAML: ..."
    doc.where("devices[3].credentials")      # "tierwatch.yaml:14"
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


@dataclass
class ConfigError(Exception):
    """The file cannot be used. `problems` are complete lines: 'file:line: key.path: message'."""

    problems: list[str]
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file and the line of every key path in it."""

    path: Path
    data: Any
    lines: dict[str, int]

    def line(self, key_path: str) -> int | None:
        """The line of the key, or of its closest ancestor that the file has."""
        return nearest_line(self.lines, key_path)

    def where(self, key_path: str) -> str:
        line = self.line(key_path)
        return f"{self.path}:{line}" if line else str(self.path)

    def problems(self, found: Iterable[tuple[str, str]]) -> list[str]:
        """(key path, message) pairs as 'file:line: key.path: message' lines."""
        return [f"{self.where(key)}: {key}: {message}" for key, message in found]


def read_yaml(text: str, path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader
              ) -> YamlDocument:
    """Parse `text`; a syntax error is a ConfigError naming the file and line."""
    try:
        root = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)  # a SafeLoader (or a subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{at}: not valid YAML: {problem}"]) from None
    return YamlDocument(path, data, line_index(root))


def line_index(root: yaml.Node | None) -> dict[str, int]:
    """Map key paths ('devices[3].credentials') to 1-based line numbers in the YAML text."""
    index: dict[str, int] = {}

    def walk(node: yaml.Node, key: str) -> None:
        index.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                child = f"{key}.{k_node.value}" if key else str(k_node.value)
                index[child] = k_node.start_mark.line + 1
                walk(v_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{key}[{i}]")

    if root is not None:
        walk(root, "")
    return index


def nearest_line(index: dict[str, int], key_path: str) -> int | None:
    """The line of the key, or of its closest ancestor that the file has."""
    probe = key_path
    while probe:
        if probe in index:
            return index[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None


def pydantic_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """pydantic's errors as (key path, message), in words an operator reads."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        parts: list[str] = []
        for item in err["loc"]:
            if isinstance(item, int):
                parts.append(f"[{item}]")
            elif _is_branch_tag(str(item)):
                continue  # pydantic names union branches in loc; operators do not need them
            else:
                parts.append(("." if parts else "") + str(item))
        key = "".join(parts) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/configuration.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append((key, msg))
    return out


def _is_branch_tag(item: str) -> bool:
    return item in {"str", "int", "float", "list[str]", "dict[str,any]", "function-after",
                    "function-before", "function-plain", "literal['1','2c','3']"} or (
        item.startswith(("function-", "literal[", "tagged-union[", "json-or-python["))
    )
