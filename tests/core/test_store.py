"""The store: migrations that match the model, and history that survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tierwatch.core.model import Status, StatusChange
from tierwatch.core.store import Store
from tierwatch.core.store.schema import metadata


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_open_twice_is_idempotent(tmp_path: Path) -> None:
    """Opening migrates; opening a migrated store again changes nothing and loses nothing."""
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    first = Store.open(url)
    first.record_transition("load", "R1", None, "served", 10.0)
    first.open_outage("load", "R1", 20.0, "no path", subsystem="power")
    with first.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    first.close()
    second = Store.open(url)
    with second.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == version
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert len(version) == 1
    assert [(t.subject, t.new, t.ts) for t in second.transitions()] == [("R1", "served", 10.0)]
    assert [(o.subject, o.start, o.end) for o in second.open_outages()] == [("R1", 20.0, None)]
    second.close()


def test_outage_open_at_shutdown_is_open_after_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = Store.open(url)
    store.start_instance("main", now=1000.0, max_silence=60)
    store.open_outage("load", "R7", 1100.0, "no path: PDU-7A failed", subsystem="power",
                      affected=["R7"])
    store.heartbeat("main", 1200.0)
    store.close()

    store = Store.open(url)  # restarted 30 minutes later
    gap = store.start_instance("main", now=3000.0, max_silence=60)
    assert gap is not None and (gap.start, gap.end) == (1200.0, 3000.0)
    (outage,) = store.open_outages()
    assert (outage.subject, outage.start, outage.end) == ("R7", 1100.0, None)
    assert [(g.start, g.end) for g in store.unmonitored()] == [(1200.0, 3000.0)]
    assert store.close_outage("load", "R7", 3100.0)
    assert store.open_outages() == []
    assert [(o.start, o.end) for o in store.outages(since=0, until=5000)] == [(1100.0, 3100.0)]


def test_a_second_open_for_the_same_subject_is_the_same_outage(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    first = store.open_outage("load", "R1", 10.0, "x")
    assert store.open_outage("load", "R1", 20.0, "y") == first
    assert len(store.outages()) == 1


def test_outages_filtered_by_overlap(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    for subject, start, end in [("a", 0, 10), ("b", 20, 30), ("c", 40, None)]:
        store.open_outage("load", subject, start, "x")
        if end is not None:
            store.close_outage("load", subject, end)
    assert [o.subject for o in store.outages(since=5, until=25)] == ["a", "b"]
    assert [o.subject for o in store.outages(since=35)] == ["c"]


def test_status_changes_are_recorded(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.record_changes([
        StatusChange("ups-a", "ups", Status.OK, Status.DEGRADED, "on battery", 5.0,
                     frozenset({"on_battery"})),
        StatusChange("ups-a", "device", None, Status.DEGRADED, "ups: on battery", 5.0),
    ])
    rows = store.transitions()
    assert [(r.kind, r.subject, r.old, r.new) for r in rows] == [
        ("component", "ups-a/ups", "ok", "degraded"), ("device", "ups-a", None, "degraded")]
    assert rows[0].conditions == '["on_battery"]'


def test_maintenance_windows(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    wid = store.add_maintenance("Thay ắc quy UPS-A", 100.0, 200.0, {"devices": ["ups-a"]},
                                "an.nguyen", now=50.0)
    (row,) = store.maintenance()
    assert row.title == "Thay ắc quy UPS-A" and row.id == wid
    assert store.delete_maintenance(wid, now=60.0)
    assert store.maintenance() == []
    with pytest.raises(ValueError):
        store.add_maintenance("bad", 200.0, 100.0, {}, "x", now=0.0)


@pytest.mark.parametrize(("url", "words"), [
    ("postgresql+nosuchdriver://tw:pw-Zq9x@db.example/tw", "Can't load plugin"),
    ("mysql+nosuchdriver://tw:pw-Zq9x@db.example/tw", "Can't load plugin"),
    # a driver tierwatch does not install (the `postgres` extra brings psycopg 3)
    ("postgresql+psycopg2://tw:pw-Zq9x@db.example/tw", "No module named 'psycopg2'"),
])
def test_a_store_that_cannot_be_used_is_named_without_its_password(url: str,
                                                                  words: str) -> None:
    from tierwatch.core.store import StoreUnavailable

    with pytest.raises(StoreUnavailable) as err:
        Store.open(url)
    message = str(err.value)
    assert message.startswith(f"the store {url.split('://')[0]}://tw:***@db.example/tw "
                              "cannot be used: ")
    assert words in message and "pw-Zq9x" not in message


def test_trap_events_are_pruned_by_age_and_count(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    try:
        store.record_trap_events([{"ts": float(t), "device": "d", "source": "10.0.0.1",
                                   "trap_oid": "1.3.6.1.6.3.1.1.5.1", "name": "coldStart",
                                   "detail": ""} for t in range(10)])  # ids 1..10, ts 0..9
        assert store.count_trap_events() == 10
        # older than ts 3 go (0, 1, 2), then all but the newest 5 (ids 6..10 = ts 5..9)
        assert store.prune_trap_events(before=3.0, keep=5) == 5
        assert sorted(r.ts for r in store.trap_events()) == [5.0, 6.0, 7.0, 8.0, 9.0]
        assert store.prune_trap_events(before=0.0, keep=5) == 0
    finally:
        store.close()
