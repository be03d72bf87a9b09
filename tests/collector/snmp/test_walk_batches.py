"""A walk that knows the agent's last answer asks for it in fewer requests
(native_engine `_walk_in_batches`), against a real Net-SNMP snmpd whose table the test sizes:
UCD-SNMP-MIB's prTable has one row per `proc` line of snmpd.conf, nine columns each.

Request counts, worked out by hand from RFC 3416 and Net-SNMP's cap of 100 repetitions in
all (maxGetbulkResponses; non-repeaters are not counted in it), for the nine prTable columns
with ten rows, two dskTable columns with none (no `disk` line) and one scalar:

- the first walk knows nothing: every column in every request, 11 of them, so the agent
  cuts the repetitions to 100 // 11 = 9: rows 1-9 of prTable (dskTable's two columns end at
  once), then 9 columns with 100 // 9 = 11 repetitions: row 10 and the end. 2 requests.
- the next walk knows the rows (SNMPv3 authPriv the same): ten rows and the one past the
  end is 11 repetitions, 9 x 11 = 99 fit one request; the two empty columns and the scalar
  ride as non-repeaters. 1 request.

Rows are compared with snmpbulkwalk's, read from the same agent: after the agent grows
(14 rows: the walk must go on past what it expected) and shrinks (3 rows). Then two agents
of the simulator's responder (tests/helpers/bad_agents.py) with a table written out here:
one answers more than 100 repetitions, one refuses the planned request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.snmp import native_engine, transport
from collector.snmp.client import Credentials, Target, Value
from tests.helpers.bad_agents import bad_agent
from tests.helpers.snmpd import SnmpdUser, run_snmpd, snmpd_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not snmpd_available(), reason="Net-SNMP snmpd and tools not installed"),
]

PR_ENTRY = "1.3.6.1.4.1.2021.2.1"
PR_COLUMNS = [f"{PR_ENTRY}.{n}" for n in (1, 2, 3, 4, 5, 100, 101, 102, 103)]
DSK_COLUMNS = ["1.3.6.1.4.1.2021.9.1.1", "1.3.6.1.4.1.2021.9.1.2"]  # no `disk` line: no rows
ROOTS = [*PR_COLUMNS, *DSK_COLUMNS]
SYS_NAME = "1.3.6.1.2.1.1.5.0"
USER = SnmpdUser("sha_aes", "SHA", "authpass123", "AES", "privpass123")


def procs(n: int) -> list[str]:
    # names no process has: prCount stays 0 and every value stays still between two reads
    return [f"proc tierwatch-none-{k} 1 0" for k in range(n)]


def reference(agent, root: str) -> list[tuple[str, Value]]:  # type: ignore[no-untyped-def]
    return [(oid[len(root) + 1:], value) for oid, value, _ in agent.walk_cli(root)]


async def walk_with(client) -> tuple[dict[str, list[tuple[str, Value]]], Value, int]:  # type: ignore[no-untyped-def]
    before = client.requests
    got, walked = await client.get_walk([SYS_NAME], ROOTS)
    return walked, got[SYS_NAME], client.requests - before


def run(coro):  # type: ignore[no-untyped-def]
    async def with_cleanup():  # type: ignore[no-untyped-def]
        try:
            return await coro
        finally:
            transport.close_all()

    return asyncio.run(with_cleanup())


@pytest.mark.parametrize("version", ["2c", "3"])
def test_a_known_table_is_walked_in_fewer_requests_with_the_same_rows(tmp_path: Path,
                                                                      version: str) -> None:
    with run_snmpd(tmp_path, extra_config=procs(10), users=[USER]) as agent:
        expected = {root: reference(agent, root) for root in PR_COLUMNS}
        name = agent.get_cli([SYS_NAME])[0][1]

        async def twice():  # type: ignore[no-untyped-def]
            client = native_engine.open_client(agent.target(version, user=USER.name))
            try:
                if version == "3":  # the engine's discovery out of the way first
                    await client.get([SYS_NAME])
                return await walk_with(client), await walk_with(client)
            finally:
                await client.close()

        (first, first_name, first_requests), (second, second_name, second_requests) = \
            run(twice())
    assert [len(expected[c]) for c in PR_COLUMNS] == [10] * 9  # the table the counts assume
    for walked in (first, second):
        assert {c: walked[c] for c in PR_COLUMNS} == expected
        assert walked[DSK_COLUMNS[0]] == walked[DSK_COLUMNS[1]] == []
    assert first_name == second_name == name
    assert (first_requests, second_requests) == (2, 1)


def resize(agent, rows: int) -> None:  # type: ignore[no-untyped-def]
    """The same agent at the same address, restarted with another number of rows."""
    agent.stop()
    config = agent.directory / "snmpd.conf"
    kept = [line for line in config.read_text().splitlines() if not line.startswith("proc ")]
    config.write_text("\n".join([*kept, *procs(rows)]) + "\n")
    assert agent.start(), "snmpd did not restart"


@pytest.mark.parametrize("rows_now", [14, 3])
def test_a_table_that_changed_since_the_last_walk_is_walked_whole(tmp_path: Path,
                                                                 rows_now: int) -> None:
    with run_snmpd(tmp_path, extra_config=procs(10)) as agent:

        async def across_restart():  # type: ignore[no-untyped-def]
            client = native_engine.open_client(agent.target("2c"))
            try:
                await walk_with(client)  # learns 10 rows a column
                resize(agent, rows_now)
                return await walk_with(client)
            finally:
                await client.close()

        walked, _, _ = run(across_restart())
        expected = {root: reference(agent, root) for root in PR_COLUMNS}
    assert [len(expected[c]) for c in PR_COLUMNS] == [rows_now] * 9
    assert {c: walked[c] for c in PR_COLUMNS} == expected


# An agent with no cap of 100 (the simulator's responder, as many embedded agents: as many
# repetitions as fit a datagram): 40 columns of 4 rows and an empty column, under a private
# enterprise arc, and one scalar after them.
TABLE = "1.3.6.1.4.1.99999.1.1"
WIDE_COLUMNS = [f"{TABLE}.{c}" for c in range(1, 41)]
EMPTY_COLUMN = f"{TABLE}.41"
SCALAR = "1.3.6.1.4.1.99999.2.0"
WIDE_VALUES = {f"{TABLE}.{c}.{r}": (0x02, c * 100 + r) for c in range(1, 41)
               for r in range(1, 5)}
WIDE_VALUES[SCALAR] = (0x02, 7)
# what each column holds, written out: rows 1-4, value column x 100 + row
WIDE_EXPECTED = {f"{TABLE}.{c}": [(str(r), c * 100 + r) for r in range(1, 5)]
                 for c in range(1, 41)}


async def _walks(mode: str, count: int) -> list[tuple[dict[str, list[tuple[str, Value]]],
                                                      Value, int]]:
    async with bad_agent(mode, WIDE_VALUES) as (host, port):
        target = Target(host, port, Credentials(version="2c", community="public"))
        client = native_engine.open_client(target)
        try:
            out = []
            for _ in range(count):
                before = client.requests
                got, walked = await client.get_walk([SCALAR], [*WIDE_COLUMNS, EMPTY_COLUMN])
                out.append((walked, got[SCALAR], client.requests - before))
            return out
        finally:
            await client.close()


def test_an_agent_that_answers_more_than_a_hundred_keeps_its_one_request() -> None:
    # first walk: 41 columns x 25 repetitions in one answer (1,025 varbinds, under the
    # responder's 1,500): one request. Planned: 40 columns x 5 rows = 200 repetitions,
    # which this agent was seen to answer, and the empty column as a non-repeater: one.
    walks = run(_walks("plain", 3))
    for walked, scalar, _ in walks:
        assert {c: walked[c] for c in WIDE_COLUMNS} == WIDE_EXPECTED
        assert walked[EMPTY_COLUMN] == []
        assert scalar == 7
    assert [requests for _, _, requests in walks] == [1, 1, 1]


def test_an_agent_refusing_the_planned_request_is_walked_the_usual_way_after() -> None:
    # the planned request carries two non-repeaters (the scalar and the empty column),
    # which this agent answers tooBig: the walk goes on the usual way (one more request),
    # and the next walk does not try the plan again
    walks = run(_walks("toobig_non_repeaters", 3))
    for walked, scalar, _ in walks:
        assert {c: walked[c] for c in WIDE_COLUMNS} == WIDE_EXPECTED
        assert walked[EMPTY_COLUMN] == []
        assert scalar == 7
    assert [requests for _, _, requests in walks] == [1, 2, 1]
