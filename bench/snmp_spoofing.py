"""Issue 13's spoofing attacks against three SNMPv3 managers, in one run, on one agent.

    PYTHONPATH=. python bench/snmp_spoofing.py [--polls 10]     (root: raw sockets)

A Net-SNMP snmpd (authPriv SHA/AES user) behind a relay that delays its answers by 30 ms;
an attacker on loopback sniffs each request (AF_PACKET) and answers first from the relay's
address and port (raw socket); tests/helpers/spoof.py. The managers poll sysName,
sysDescr and sysUpTime through the relay, `--polls` times each, timeout 1 s, no retry:

    native      tierwatch's engine, one client for all polls (as the poller keeps it)
    pysnmp      pysnmp 7 through tierwatch's pysnmp engine: one SnmpEngine, one client
    snmpget     Net-SNMP's snmpget, one process per poll (a fresh discovery each time)

Attacks (`every`: on each secured request; `once`: on the first one only; the polls after
it show whether the session was poisoned):

    downgrade-guess   noAuthNoPriv Response with forged values, request-id = msgID (the
                      best guess of an attacker who sees only the clear header)
    downgrade-known   the same with the real request-id (read here with the keys): the
                      security-level check alone stands in the way
    wrong-digest      unauthenticated usmStatsWrongDigests Report (every)
    time-huge         unauthenticated notInTimeWindows Report, engineTime 2^32-5 (once)
    time-in-range     the same with engineTime 2^31-2 (once)
    unknown-engine    unauthenticated unknownEngineIDs Report naming another engine (once)
    discovery-huge    forged discovery Report, engineBoots 2^32+7 (every discovery)

Prints, per manager and attack, polls that returned the genuine values (ok), a forged
value (forged), or an error (failed, with the first error). Nothing is asserted here: the
tests (tests/collector/snmp/test_native_spoofing.py) assert tierwatch's side; this is
the comparison docs/snmp-engine.md cites.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.snmp import ber, transport
from collector.snmp.client import SnmpError, Target, engine_factory
from tests.helpers.snmpd import (
    CLI_OUTPUT_OPTIONS,
    Agent,
    SnmpdUser,
    parse_netsnmp_output,
    run_snmpd,
)
from tests.helpers.spoof import (
    NOT_IN_TIME_WINDOWS,
    UNKNOWN_ENGINE_IDS,
    WRONG_DIGESTS,
    Attacker,
    DelayRelay,
    Forge,
    decrypted_request_id,
    downgraded_response,
    forged_discovery,
    unauthenticated_report,
)

USER = SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")
SYS_DESCR, SYS_UPTIME, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"
ASKED = [SYS_NAME, SYS_DESCR, SYS_UPTIME]
FORGED = [(SYS_NAME, ber.OCTET_STRING, b"FORGED-NAME"), (SYS_DESCR, ber.OCTET_STRING, b"FORGED"),
          (SYS_UPTIME, ber.TIMETICKS, 5)]
OTHER_ENGINE = b"\x80\x00\x1f\x88\x04attacker"
HUNG = 10.0  # seconds: an snmpget still running then is stopped and counted as failed

ATTACKS: dict[str, Callable[[], Forge]] = {
    "downgrade-guess": lambda: downgraded_response(FORGED),
    "downgrade-known": lambda: downgraded_response(
        FORGED, decrypted_request_id(b"privpass123", "SHA", "AES")),
    "wrong-digest": lambda: unauthenticated_report(WRONG_DIGESTS),
    "time-huge": lambda: unauthenticated_report(NOT_IN_TIME_WINDOWS, engine_time=2**32 - 5,
                                                count=1),
    "time-in-range": lambda: unauthenticated_report(NOT_IN_TIME_WINDOWS,
                                                    engine_time=2**31 - 2, count=1),
    "unknown-engine": lambda: unauthenticated_report(UNKNOWN_ENGINE_IDS,
                                                     engine_id=OTHER_ENGINE, count=1),
    "discovery-huge": lambda: forged_discovery(OTHER_ENGINE, 2**32 + 7, 100),
}


@dataclass
class Outcome:
    ok: int = 0
    forged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, name: object) -> None:
        if isinstance(name, bytes) and name.startswith(b"FORGED"):
            self.forged += 1
        elif isinstance(name, bytes):
            self.ok += 1
        else:
            self.failed += 1
            self.errors.append(str(name))


def seam_polls(engine: str, relay: DelayRelay, agent: Agent, polls: int) -> list[object]:
    """sysName of each poll (bytes), or the error's text."""

    async def scenario() -> list[object]:
        target = Target(relay.host, relay.port, agent.credentials("3", user="ops"),
                        timeout=1.0, retries=0)
        client = engine_factory(engine)(target)
        names: list[object] = []
        for _ in range(polls):
            try:
                names.append((await client.get(ASKED))[SYS_NAME])
            except SnmpError as exc:
                names.append(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # what a manager lets escape is part of the finding
                names.append(f"uncaught {type(exc).__name__}: {exc}")
        await client.close()
        transport.close_all()
        return names

    return asyncio.run(scenario())


def snmpget_polls(relay: DelayRelay, agent: Agent, polls: int) -> list[object]:
    names: list[object] = []
    env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent", "HOME": str(agent.directory)}
    for _ in range(polls):
        cmd = ["snmpget", "-m", "", *USER.cli_args(), "-r", "0", "-t", "1",
               *CLI_OUTPUT_OPTIONS, f"udp:{relay.host}:{relay.port}", *ASKED]
        try:
            done = subprocess.run(cmd, capture_output=True, env=env, timeout=HUNG, check=False)
        except subprocess.TimeoutExpired:
            names.append(f"hung: killed after {HUNG:g} s (timeout 1 s, no retry)")
            continue
        if done.returncode:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            names.append(lines[-1] if lines else f"exit status {done.returncode}")
            continue
        values = {oid: value for oid, value, _ in
                  parse_netsnmp_output(done.stdout.decode(errors="replace"))}
        names.append(values.get(SYS_NAME, "no sysName"))
    return names


MANAGERS: dict[str, Callable[[DelayRelay, Agent, int], list[object]]] = {
    "native": lambda relay, agent, n: seam_polls("native", relay, agent, n),
    "pysnmp": lambda relay, agent, n: seam_polls("pysnmp", relay, agent, n),
    "snmpget": snmpget_polls,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--polls", type=int, default=10)
    parser.add_argument("--attacks", default=",".join(ATTACKS))
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("snmp_spoofing: needs root (raw and packet sockets); skipped")
        return 0
    results: dict[tuple[str, str], Outcome] = {}
    with tempfile.TemporaryDirectory() as tmp, \
            run_snmpd(Path(tmp), communities=[], users=[USER]) as agent, \
            DelayRelay((agent.host, agent.port), 0.03) as relay:
        for attack in args.attacks.split(","):
            for manager, polls in MANAGERS.items():
                with Attacker(relay, ATTACKS[attack]()) as attacker:
                    names = polls(relay, agent, args.polls)
                outcome = results[manager, attack] = Outcome()
                for name in names:
                    outcome.add(name)
                print(f"{attack:16} {manager:8} ok={outcome.ok:2} forged={outcome.forged:2} "
                      f"failed={outcome.failed:2} forgeries_sent={attacker.forged}"
                      + (f"  first error: {outcome.errors[0][:110]}" if outcome.errors else ""),
                      flush=True)
    print()
    for (manager, attack), outcome in results.items():
        key = f"spoof_{attack.replace('-', '_')}_{manager}"
        print(f"{key}_ok={outcome.ok} {key}_forged={outcome.forged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
