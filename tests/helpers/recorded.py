"""Replay .snmprec data through the client seam: a FakeSnmpClient that answers what the
simulator would serve, without opening a socket.

The data is parsed by the simulator's own reader (sim/snmprec.py), moving values are taken
at a fixed moment (`elapsed` seconds after start; 0 by default, so a `numeric` variation
shows its `initial` value and every test sees the same numbers), and values are cut to
their SNMP type's width as the agent does before it encodes them. An overlay sets OIDs to
other values, as a fault of sim/models.yaml does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from collector.profiles import load_profiles
from collector.snmp.client import FakeSnmpClient, Value
from collector.snmp.poller import PollPlan, PollResult, poll
from sim import agent, snmprec

OverlayKey = str | tuple[int, ...]


def _oid_text(oid: OverlayKey) -> str:
    if isinstance(oid, tuple):
        return ".".join(str(arc) for arc in oid)
    return str(oid).strip(".")


def _wire(tag: int, value: Any) -> Value:
    """The value as the simulator puts it on the wire, in the seam's plain types."""
    if tag in (4, 68):
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    if tag == 5:
        return None
    if tag in (6, 64):
        return str(value).strip(".")
    number = int(value)
    if tag in (65, 67):  # Counter32, TimeTicks wrap
        return number % 2**32
    if tag == 66:  # Gauge32 latches at its bounds
        return max(0, min(number, 2**32 - 1))
    if tag == 70:
        return number % 2**64
    return number  # INTEGER / Integer32


def values_from_snmprec(
    path: Path, overlay: Mapping[OverlayKey, Any] | None = None, elapsed: float = 0.0
) -> dict[str, Value]:
    entries = snmprec.load(Path(path))
    over = {_oid_text(k): v for k, v in (overlay or {}).items()}
    values: dict[str, Value] = {}
    for oid, entry in entries.items():
        key = ".".join(str(arc) for arc in oid)
        raw = over[key] if key in over else entry.at(elapsed)
        values[key] = _wire(entry.tag, raw)
    missing = set(over) - set(values)
    if missing:
        raise KeyError(f"overlay OIDs not in {path}: {sorted(missing)}")
    return values


def client_from_snmprec(
    path: Path | str, overlay: Mapping[OverlayKey, Any] | None = None, elapsed: float = 0.0
) -> FakeSnmpClient:
    """A fake agent serving the .snmprec file, with `overlay` OIDs set to other values."""
    return FakeSnmpClient(values_from_snmprec(Path(path), overlay, elapsed))


def model_overlay(model: str, faults: Iterable[str] = ()) -> dict[tuple[int, ...], Any]:
    """The OIDs the named faults of a sim/models.yaml model set, merged in order."""
    spec = agent.load_models()[model]
    merged: dict[tuple[int, ...], Any] = {}
    for fault in faults:
        merged.update(spec.faults[fault])
    return merged


def model_data_path(model: str) -> Path:
    import yaml

    spec = yaml.safe_load(agent.MODELS_FILE.read_text(encoding="utf-8"))
    return agent.DATA_DIR / spec["models"][model]["data"]


def client_for_model(
    model: str, faults: Iterable[str] = (), elapsed: float = 0.0
) -> FakeSnmpClient:
    """A fake agent for a simulated model of sim/models.yaml, with some of its faults on."""
    return client_from_snmprec(model_data_path(model), model_overlay(model, faults), elapsed)


async def poll_model(
    model: str,
    profiles: Iterable[str],
    faults: Iterable[str] = (),
    overlay: Mapping[OverlayKey, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> PollResult:
    """One poll of a simulated model through the named profiles (and their includes), with
    some of the model's faults on and any further OIDs overlaid."""
    merged: dict[OverlayKey, Any] = dict(model_overlay(model, faults))
    merged.update(overlay or {})
    client = client_from_snmprec(model_data_path(model), merged)
    plan = PollPlan(load_profiles(list(profiles)))
    return await poll(model, client, plan, dict(labels or {"device": model}), now=0.0)
