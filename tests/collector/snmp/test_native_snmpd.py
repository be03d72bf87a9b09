"""The native engine against a real Net-SNMP snmpd: gets and walks on v1, v2c and v3 with
every auth and privacy protocol snmpd has, compared value for value with what snmpget and
snmpbulkwalk read from the same agent; and the failures an operator meets (wrong community,
wrong password, unknown user, dead port, agent restart or replacement)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.snmp import native_engine, transport, usm
from collector.snmp.client import (
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    SnmpAuthError,
    SnmpTimeout,
    Target,
    Value,
    engine_factory,
)
from tests.helpers.snmpd import Agent, SnmpdUser, free_udp_port, run_snmpd, snmpd_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not snmpd_available(), reason="Net-SNMP snmpd and tools not installed"),
]

AUTHS = ["MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512"]
PRIVS = ["DES", "AES", "AES-192", "AES-256"]


def _name(auth: str | None, priv: str | None) -> str:
    return f"{auth or 'noauth'}_{priv or 'nopriv'}".lower().replace("-", "")


USERS = [SnmpdUser(_name(a, p), a, "authpass123", p, "privpass123") for a in AUTHS for p in PRIVS]
USERS += [
    SnmpdUser(_name("SHA-256", None), "SHA-256", "authpass123", None),
    SnmpdUser(_name(None, None), None, priv=None),
    # Cisco-style key extension; the Net-SNMP tools cannot speak it, so these are
    # compared with the v2c reference instead
    SnmpdUser(_name("SHA", "AES-192-C"), "SHA", "authpass123", "AES-192-C", "privpass123"),
    SnmpdUser(_name("MD5", "AES-256-C"), "MD5", "authpass123", "AES-256-C", "privpass123"),
]
CLI_USERS = [u for u in USERS if not (u.priv or "").endswith("-C")]
CISCO_USERS = [u for u in USERS if (u.priv or "").endswith("-C")]

SYSTEM = "1.3.6.1.2.1.1"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IP_ADDR = "1.3.6.1.2.1.4.20"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
ALL_ROOTS = [SYSTEM, IF_ENTRY, IP_ADDR, IFX_ENTRY]
GET_OIDS = [
    "1.3.6.1.2.1.1.1.0",  # OCTET STRING
    "1.3.6.1.2.1.1.2.0",  # OBJECT IDENTIFIER
    "1.3.6.1.2.1.1.5.0",
    "1.3.6.1.2.1.2.2.1.2.1",
    "1.3.6.1.2.1.2.2.1.5.1",  # Gauge32
    "1.3.6.1.2.1.4.20.1.1.127.0.0.1",  # IpAddress
]
MISSING = {"1.3.6.1.2.1.1.99.0": NO_SUCH_OBJECT, "1.3.6.1.2.1.1.5.1": NO_SUCH_INSTANCE}
# Values that may grow between Net-SNMP's read and ours; everything else must be equal.
GROWING = {"Counter32", "Counter64", "Timeticks"}


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with run_snmpd(
        tmp_path_factory.mktemp("snmpd"), communities=["public"], users=USERS
    ) as running:
        yield running


def assert_same_rows(
    rows: list[tuple[str, Value]], root: str, reference: list[tuple[str, Value, str]]
) -> None:
    """Our walk of `root` against Net-SNMP's, read just before ours."""
    expected = [(oid[len(root) + 1 :], value, kind) for oid, value, kind in reference]
    assert [suffix for suffix, _ in rows] == [suffix for suffix, _, _ in expected], root
    for (suffix, value), (_, ref, kind) in zip(rows, expected, strict=True):
        if kind in GROWING:
            assert isinstance(value, int) and isinstance(ref, int), (root, suffix)
            assert value >= ref, (root, suffix, value, ref)
        else:
            assert value == ref, (root, suffix, kind)


def run(coro):
    async def with_cleanup():
        try:
            return await coro
        finally:
            transport.close_all()

    return asyncio.run(with_cleanup())


async def walk_and_get(target: Target, roots: list[str]) -> tuple[dict, dict]:
    client = native_engine.open_client(target)
    try:
        return await client.walk(roots), await client.get([*GET_OIDS, *MISSING])
    finally:
        await client.close()


