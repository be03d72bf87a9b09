"""The same store on a real PostgreSQL: migrations match the model, outages round-trip."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.helpers.postgres import run_postgres
from tierwatch.core.store import Store
from tierwatch.core.store.schema import metadata

pytestmark = pytest.mark.integration


def test_store_on_postgres() -> None:
    with run_postgres() as url:
        store = Store.open(url)
        try:
            with store.engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), metadata) == []
            store.open_outage("load", "site-phong-an-khanh", 10.0, "mất đường truyền",
                              subsystem="network", affected=["site-phong-an-khanh"])
            store.close_outage("load", "site-phong-an-khanh", 70.0)
            (outage,) = store.outages()
            assert (outage.start, outage.end, outage.cause) == (10.0, 70.0, "mất đường truyền")
        finally:
            store.close()
