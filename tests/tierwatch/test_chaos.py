"""Crash safety with a ground truth: a scripted month of faults (compressed into about a
minute and a half) against a real `tierwatch run` on PostgreSQL, the leader killed with
SIGKILL twice and restarted; the store must then hold exactly what the script did.

The script, the harness and the comparison are tests/helpers/chaos*.py; the long run is
`python -m bench chaos`. The comparison table is printed (pytest -s shows it; a failure
shows it in the assertion), with the instances' logs and the rows it read in tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.chaos import run_chaos
from tests.helpers.chaos_script import make_script

pytestmark = pytest.mark.integration

# seed 1 (worked out by make_script, printed with the table): UPS on battery (twice, one
# with traps), on bypass, battery low, three agents silent, the Ninh Kiều trunk cut (a
# load outage for SITE-P-ANHOA, linkDown/linkUp traps); two kills, each while faults are
# open and one while a fault ends
SCRIPT = make_script(seed=1, duration=90, faults=8, kills=2)


def test_a_month_of_faults_and_two_kills_leave_the_store_as_the_script_says(
        tmp_path: Path) -> None:
    result = run_chaos(tmp_path, SCRIPT)
    print(result.table())
    assert len(SCRIPT.kills) == 2
    assert result.ok, "\n" + result.table()