@pytest.mark.parametrize("version", ["1", "2c"])
def test_community_versions_match_net_snmp(agent: Agent, version: str) -> None:
    references = {root: agent.walk_cli(root, version) for root in ALL_ROOTS}
    cli_get = agent.get_cli(GET_OIDS, version)
    walked, got = run(walk_and_get(agent.target(version), ALL_ROOTS))

    for root in ALL_ROOTS:
        assert_same_rows(walked[root], root, references[root])
    assert {oid: value for oid, value, _ in cli_get} == {oid: got[oid] for oid in GET_OIDS}
    assert {oid: got[oid] for oid in MISSING} == (
        MISSING if version == "2c" else dict.fromkeys(MISSING, NO_SUCH_OBJECT)
    )
    if version == "1":  # SNMPv1 cannot carry Counter64: the agent skips those columns
        assert not any(kind == "Counter64" for _, _, kind in references[IFX_ENTRY])


@pytest.mark.parametrize("user", CLI_USERS, ids=lambda u: u.name)
def test_v3_users_match_net_snmp(agent: Agent, user: SnmpdUser) -> None:
    roots = [SYSTEM, IF_ENTRY]
    references = {root: agent.walk_cli(root, "3", user=user.name) for root in roots}
    cli_get = agent.get_cli([*GET_OIDS, *MISSING], "3", user=user.name)
    walked, got = run(walk_and_get(agent.target("3", user=user.name), roots))

    for root in roots:
        assert_same_rows(walked[root], root, references[root])
    assert {oid: value for oid, value, _ in cli_get} == got


@pytest.mark.parametrize("user", CISCO_USERS, ids=lambda u: u.name)
def test_v3_cisco_key_extension_users(agent: Agent, user: SnmpdUser) -> None:
    reference = agent.walk_cli(IF_ENTRY, "2c")
    walked, got = run(walk_and_get(agent.target("3", user=user.name), [IF_ENTRY]))
    assert_same_rows(walked[IF_ENTRY], IF_ENTRY, reference)
    assert got["1.3.6.1.2.1.1.5.0"] == agent.get_cli(["1.3.6.1.2.1.1.5.0"])[0][1]


def test_engine_is_registered_by_name(agent: Agent) -> None:
    client = engine_factory("native")(agent.target("2c"))
    assert isinstance(client, native_engine.NativeSnmpClient)
    got = run(client.get(["1.3.6.1.2.1.1.5.0"]))
    assert got == {"1.3.6.1.2.1.1.5.0": agent.get_cli(["1.3.6.1.2.1.1.5.0"])[0][1]}


def test_wrong_community_times_out(agent: Agent) -> None:
    client = native_engine.open_client(
        agent.target("2c", community="not-public", timeout=0.3, retries=1)
    )
    with pytest.raises(SnmpTimeout):
        run(client.get(["1.3.6.1.2.1.1.5.0"]))
    assert client.requests == 2


def _with_secret(target: Target, **changes: Any) -> Target:
    return dataclasses.replace(
        target, credentials=dataclasses.replace(target.credentials, **changes)
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"auth_key": "wrong-auth-pass"}, "wrong digest"),
        ({"user": "nobody"}, "unknown user"),
        ({"priv_key": "wrong-priv-pass"}, "privacy password"),
        ({"priv_protocol": "DES"}, "privacy password or protocol"),
    ],
    ids=["wrong auth password", "unknown user", "wrong priv password", "wrong priv protocol"],
)
def test_v3_refusals_are_auth_errors(agent: Agent, changes: dict[str, str], expected: str) -> None:
    target = _with_secret(agent.target("3", user="sha_aes", timeout=0.5, retries=0), **changes)
    with pytest.raises(SnmpAuthError, match=expected) as caught:
        run(native_engine.open_client(target).get(["1.3.6.1.2.1.1.5.0"]))
    text = str(caught.value)
    for secret in ("authpass123", "privpass123", "wrong-auth-pass", "wrong-priv-pass"):
        assert secret not in text
    assert caught.value.reason == "auth"


