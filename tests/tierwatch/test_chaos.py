"""Crash safety with a ground truth: a scripted month of faults (compressed into about a
minute and a half) against real `tierwatch run` processes on PostgreSQL, the leader killed
with SIGKILL twice; the store must then hold exactly what the script did.

* single: one instance, restarted after each kill;
* pair: two members with `ha.enabled`; the standby takes over when the killed leader's
  lease lapses, and the killed member comes back as the standby (the second kill then
  strikes the member that took over).

The script, the harness and the comparison are tests/helpers/chaos*.py (docs/chaos.md);
the long run is `python -m bench chaos`. The comparison table is printed (pytest -s shows
it; a failure shows it in the assertion), with the members' logs and the rows it read in
tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.chaos import run_chaos
from tests.helpers.chaos_script import make_script
from tierwatch.config import Config

pytestmark = pytest.mark.integration

# seed 1 (worked out by make_script, printed with the table): UPS on battery (twice, one
# with traps), on bypass, battery low, three agents silent, the Ninh Kiều trunk cut (a
# load outage for SITE-P-ANHOA, linkDown/linkUp traps); two kills, each while faults are
# open and one while a fault ends
SCRIPT = make_script(seed=1, duration=90, faults=8, kills=2)


# the pair needs the `ha:` section (issue 19's active/standby pair); until this tree has it,
# the pair's run says so rather than fail on an unknown key
PAIR = pytest.param("pair", marks=pytest.mark.skipif(
    "ha" not in Config.model_fields, reason="this tierwatch has no ha: section (no pair)"))


@pytest.mark.parametrize("members", ["single", PAIR])
def test_a_month_of_faults_and_two_kills_leave_the_store_as_the_script_says(
        tmp_path: Path, members: str) -> None:
    result = run_chaos(tmp_path, SCRIPT, pair=members == "pair")
    print(result.table())
    assert result.observed is not None and len(result.observed.kills) == 2
    assert result.ok, "\n" + result.table()
