"""Alertmanager silences for maintenance windows: the matcher sets a window's scope needs.

One silence per kind of scope entry, since a silence's matchers all have to hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from alerts.matchers import Matcher
from tierwatch.core.maintenance import Scope


def silence_matchers(scope: Scope) -> list[list[Matcher]]:
    """Matcher sets whose union is what the scope covers (one silence each)."""
    sets: list[list[Matcher]] = []
    if scope.devices:
        sets.append([_any_of("device", scope.devices)])
    plain = sorted(c for c in scope.components if "/" not in c)
    if plain:
        sets.append([_any_of("component", plain)])
        sets.append([_any_of("node", plain)])
    by_device: dict[str, list[str]] = {}
    for entry in sorted(c for c in scope.components if "/" in c):
        device, _, component = entry.partition("/")
        by_device.setdefault(device, []).append(component)
    for device, components in sorted(by_device.items()):
        sets.append([Matcher.parse(f'device="{_q(device)}"'),
                     _any_of("component", components)])
    if scope.subsystems:
        sets.append([_any_of("subsystem", scope.subsystems)])
    return sets


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _any_of(label: str, values: Iterable[str]) -> Matcher:
    values = sorted(values)
    if len(values) == 1:
        return Matcher.parse(f'{label}="{_q(values[0])}"')
    pattern = "|".join(re.escape(v) for v in values)
    return Matcher.parse(f'{label}=~"{_q(pattern)}"')
