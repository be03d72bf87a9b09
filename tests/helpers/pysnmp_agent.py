"""A pysnmp command responder in a child process, for interoperability tests.

    with run_pysnmp_agent(users=[("u", "SHA", "AES192")]) as (host, port):
        ...  # every user's passwords: "authpass123" / "privpass123"

pysnmp serves its own SNMPv2-MIB (sysDescr, sysObjectID, sysUpTime ...). Its privacy
protocols include both AES-192/256 key extensions: "AES192"/"AES256" are the Blumenthal
draft (what Net-SNMP's snmpd calls AES-192/AES-256), "AES192C"/"AES256C" are Reeder's
(Cisco's). Run as a script, it listens on the given port until killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

AUTH_PASSWORD = "authpass123"
PRIV_PASSWORD = "privpass123"


def _serve(port: int, users: list[tuple[str, str, str]]) -> None:
    import asyncio

    from pysnmp.carrier.asyncio.dgram import udp
    from pysnmp.entity import config, engine
    from pysnmp.entity.rfc3413 import cmdrsp, context

    auth = {
        "MD5": config.USM_AUTH_HMAC96_MD5,
        "SHA": config.USM_AUTH_HMAC96_SHA,
        "SHA224": config.USM_AUTH_HMAC128_SHA224,
        "SHA256": config.USM_AUTH_HMAC192_SHA256,
        "SHA384": config.USM_AUTH_HMAC256_SHA384,
        "SHA512": config.USM_AUTH_HMAC384_SHA512,
    }
    priv = {
        "DES": config.USM_PRIV_CBC56_DES,
        "AES": config.USM_PRIV_CFB128_AES,
        "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
        "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
        "AES192C": config.USM_PRIV_CFB192_AES,
        "AES256C": config.USM_PRIV_CFB256_AES,
    }

    async def main() -> None:
        snmp_engine = engine.SnmpEngine()
        config.add_transport(
            snmp_engine,
            udp.DOMAIN_NAME,
            udp.UdpTransport().open_server_mode(("127.0.0.1", port)),
        )
        for name, auth_name, priv_name in users:
            config.add_v3_user(
                snmp_engine,
                name,
                auth[auth_name],
                AUTH_PASSWORD,
                priv[priv_name],
                PRIV_PASSWORD,
            )
            config.add_vacm_user(snmp_engine, 3, name, "authPriv", (1, 3, 6), (1, 3, 6))
        snmp_context = context.SnmpContext(snmp_engine)
        cmdrsp.GetCommandResponder(snmp_engine, snmp_context)
        cmdrsp.NextCommandResponder(snmp_engine, snmp_context)
        cmdrsp.BulkCommandResponder(snmp_engine, snmp_context)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


@contextlib.contextmanager
def run_pysnmp_agent(
    users: Sequence[tuple[str, str, str]], timeout: float = 30.0
) -> Iterator[tuple[str, int]]:
    """Start the responder on a free loopback port; yield (host, port); stop it by PID."""
    from tests.helpers.snmpd import free_udp_port

    port = free_udp_port()
    spec = ",".join(":".join(u) for u in users)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.pysnmp_agent", str(port), spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
    try:
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "ready" not in line or time.monotonic() > deadline:
            raise RuntimeError(f"pysnmp agent did not start: {line}{proc.stdout.read()!r}")
        yield "127.0.0.1", port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


if __name__ == "__main__":
    listen_port = int(sys.argv[1])
    wanted = [tuple(u.split(":")) for u in sys.argv[2].split(",")]
    _serve(listen_port, wanted)  # type: ignore[arg-type]
