"""Leadership of a pair on a real PostgreSQL (tierwatch/core/ha.py): two members in one
loop, each with its own fence, as two processes would have.

* of two members starting together exactly one leads (its rooms started once);
* a leader that stops renewing (hung) is replaced after the lease, under token 2; when it
  comes back its writes are refused by the token and it steps down (rooms stopped);
* a fenced write makes the member look at the lease at once;
* a clean stop releases the lease: the other takes it at its next look;
* a leader cut off from the store stands down when its own lease would have lapsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.postgres import run_postgres
from tierwatch.core.ha import HaConfig, Leadership, Role
from tierwatch.core.store import Store
from tierwatch.core.store.fencing import Fenced

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with run_postgres() as url:
        Store.open(url).close()
        yield url


class Member:
    """A leadership with the rooms it starts and stops, recorded."""

    def __init__(self, url: str, name: str, lease: float = 1.0, renew: float = 0.2) -> None:
        self.store = Store.open(url)
        self.events: list[str] = []
        self.ha = Leadership(self.store.engine, "main",
                             HaConfig(enabled=True, instance=name, lease=lease, renew=renew),
                             on_lead=self._lead, on_standby=self._standby)
        self.store.fence = self.ha.fence

    async def _lead(self, token: int) -> None:
        self.events.append(f"lead {token}")

    async def _standby(self) -> None:
        self.events.append("standby")


async def until(check: object, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def members(pg_url: str) -> Iterator[tuple[Member, Member]]:
    cleanup = Store.open(pg_url)
    with cleanup.engine.begin() as conn:
        conn.execute(text("DELETE FROM ha_lease"))
        conn.execute(text("DELETE FROM status_transitions"))
    cleanup.close()
    a, b = Member(pg_url, "a"), Member(pg_url, "b")
    try:
        yield a, b
    finally:
        a.store.close()
        b.store.close()


def test_one_leads_a_hung_leader_is_replaced_and_fenced_when_it_resumes(
        members: tuple[Member, Member]) -> None:
    a, b = members

    async def scenario() -> None:
        await asyncio.gather(a.ha.start(), b.ha.start())
        leaders = [m for m in (a, b) if m.ha.role is Role.LEADER]
        assert len(leaders) == 1  # the database let one take the free lease
        first = leaders[0]
        other = b if first is a else a
        assert first.events == ["lead 1"] and other.events == []
        assert first.ha.status()["holder"] == first.ha.instance

        # the leader hangs: it stops renewing but believes it leads
        await first.ha.stop()
        await until(lambda: other.ha.role is Role.LEADER, 10, "the standby to take over")
        assert other.events == ["lead 2"] and other.ha.failovers == 1
        assert first.ha.role is Role.LEADER  # it has not noticed: it hangs

        # it resumes and writes: refused by the token, nothing written, and it steps down
        with pytest.raises(Fenced):
            first.store.record_transition("device", "ups-a", "ok", "failed", 1.0)
        assert first.ha.fence.refused == 1
        await first.ha.round()  # what its renewal task does when it runs again
        assert first.ha.role is Role.STANDBY and first.events == ["lead 1", "standby"]
        assert first.store.transitions() == []
        other.store.record_transition("device", "ups-a", "ok", "failed", 2.0)
        assert [r.ts for r in other.store.transitions()] == [2.0]
        await other.ha.stop()

    asyncio.run(scenario())


def test_a_fenced_write_makes_the_member_look_at_the_lease_at_once(
        members: tuple[Member, Member]) -> None:
    a, _b = members
    a.ha.config = HaConfig(enabled=True, instance="a", lease=60.0, renew=30.0)

    async def scenario() -> None:
        await a.ha.start()
        assert a.ha.role is Role.LEADER
        # another member took the lease behind a's back (as after a hang): a would next
        # look in 30 s, but its refused write wakes it now
        with a.store.engine.begin() as conn:
            conn.execute(text("UPDATE ha_lease SET holder = 'b', token = token + 1"))
        with pytest.raises(Fenced):
            await asyncio.to_thread(a.store.record_transition, "device", "x", "ok", "failed",
                                    1.0)
        await until(lambda: a.ha.role is Role.STANDBY, 10, "a to step down")
        assert a.events == ["lead 1", "standby"]
        await a.ha.stop()

    asyncio.run(scenario())


def test_a_clean_stop_hands_over_at_the_next_look(members: tuple[Member, Member]) -> None:
    a, b = members
    a.ha.config = HaConfig(enabled=True, instance="a", lease=60.0, renew=1.0)
    b.ha.config = HaConfig(enabled=True, instance="b", lease=60.0, renew=0.2)

    async def scenario() -> None:
        await a.ha.start()
        await b.ha.start()
        assert (a.ha.role, b.ha.role) == (Role.LEADER, Role.STANDBY)
        await a.ha.stop()
        await a.ha.resign()  # its rooms stopped: the term ends in the store
        # the 60 s lease has not lapsed, yet b takes over at its next look (0.2 s)
        await until(lambda: b.ha.role is Role.LEADER, 10, "b to take the released lease")
        assert b.events == ["lead 2"]
        await b.ha.stop()

    asyncio.run(scenario())


def test_a_leader_cut_off_from_the_store_stands_down_when_its_lease_would_lapse(
        members: tuple[Member, Member]) -> None:
    """It cannot learn whether another took over, so it assumes so once its own lease has
    run out (counted from before its last renewal was sent): it pages nobody after that."""
    a, _b = members
    now = [1000.0]
    a.ha._monotonic = lambda: now[0]  # its monotonic clock, moved by hand

    async def scenario() -> None:
        await a.ha.start()  # leads from 1000.0, its lease (1 s) runs to 1001.0
        await a.ha.stop()  # no renewals by themselves: the rounds below are called by hand
        assert a.ha.role is Role.LEADER
        a.ha.engine = create_engine("postgresql+psycopg://tw@127.0.0.1:1/tw",
                                    connect_args={"connect_timeout": 2})  # nobody there
        now[0] = 1000.5
        await a.ha.round()  # no answer, lease not yet over: still leads
        assert a.ha.role is Role.LEADER and a.ha.renew_errors == 1
        now[0] = 1001.0
        await a.ha.round()
        assert a.ha.role is Role.STANDBY and a.events == ["lead 1", "standby"]
        assert a.ha.fence.token is None  # its writes are refused from now on

    asyncio.run(scenario())
