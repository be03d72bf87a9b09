"""The pair's lease and its fencing token on a real PostgreSQL (store/ha.py, store/fencing.py).

* two members racing for a free lease: exactly one gets it, with token 1;
* the holder renews under the same token; nobody else can take it before it lapses;
  after it lapses the other takes it with token 2;
* a write under a stale token is refused (Fenced), counted, and not in the table;
* a takeover waits for a write that checked the old token, so no write of an old term
  commits after a new term began;
* a released lease is taken at once.
Expected values are worked out by hand beside each assertion.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests.helpers.postgres import run_postgres
from tests.helpers.procs import wait_for
from tierwatch.core.store import Store
from tierwatch.core.store.fencing import Fence, Fenced
from tierwatch.core.store.ha import read_lease, release, try_acquire

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with run_postgres() as url:
        Store.open(url).close()  # migrated once
        yield url


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    store = Store.open(pg_url)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ha_lease"))
        conn.execute(text("DELETE FROM status_transitions"))
    try:
        yield store
    finally:
        store.close()


def test_two_members_racing_for_a_free_lease_one_wins(store: Store) -> None:
    barrier = threading.Barrier(2)
    got: dict[str, tuple[str, int]] = {}
    won: dict[str, bool] = {}

    def race(me: str) -> None:
        barrier.wait()
        lease = try_acquire(store.engine, "main", me, 30.0)
        got[me] = (lease.holder, lease.token)
        won[me] = lease.ours

    threads = [threading.Thread(target=race, args=(me,)) for me in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # both read the same row afterwards: one holder, the first term's token 1
    assert got["a"] == got["b"]
    holder, token = got["a"]
    assert holder in ("a", "b") and token == 1
    assert won == {"a": holder == "a", "b": holder == "b"}  # and only the holder was told so


def test_renew_keeps_the_token_and_a_lapsed_lease_goes_to_the_other_with_the_next(
        store: Store) -> None:
    first = try_acquire(store.engine, "main", "a", 1.0)
    assert (first.holder, first.token, first.ours) == ("a", 1, True)
    renewed = try_acquire(store.engine, "main", "a", 1.0, token=1)
    assert (renewed.holder, renewed.token, renewed.ours) == ("a", 1, True)  # same term
    assert renewed.acquired == first.acquired
    # b looks while a holds it: a's, untouched
    looked = try_acquire(store.engine, "main", "b", 1.0)
    assert (looked.holder, looked.token, looked.ours) == ("a", 1, False)
    # a restarted process of the same name knows no token: it does not get a's term
    again = try_acquire(store.engine, "main", "a", 1.0)
    assert (again.token, again.ours) == (1, False)
    # a stops renewing; within a second (the database's clock) b takes it, term 2
    taken = wait_for(lambda: (lease := try_acquire(store.engine, "main", "b", 30.0))
                     .ours and lease, 10, "the lease to lapse to b")
    assert (taken.holder, taken.token) == ("b", 2)
    # and a, coming back with its old token, finds it b's
    back = try_acquire(store.engine, "main", "a", 30.0, token=1)
    assert (back.holder, back.token, back.ours) == ("b", 2, False)
    # other names are other leases: the tier instance's pair has its own
    assert try_acquire(store.engine, "tier", "a", 1.0).token == 1
    # a lapsed term taken again by its own holder is a new term all the same
    wait_for(lambda: (row := read_lease(store.engine, "tier")) and row.expires <= row.now, 10,
             "a's tier lease to lapse")
    tier = try_acquire(store.engine, "tier", "a", 30.0, token=1)
    assert tier.token == 2
    assert (tier.holder, tier.ours) == ("a", True)


def test_a_write_under_a_stale_token_is_refused_and_not_applied(store: Store) -> None:
    old = try_acquire(store.engine, "main", "a", 0.5)
    refusals: list[str] = []
    store.fence = Fence("main", "a", on_refused=refusals.append)
    store.fence.token = old.token
    store.record_transition("device", "ups-a", "ok", "failed", 100.0, reason="trước")
    # a hangs past its lease; b takes over (token 2) and writes
    wait_for(lambda: try_acquire(store.engine, "main", "b", 30.0).holder == "b", 10,
             "b to take the lapsed lease")
    other = Store(store.engine)
    other.fence = Fence("main", "b")
    other.fence.token = 2
    other.record_transition("device", "ups-a", "failed", "ok", 200.0, reason="b")
    # a resumes and writes under token 1: refused, counted, nothing written
    with pytest.raises(Fenced):
        store.record_transition("device", "ups-a", "failed", "unknown", 201.0, reason="a cũ")
    assert store.fence.refused == 1 and len(refusals) == 1
    assert [(r.ts, r.reason) for r in store.transitions()] == [(100.0, "trước"), (200.0, "b")]
    # a member without a token (the standby) writes nothing either, without asking
    store.fence.token = None
    with pytest.raises(Fenced):
        store.open_outage("device", "ups-a", 300.0, "x")
    assert store.outages() == [] and store.fence.refused == 2


def test_a_takeover_waits_for_a_write_that_checked_the_old_token(store: Store) -> None:
    """The writes' share lock on the lease row orders them with a takeover: a write whose
    check passed commits before the next holder's term begins, never after it; the old
    holder's next write is refused."""
    lease = try_acquire(store.engine, "main", "a", 1.0)
    store.fence = Fence("main", "a")
    store.fence.token = lease.token
    checked, finish = threading.Event(), threading.Event()

    def slow_write() -> None:  # checked under token 1, then still busy when the lease lapses
        with store.write() as conn:
            checked.set()
            finish.wait(30)
            conn.execute(text("INSERT INTO status_transitions (ts, kind, subject, new, reason, "
                              "conditions) VALUES (1.0, 'device', 'ups-b', 'failed', '', "
                              "'[]')"))

    writer = threading.Thread(target=slow_write)
    writer.start()
    assert checked.wait(10)
    wait_for(lambda: (row := read_lease(store.engine, "main")) and row.expires <= row.now, 10,
             "a's lease to lapse")
    taken: list[int] = []
    taker = threading.Thread(
        target=lambda: taken.append(try_acquire(store.engine, "main", "b", 30.0).token))
    taker.start()

    def blocked() -> bool:
        with store.engine.connect() as look:
            return bool(look.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))
                .scalar())

    wait_for(blocked, 10, "b's takeover to wait on the row the write holds")
    assert taken == []  # the takeover waits for the write
    finish.set()
    writer.join(10)
    taker.join(10)
    assert taken == [2]
    assert [r.subject for r in store.transitions()] == ["ups-b"]  # committed before term 2
    with pytest.raises(Fenced):  # and a's next write is refused
        store.record_transition("device", "ups-b", "failed", "ok", 2.0)
    assert len(store.transitions()) == 1


def test_a_released_lease_is_taken_at_once(store: Store) -> None:
    lease = try_acquire(store.engine, "main", "a", 60.0)
    assert release(store.engine, "main", "a", lease.token)
    taken = try_acquire(store.engine, "main", "b", 60.0)
    assert (taken.holder, taken.token) == ("b", 2)
    assert not release(store.engine, "main", "a", lease.token)  # a's term is over
