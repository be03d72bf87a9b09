"""Looking up what a poll produced, the way a dashboard query would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from collector.snmp.poller import PollResult
from tierwatch.core.model import ComponentStatus, Sample


def matching(
    samples: Iterable[Sample], name: str, labels: Mapping[str, str] | None = None
) -> list[Sample]:
    """Samples of `name` whose labels include `labels`."""
    want = dict(labels or {})
    return [
        s for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in want.items())
    ]


def sample_value(
    samples: Iterable[Sample], name: str, labels: Mapping[str, str] | None = None
) -> float | None:
    """The value of the one sample matching name and labels; None if there is none.

    More than one match is an error: the test's labels do not pick a single series.
    """
    found = matching(samples, name, labels)
    if len(found) > 1:
        raise AssertionError(
            f"{len(found)} samples match {name}{labels or ''}: {[dict(s.labels) for s in found]}"
        )
    return found[0].value if found else None


def component(result: PollResult, name: str) -> ComponentStatus:
    for comp in result.components:
        if comp.component == name:
            return comp
    raise AssertionError(f"no component {name!r}; have {[c.component for c in result.components]}")