def test_dead_port_times_out_while_other_targets_keep_working(agent: Agent) -> None:
    dead_port = free_udp_port()

    async def scenario() -> tuple[object, dict, str | None, object]:
        dead = native_engine.open_client(
            Target("127.0.0.1", dead_port, agent.credentials("2c"), timeout=0.3, retries=0)
        )
        live = native_engine.open_client(agent.target("3", user="sha256_aes256"))
        failed, walked = await asyncio.gather(
            dead.get(["1.3.6.1.2.1.1.5.0"]), live.walk([IF_ENTRY]), return_exceptions=True
        )
        after = await live.get(["1.3.6.1.2.1.1.5.0"])
        shared = live.local_address == dead.local_address
        await dead.close()
        await live.close()
        return failed, walked, after, shared  # type: ignore[return-value]

    reference = agent.walk_cli(IF_ENTRY, "2c")
    failed, walked, after, shared = run(scenario())
    assert isinstance(failed, SnmpTimeout)
    assert_same_rows(walked[IF_ENTRY], IF_ENTRY, reference)
    assert after == {"1.3.6.1.2.1.1.5.0": agent.get_cli(["1.3.6.1.2.1.1.5.0"])[0][1]}
    assert shared


def test_fifty_concurrent_walks_share_one_socket(agent: Agent) -> None:
    v3_users = [u.name for u in CLI_USERS if u.priv]
    targets = [
        agent.target("2c") if i % 2 else agent.target("3", user=v3_users[i % len(v3_users)])
        for i in range(50)
    ]

    async def scenario() -> tuple[list, set]:
        clients = [native_engine.open_client(t) for t in targets]
        results = await asyncio.gather(*(c.walk([SYSTEM, IF_ENTRY]) for c in clients))
        sockets = {c.local_address for c in clients}
        for c in clients:
            await c.close()
        return results, sockets

    references = {root: agent.walk_cli(root, "2c") for root in (SYSTEM, IF_ENTRY)}
    results, sockets = run(scenario())
    assert len(sockets) == 1
    for result in results:
        for root, reference in references.items():
            assert_same_rows(result[root], root, reference)


def test_agent_restart_resynchronises_engine_time(tmp_path: Path) -> None:
    user = SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")
    sys_name = "1.3.6.1.2.1.1.5.0"

    async def scenario(agent: Agent) -> tuple[Value, Value, int, int]:
        client = native_engine.open_client(agent.target("3", timeout=1.0))
        before = (await client.get([sys_name]))[sys_name]
        boots_before = client._usm.boots  # type: ignore[union-attr]
        agent.restart()  # same engine ID, engineBoots + 1, engineTime from 0
        after = (await client.get([sys_name]))[sys_name]
        boots_after = client._usm.boots  # type: ignore[union-attr]
        await client.close()
        return before, after, boots_before, boots_after

    with run_snmpd(tmp_path, communities=[], users=[user]) as agent:
        before, after, boots_before, boots_after = run(scenario(agent))
        reference = agent.get_cli([sys_name], "3", user="ops")[0][1]
    assert before == after == reference
    assert boots_after == boots_before + 1


def test_request_outside_the_time_window_is_resynchronised(agent: Agent) -> None:
    """An agent answers a request with a stale engine time by a notInTimeWindows Report;
    the client takes the agent's clock from it and asks again."""
    sys_name = "1.3.6.1.2.1.1.5.0"

    async def scenario() -> tuple[Value, int]:
        client = native_engine.open_client(agent.target("3", user="sha_aes"))
        await client.get([sys_name])
        session = client._usm
        assert session is not None
        session.sync_time(session.boots, session.engine_time() + 100_000)  # our clock drifted
        sent_before = client.requests
        value = (await client.get([sys_name]))[sys_name]
        await client.close()
        return value, client.requests - sent_before

    value, sent = run(scenario())
    assert value == agent.get_cli([sys_name])[0][1]
    assert sent == 2  # refused once as outside the window, then answered


