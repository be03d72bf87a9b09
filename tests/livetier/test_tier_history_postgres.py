"""The live tier's history on a real PostgreSQL: a restart across an open outage, exposure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.postgres import run_postgres
from tests.livetier.test_tier_history import Rig, check_exposure, check_restart

pytestmark = pytest.mark.integration


async def test_restart_and_exposure_on_postgres(tmp_path: Path) -> None:
    with run_postgres() as url:
        await check_restart(Rig(tmp_path, url=url))
        # the same database again, emptied of the first scenario's rows
        from sqlalchemy import text

        from tierwatch.core.store import Store

        store = Store.open(url)
        with store.engine.begin() as conn:
            for table in (
                "status_transitions",
                "outages",
                "exposures",
                "unmonitored",
                "heartbeats",
            ):
                conn.execute(text(f"DELETE FROM {table}"))
        store.close()
        rig = Rig(tmp_path, url=url)
        try:
            await check_exposure(rig)
        finally:
            await rig.stop()
