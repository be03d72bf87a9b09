"""Every write of the monitor's record goes through `Store.write()`, the one place a pair's
fence is checked (tierwatch/core/store/fencing.py): a new `engine.begin()` elsewhere would
be a write a deposed leader could still make."""

from __future__ import annotations

import re

from tests.helpers.procs import ROOT

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