def test_replaced_agent_is_rediscovered(tmp_path: Path) -> None:
    user = SnmpdUser("ops", "SHA-512", "authpass123", "AES-256", "privpass123")
    with run_snmpd(tmp_path / "a", communities=[], users=[user]) as first:
        target = first.target("3", timeout=1.0)
        port = first.port

        async def scenario() -> tuple[bytes, bytes]:
            client = native_engine.open_client(target)
            await client.get(["1.3.6.1.2.1.1.5.0"])
            engine_before = client._usm.engine_id  # type: ignore[union-attr]
            first.stop()
            with run_snmpd(tmp_path / "b", communities=[], users=[user], port=port):
                await client.get(["1.3.6.1.2.1.1.5.0"])
            engine_after = client._usm.engine_id  # type: ignore[union-attr]
            await client.close()
            return engine_before, engine_after

        engine_before, engine_after = run(scenario())
    assert engine_before and engine_after and engine_before != engine_after


def test_our_keys_equal_the_keys_snmpd_localized(tmp_path: Path) -> None:
    """snmpd saves each user's localized keys when it stops: ours must be identical,
    including the AES-192/256 key extensions (Blumenthal, and Reeder for the -C users)."""
    users = [u for u in USERS if u.auth]
    with run_snmpd(tmp_path, communities=[], users=users) as agent:
        pass
    saved = {}
    for line in agent.persisted_users():
        # usmUser 1 3 ENGINE NAME SECNAME CLONEFROM AUTHPROTO AUTHKEY PRIVPROTO PRIVKEY ...
        fields = line.split()
        name = fields[4]
        name = bytes.fromhex(name[2:]).decode() if name.startswith("0x") else name.strip('"')
        privkey = fields[10]
        saved[name] = (
            bytes.fromhex(fields[3][2:]),
            bytes.fromhex(fields[8][2:]),
            bytes.fromhex(privkey[2:]) if privkey.startswith("0x") else b"",
        )
    assert set(saved) == {u.name for u in users}
    for user in users:
        engine, auth_key, theirs = saved[user.name]
        assert usm.auth_key(b"authpass123", engine, user.seam_auth or "") == auth_key, user.name
        if user.priv:
            ours = usm.priv_key(b"privpass123", engine, user.seam_auth or "", user.seam_priv or "")
            assert theirs[: len(ours)] == ours, user.name
            assert len(theirs) >= len(ours)


# get_walk: scalars ride in the walk's first GETBULK as non-repeaters
SCALARS = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0",
           "1.3.6.1.2.1.1.99.0",  # missing: GETNEXT(1.3.6.1.2.1.1.99) names another object
           "1.3.6.1.99.1.0",  # past everything the agent serves: endOfMibView
           "1.3.6.1.2.1.1.5.0"]  # asked twice
INSTANCES = ["1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.1.5.1"]  # not .0: asked with a GET


@pytest.mark.parametrize(("version", "user"), [("2c", None), ("3", "sha_aes"), ("1", None)])
def test_get_walk_answers_what_get_and_walk_answer(agent: Agent, version: str,
                                                   user: str | None) -> None:
    oids = [*SCALARS, *INSTANCES]
    roots = [IF_ENTRY, IFX_ENTRY]

    async def both() -> tuple[Any, ...]:
        client = native_engine.open_client(agent.target(version, user=user))
        try:
            await client.get(["1.3.6.1.2.1.1.5.0"])  # v3 discovery out of the way
            separate = (await client.get(oids), await client.walk(roots))
            together = await client.get_walk(oids, roots)
            start = client.requests  # scalars only: the GET is saved altogether
            await client.get(SCALARS)
            await client.walk(roots)
            middle = client.requests
            await client.get_walk(SCALARS, roots)
            return separate, together, middle - start, client.requests - middle
        finally:
            await client.close()

    (got, walked), (got2, walked2), separate_requests, together_requests = run(both())
    assert got2 == got
    assert got2["1.3.6.1.2.1.1.99.0"] is got2["1.3.6.1.99.1.0"] is NO_SUCH_OBJECT
    assert got2["1.3.6.1.2.1.1.5.0"] == agent.get_cli(["1.3.6.1.2.1.1.5.0"])[0][1]
    for root in roots:  # counters move between the two reads; the rows are the same
        assert [s for s, _ in walked2[root]] == [s for s, _ in walked[root]], root
    assert len(walked2[IF_ENTRY]) >= 22
    if version == "1":
        assert together_requests == separate_requests
    else:
        assert together_requests == separate_requests - 1
