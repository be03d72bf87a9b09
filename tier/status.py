"""The tier engine's own status type: what a topology node is, as scoring reads it."""

from __future__ import annotations

from enum import StrEnum


class NodeStatus(StrEnum):
    """Status of a topology node as the tier engine sees it.

    `bypass` and `off` are kept apart from `failed` because the report counts time on
    bypass as exposure, and an operator reading "not now: UPS-B is on bypass" needs the word.
    """

    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    BYPASS = "bypass"
    OFF = "off"
