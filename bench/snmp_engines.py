"""CPU per varbind of the SNMP engines against real Net-SNMP agents on loopback.

    PYTHONPATH=. python bench/snmp_engines.py [--agents 4] [--rounds 20] [--uvloop]

Starts N snmpd agents (free loopback ports, temporary state), then for each engine polls
all N agents concurrently, round after round, with persistent clients as a poller would:

    ifmib    ifTable + ifXTable (1.3.6.1.2.1.2.2, 1.3.6.1.2.1.31.1.1): a switch's poll
    mib-2    all of 1.3.6.1.2.1: thousands of varbinds, per-request costs amortised

Engines: native (ours), snmpkit (if installed), pysnmp (the project's pysnmp engine if
collector/snmp/pysnmp_engine.py exists, else pysnmp's hlapi bulk_walk_cmd directly), and
Net-SNMP's snmpbulkwalk (C; one process per agent and root, CPU from the children's
rusage, output to /dev/null). Python engines are charged their whole process CPU
(user + system) during the rounds. Every engine uses max-repetitions 25.

Prints one table: CPU microseconds per varbind, polls per second, and for each engine the
cost of SNMPv3 authPriv (SHA + AES-128) relative to v2c. Numbers vary with the machine and
with what else runs on it; compare engines within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.snmp import transport
from collector.snmp.client import Target, engine_factory
from tests.helpers.snmpd import Agent, SnmpdUser, run_snmpd

SCENARIOS = {
    "ifmib": ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"],
    "mib-2": ["1.3.6.1.2.1"],
}
USER = SnmpdUser("bench", "SHA", "authpass123", "AES", "privpass123")
REPETITIONS = 25


@dataclass
class Row:
    engine: str
    version: str
    scenario: str
    varbinds_per_poll: float
    polls: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def us_per_varbind(self) -> float:
        return self.cpu_seconds / (self.varbinds_per_poll * self.polls) * 1e6

    @property
    def polls_per_second(self) -> float:
        return self.polls / self.wall_seconds


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- Python engines

Poll = Callable[[], Awaitable[int]]  # one poll of one agent -> varbinds read


async def seam_pollers(engine: str, targets: list[Target], roots: list[str]) -> list[Poll]:
    clients = [engine_factory(engine)(t) for t in targets]

    def poller(client: Any) -> Poll:
        async def poll() -> int:
            result = await client.walk(roots)
            return sum(len(rows) for rows in result.values())

        return poll

    return [poller(c) for c in clients]


async def pysnmp_hlapi_pollers(targets: list[Target], roots: list[str]) -> list[Poll]:
    """pysnmp 7 hlapi, as directly as a user would write it, values made plain."""
    from pysnmp.hlapi.v3arch import asyncio as hl

    engine = hl.SnmpEngine()

    def plain(value: Any) -> Any:
        tag = value.tagSet[-1]
        octet = tag.tagClass | tag.tagFormat | tag.tagId
        if octet in (0x04, 0x44):
            return bytes(value.asOctets())
        if octet == 0x40:
            return ".".join(str(b) for b in value.asOctets())
        if octet == 0x06:
            return ".".join(map(str, value.asTuple()))
        if octet == 0x05 or octet >= 0x80:
            return None
        return int(value)

    async def make(target: Target) -> Poll:
        c = target.credentials
        if c.version == "3":
            auth: Any = hl.UsmUserData(
                c.user,
                c.auth_key,
                c.priv_key,
                authProtocol=hl.usmHMACSHAAuthProtocol,
                privProtocol=hl.usmAesCfb128Protocol,
            )
        else:
            auth = hl.CommunityData(c.community, mpModel=1)
        udp = await hl.UdpTransportTarget.create(
            (target.host, target.port), timeout=target.timeout, retries=target.retries
        )

        async def poll() -> int:
            count = 0
            for root in roots:
                async for error, status, _, varbinds in hl.bulk_walk_cmd(
                    engine,
                    auth,
                    udp,
                    hl.ContextData(),
                    0,
                    REPETITIONS,
                    hl.ObjectType(hl.ObjectIdentity(root)),
                    lexicographicMode=False,
                    lookupMib=False,
                ):
                    if error or status:
                        raise RuntimeError(f"pysnmp: {error or status}")
                    for _, value in varbinds:
                        plain(value)
                    count += len(varbinds)
            return count

        return poll

    return [await make(t) for t in targets]


async def measure_python(
    engine: str, version: str, scenario: str, agents: list[Agent], rounds: int
) -> Row:
    roots = SCENARIOS[scenario]
    targets = [
        a.target(version, user=USER.name, max_repetitions=REPETITIONS, timeout=5.0)
        if version == "3"
        else a.target(version, max_repetitions=REPETITIONS, timeout=5.0)
        for a in agents
    ]
    if engine == "pysnmp" and not has_pysnmp_engine():
        pollers = await pysnmp_hlapi_pollers(targets, roots)
    else:
        pollers = await seam_pollers(engine, targets, roots)
    per_poll = await asyncio.gather(*(p() for p in pollers))  # warm-up: discovery, caches
    cpu0, wall0 = cpu_self(), time.perf_counter()
    total = 0
    for _ in range(rounds):
        total += sum(await asyncio.gather(*(p() for p in pollers)))
    cpu, wall = cpu_self() - cpu0, time.perf_counter() - wall0
    transport.close_all()
    polls = rounds * len(agents)
    assert total == sum(per_poll) * rounds or scenario == "mib-2", "walks changed size"
    return Row(engine, version, scenario, total / polls, polls, cpu, wall)


def has_pysnmp_engine() -> bool:
    return importlib.util.find_spec("collector.snmp.pysnmp_engine") is not None


# --------------------------------------------------------------------------- Net-SNMP


def measure_netsnmp(version: str, scenario: str, agents: list[Agent], rounds: int) -> Row:
    roots = SCENARIOS[scenario]
    env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}

    def commands() -> list[list[str]]:
        return [
            [
                "snmpbulkwalk", "-m", "", f"-Cr{REPETITIONS}", "-On", "-Oe", "-Ot", "-Ox",
                *agent.cli_security(version, user=USER.name if version == "3" else None),
                agent.address, root,
            ]
            for agent in agents
            for root in roots
        ]  # fmt: skip

    def run_round(count: bool) -> int:
        procs = [
            subprocess.Popen(cmd, stdout=subprocess.PIPE if count else subprocess.DEVNULL, env=env)
            for cmd in commands()
        ]
        lines = 0
        for proc in procs:
            if count and proc.stdout is not None:
                lines += sum(1 for line in proc.stdout if line.startswith(b"."))
            if proc.wait() != 0:
                raise RuntimeError("snmpbulkwalk failed")
        return lines

    per_round = run_round(count=True)  # also the warm-up
    cpu0, wall0 = cpu_children(), time.perf_counter()
    for _ in range(rounds):
        run_round(count=False)
    cpu, wall = cpu_children() - cpu0, time.perf_counter() - wall0
    polls = rounds * len(agents)
    return Row("snmpbulkwalk", version, scenario, per_round / len(agents), polls, cpu, wall)


# --------------------------------------------------------------------------- main


def measure(
    engine: str,
    version: str,
    scenario: str,
    agents: list[Agent],
    rounds: int,
    runner: Callable[[Awaitable[Row]], Row],
) -> Row:
    if scenario != "ifmib":
        rounds = max(2, rounds // 10)
    if engine == "pysnmp":
        rounds = max(1, rounds // 5)  # about 20 times slower
    if engine == "snmpbulkwalk":
        return measure_netsnmp(version, scenario, agents, rounds)
    return runner(measure_python(engine, version, scenario, agents, rounds))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=20, help="rounds for the ifmib scenario")
    parser.add_argument("--engines", default="native,snmpkit,pysnmp,snmpbulkwalk")
    parser.add_argument("--scenarios", default="ifmib,mib-2")
    parser.add_argument("--uvloop", action="store_true", help="run Python engines on uvloop")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine; best one counts")
    args = parser.parse_args(argv)

    engines = args.engines.split(",")
    if "snmpkit" in engines and importlib.util.find_spec("snmpkit") is None:
        print("snmpkit not installed: skipped (pip install tierwatch[fast])")
        engines.remove("snmpkit")
    runner: Callable[[Awaitable[Row]], Row] = asyncio.run  # type: ignore[assignment]
    if args.uvloop:
        import uvloop

        # cast: uvloop.run's own signature differs with the uvloop version installed
        runner = cast(Callable[[Awaitable[Row]], Row], uvloop.run)

    best: dict[tuple[str, str, str], Row] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        agents = [
            stack.enter_context(run_snmpd(Path(tmp) / str(i), users=[USER]))
            for i in range(args.agents)
        ]
        # Engines take turns, --repeat times over; each keeps its least disturbed run, so
        # load from other processes on the machine skews the comparison as little as it can.
        for _ in range(args.repeat):
            for scenario in args.scenarios.split(","):
                for engine in engines:
                    for version in ("2c", "3"):
                        row = measure(engine, version, scenario, agents, args.rounds, runner)
                        key = (scenario, engine, version)
                        if key not in best or row.us_per_varbind < best[key].us_per_varbind:
                            best[key] = row
                        print(
                            f"  {row.engine:<13} v{row.version:<3} {row.scenario:<6} "
                            f"{row.us_per_varbind:8.2f} us/varbind",
                            file=sys.stderr,
                        )
    rows = list(best.values())
    report(rows, args)


def report(rows: list[Row], args: argparse.Namespace) -> None:
    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"\nSNMP engines: {args.agents} snmpd agents on loopback, polled concurrently, "
        f"max-repetitions {REPETITIONS}, {loop}, {os.cpu_count()} CPUs"
    )
    head = (
        f"{'scenario':<7} {'engine':<13} {'ver':<4} {'varbinds/poll':>13} {'polls':>6} "
        f"{'CPU us/varbind':>14} {'polls/s':>8} {'v3/v2c':>7}"
    )
    print(head)
    print("-" * len(head))
    by_key = {(r.scenario, r.engine, r.version): r for r in rows}
    for r in rows:
        ratio = ""
        if r.version == "3" and (r.scenario, r.engine, "2c") in by_key:
            base = by_key[(r.scenario, r.engine, "2c")]
            ratio = f"{r.us_per_varbind / base.us_per_varbind:.2f}"
        print(
            f"{r.scenario:<7} {r.engine:<13} {r.version:<4} {r.varbinds_per_poll:>13.0f} "
            f"{r.polls:>6} {r.us_per_varbind:>14.2f} {r.polls_per_second:>8.1f} {ratio:>7}"
        )
    for scenario in dict.fromkeys(r.scenario for r in rows):
        c_tool = by_key.get((scenario, "snmpbulkwalk", "2c"))
        native = by_key.get((scenario, "native", "2c"))
        if c_tool and native:
            print(
                f"{scenario}: native v2c costs "
                f"{native.us_per_varbind / c_tool.us_per_varbind:.2f}x "
                "snmpbulkwalk's CPU per varbind"
            )


if __name__ == "__main__":
    main()
