"""`Store.write()`, the one write seam: every write of the monitor's record goes through it,
the one place a pair's fence is checked (tierwatch/core/store/fencing.py), so a new
`engine.begin()` elsewhere would be a write a deposed leader could still make; and a write
inside another joins it."""

from __future__ import annotations

import re

import pytest

from tests.helpers.procs import ROOT
from tierwatch.core.history import History
from tierwatch.core.model import DEVICE_COMPONENT, Status, StatusChange
from tierwatch.core.store import Store

PACKAGES = ("tierwatch", "collector", "livetier", "alerts", "exporters", "report", "api",
            "power", "services", "nethealth", "sim")
# where a transaction may open without the fence, and why
UNFENCED = {
    "tierwatch/core/store/base.py": 2,  # migrations, and Store.write() itself
    "tierwatch/core/store/ha.py": 2,  # the lease row: how a member becomes the leader
    "tierwatch/core/store/tokens.py": 3,  # API tokens: the operator's, from no pair member
}


def test_writes_open_their_transaction_through_the_fenced_seam() -> None:
    found: dict[str, int] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            count = len(re.findall(r"\.begin\(\)", path.read_text(encoding="utf-8")))
            if count:
                found[str(path.relative_to(ROOT))] = count
    assert found == UNFENCED



def test_a_write_inside_a_write_joins_it() -> None:
    """What one batch of status changes leaves commits at once or not at all: a process
    killed half-way through would otherwise leave a transition without its current status,
    which the next leader of a pair would record again."""
    store = Store.open("sqlite://")
    with pytest.raises(RuntimeError), store.write():
        store.record_transition("device", "ups-a", "ok", "unknown", 10.0)
        store.open_outage("device", "ups-a", 10.0, "unreachable")
        raise RuntimeError("killed here")
    assert store.transitions() == [] and store.outages() == []
    with store.write():
        store.record_transition("device", "ups-a", "ok", "unknown", 10.0)
        store.open_outage("device", "ups-a", 10.0, "unreachable")
    assert len(store.transitions()) == 1 and len(store.outages()) == 1


def test_history_writes_a_change_and_the_status_it_leaves_together() -> None:
    store = Store.open("sqlite://")
    history = History(store, current=True)
    change = StatusChange("ups-a", DEVICE_COMPONENT, Status.OK, Status.UNKNOWN,
                          "unreachable: timeout", 20.0, frozenset({"unreachable"}))
    history.handle([change])
    (row,) = store.transitions()
    assert (row.subject, row.old, row.new) == ("ups-a", "ok", "unknown")
    (current,) = store.current_status()
    assert (current.device, current.status, current.reachable) == ("ups-a", "unknown", False)
    (outage,) = store.outages()
    assert (outage.subject, outage.start, outage.end) == ("ups-a", 20.0, None)
