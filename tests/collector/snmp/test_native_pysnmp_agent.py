"""The native engine's SNMPv3 against pysnmp's agent side: every auth protocol with
AES-192/256 in both key-extension variants (Blumenthal, as Net-SNMP names AES-192, and
Reeder, as Cisco does), plus DES and AES-128. A second implementation agreeing on keys,
digests and ciphers, in a separate process, over the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from collector.snmp import native_engine, transport
from collector.snmp.client import Credentials, SnmpAuthError, Target
from tests.helpers.pysnmp_agent import AUTH_PASSWORD, PRIV_PASSWORD, run_pysnmp_agent

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

AUTHS = ["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PRIVS = ["AES192", "AES256", "AES192C", "AES256C"]
USERS = [(f"{a}-{p}".lower(), a, p) for a in AUTHS for p in PRIVS]
USERS += [("sha-des", "SHA", "DES"), ("md5-aes", "MD5", "AES")]
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYSTEM = "1.3.6.1.2.1.1"


@pytest.fixture(scope="module")
def pysnmp_agent() -> Iterator[tuple[str, int]]:
    with run_pysnmp_agent(USERS) as address:
        yield address


def target(address: tuple[str, int], user: str, auth: str, priv: str, **kw: float) -> Target:
    credentials = Credentials(
        version="3",
        user=user,
        auth_protocol=auth,  # type: ignore[arg-type]
        auth_key=AUTH_PASSWORD,
        priv_protocol=priv,  # type: ignore[arg-type]
        priv_key=PRIV_PASSWORD,
    )
    return Target(address[0], address[1], credentials, timeout=kw.get("timeout", 3.0))


async def poll(t: Target) -> tuple[dict, dict]:
    client = native_engine.open_client(t)
    try:
        return await client.get([SYS_OBJECT_ID]), await client.walk([SYSTEM])
    finally:
        await client.close()
        transport.close_all()


@pytest.mark.parametrize(("user", "auth", "priv"), USERS, ids=[u[0] for u in USERS])
def test_v3_with_pysnmp_agent(
    pysnmp_agent: tuple[str, int], user: str, auth: str, priv: str
) -> None:
    got, walked = asyncio.run(poll(target(pysnmp_agent, user, auth, priv)))
    assert got[SYS_OBJECT_ID] == "1.3.6.1.4.1.20408"  # pysnmp's own enterprise OID
    rows = dict(walked[SYSTEM])
    assert rows["2.0"] == got[SYS_OBJECT_ID]
    assert isinstance(rows["1.0"], bytes) and b"PySNMP" in rows["1.0"]
    assert isinstance(rows["3.0"], int)  # sysUpTime


def test_wrong_key_extension_does_not_interoperate(pysnmp_agent: tuple[str, int]) -> None:
    """Blumenthal and Reeder keys differ for SHA-1 + AES-256: the other variant fails, as
    an authentication error that names privacy, never as data."""
    wrong = target(pysnmp_agent, "sha-aes256", "SHA", "AES256C", timeout=0.5)
    with pytest.raises(SnmpAuthError, match="privacy"):
        asyncio.run(poll(wrong))
