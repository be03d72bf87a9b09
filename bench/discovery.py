"""How long does `tierwatch discover` take over a /22 with 100 agents, against the usual
ways of doing it, in the same run?

    PYTHONPATH=. python -m bench.discovery [--concurrency 200] [--timeout 1] [--retries 1]

Inside a network namespace of its own (bench/lab.py: re-run as root in a fresh one, which
is deleted at the end) it starts 20 real snmpd agents, each answering on 5 loopback
addresses spread over 127.0.8.0/22: 100 answering addresses among the prefix's 1,022 hosts
(its network and broadcast addresses are not swept). Then, one after the other:

* tierwatch: `tierwatch discover 127.0.8.0/22` (v2c community, bounded concurrency, no rate
  limit), as a person runs it;
* snmpwalk in a loop: `snmpwalk` of the system group for every address, run by
  `xargs -P` with the same concurrency, timeout and retries - the shell one-liner people use;
* nmap: `nmap -sU -Pn -p PORT --script snmp-sysdescr` over the prefix, if nmap is installed
  (Debian's nmap); its own timing (-T4).

Each prints its wall time and how many agents it found; ratios are the peers' time over
tierwatch's. Two networks are measured: "lit", where a host without an agent says so (ICMP
port unreachable, as on a LAN of hosts), and "dark", where every other address takes the
datagrams and never answers (a process holds a socket on each and never reads, as behind a
firewall that drops): there every silent address costs its full timeout, and only the
bounded concurrency keeps the sweep short.
Nothing is asserted: benchmarks print, tests assert.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import lab

PREFIX = "127.0.8.0/22"
AGENTS, PER_AGENT = 20, 5


def answering_hosts() -> list[list[str]]:
    """AGENTS groups of PER_AGENT addresses, spread over the /22 (not adjacent)."""
    hosts = [str(h) for h in ipaddress.ip_network(PREFIX).hosts()]
    step = len(hosts) // (AGENTS * PER_AGENT)
    chosen = hosts[::step][: AGENTS * PER_AGENT]
    return [chosen[i * PER_AGENT:(i + 1) * PER_AGENT] for i in range(AGENTS)]


def start_agents(tmp: Path, groups: list[list[str]]) -> tuple[int, list[subprocess.Popen[bytes]]]:
    hosts = [h for g in groups for h in g]
    # nmap's snmp-sysdescr runs only on the SNMP port: 161, free in the bench's namespace
    port = 161 if lab.inside_namespace() and lab._port_free_on(hosts, 161) else \
        lab._pick_port(hosts)
    processes = []
    env = {**os.environ, "MIBS": ""}
    for i, hosts in enumerate(groups):
        directory = tmp / f"snmpd{i}"
        (directory / "persist").mkdir(parents=True)
        (directory / "snmpd.conf").write_text("\n".join([
            f"[snmp] persistentDir {directory / 'persist'}",
            f"rocommunity {lab.COMMUNITY} 127.0.0.0/8",
            f"sysName bench-agent-{i}",
            "dontLogTCPWrappersConnects yes"]) + "\n")
        env["HOME"] = str(directory)
        with open(directory / "snmpd.log", "ab") as log:
            processes.append(subprocess.Popen(
                [lab.SNMPD, "-f", "-Lo", "-C", "-c", str(directory / "snmpd.conf"), "-m", "",
                 "-I", "-smux", "-p", str(directory / "snmpd.pid"),
                 ",".join(f"udp:{h}:{port}" for h in hosts)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env))
    for hosts, process in zip(groups, processes, strict=True):
        if not lab.wait_ready(hosts[0], port, process, 15.0):
            raise RuntimeError(f"snmpd on {hosts[0]}:{port} did not start")
    return port, processes


def run_tierwatch(port: int, args: argparse.Namespace) -> tuple[float, int, dict[str, int]]:
    cmd = [sys.executable, "-m", "tierwatch", "discover", PREFIX, "--port", str(port),
           "--community", lab.COMMUNITY, "--timeout", str(args.timeout), "--retries",
           str(args.retries), "--concurrency", str(args.concurrency), "--rate", "0",
           "--json", "-q"]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(lab.REPO)})
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"tierwatch discover failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return elapsed, report["counts"]["found"], report["counts"]


def run_snmpwalk_loop(port: int, args: argparse.Namespace) -> tuple[float, int]:
    addresses = "\n".join(f"udp:{h}:{port}" for h in ipaddress.ip_network(PREFIX).hosts())
    script = (f"snmpwalk -m '' -v2c -c {lab.COMMUNITY} -t {args.timeout} -r {args.retries} "
              f"-On \"$0\" 1.3.6.1.2.1.1 2>/dev/null | grep -c '^.1.3.6.1.2.1.1.5.0 ' || true")
    started = time.monotonic()
    done = subprocess.run(["xargs", "-P", str(args.concurrency), "-n", "1", "sh", "-c", script],
                          input=addresses, capture_output=True, text=True, check=False,
                          env={**os.environ, "MIBS": ""})
    elapsed = time.monotonic() - started
    found = sum(int(x) for x in done.stdout.split() if x.isdigit())
    return elapsed, found


def run_nmap(port: int) -> tuple[float, int] | None:
    nmap = shutil.which("nmap")
    if nmap is None:
        return None
    started = time.monotonic()
    try:
        done = subprocess.run([nmap, "-sU", "-Pn", "-n", "-T4", "-p", str(port), "--script",
                               "snmp-sysdescr", "--script-args",
                               f"snmpcommunity={lab.COMMUNITY}", PREFIX],
                              capture_output=True, text=True, check=False, timeout=600)
    except subprocess.TimeoutExpired:
        return 600.0, -1
    elapsed = time.monotonic() - started
    found = len(re.findall(r"snmp-sysdescr: ", done.stdout))
    return elapsed, found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--retries", type=int, default=1)
    args = parser.parse_args(argv)
    if lab.inside_namespace() is None:
        return lab.run_module("bench.discovery", sys.argv[1:] if argv is None else argv)
    lab.exit_on_sigterm()
    print(f"machine: {lab.machine_line()}; where: {lab.where_line()}")
    groups = answering_hosts()
    swept = sum(1 for _ in ipaddress.ip_network(PREFIX).hosts())
    with tempfile.TemporaryDirectory() as tmp:
        port, processes = start_agents(Path(tmp), groups)
        try:
            print(f"{PREFIX}: {swept} addresses swept, {AGENTS * PER_AGENT} answering "
                  f"(snmpd x {AGENTS}, port {port}); concurrency {args.concurrency}, "
                  f"timeout {args.timeout:g} s, retries {args.retries}", flush=True)
            figures: dict[str, dict[str, float]] = {}
            answering = {h for g in groups for h in g}
            silent = [str(h) for h in ipaddress.ip_network(PREFIX).hosts()
                      if str(h) not in answering]
            holes: subprocess.Popen[bytes] | None = None
            for network in ("lit", "dark"):
                if network == "dark":
                    holes = black_holes(silent, port)
                tw_time, tw_found, counts = run_tierwatch(port, args)
                print(f"[{network}] tierwatch discover   {tw_time:7.2f} s  found {tw_found}  "
                      f"{counts}", flush=True)
                loop_time, loop_found = run_snmpwalk_loop(port, args)
                print(f"[{network}] snmpwalk in a loop   {loop_time:7.2f} s  found {loop_found}",
                      flush=True)
                row = figures[network] = {"tierwatch_seconds": tw_time,
                                          "tierwatch_found": tw_found,
                                          "snmpwalk_loop_seconds": loop_time,
                                          "snmpwalk_loop_found": loop_found}
                nmap = run_nmap(port)
                if nmap is not None:
                    print(f"[{network}] nmap snmp-sysdescr   {nmap[0]:7.2f} s  found {nmap[1]}",
                          flush=True)
                    row.update(nmap_seconds=nmap[0], nmap_found=nmap[1])
                else:
                    print("nmap: not installed (apt-get install nmap); not measured")
        finally:
            for process in [*processes, *([holes] if holes is not None else [])]:
                lab.stop(process)
    print()
    print(f"discovery_addresses={swept}")
    print(f"discovery_answering={AGENTS * PER_AGENT}")
    print(f"discovery_concurrency={args.concurrency}")
    for network, row in figures.items():
        for key, value in row.items():
            print(f"discovery_{network}_{key}={value:.2f}" if isinstance(value, float)
                  else f"discovery_{network}_{key}={value}")
        tw = row["tierwatch_seconds"]
        print(f"discovery_{network}_ratio_snmpwalk_loop_over_tierwatch="
              f"{row['snmpwalk_loop_seconds'] / tw:.2f}")
        if "nmap_seconds" in row:
            print(f"discovery_{network}_ratio_nmap_over_tierwatch={row['nmap_seconds'] / tw:.2f}")
    return 0


BLACK_HOLES = r"""
import resource, socket, sys, time
hosts, port = sys.argv[1].split(","), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (len(hosts) + 64, len(hosts) + 64))
held = []
for host in hosts:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    held.append(s)
print("ready", flush=True)
time.sleep(3600)
"""


def black_holes(hosts: list[str], port: int) -> subprocess.Popen[bytes]:
    """A process holding a UDP socket on every silent address, never reading: datagrams
    are taken and never answered, no ICMP either."""
    process = subprocess.Popen([sys.executable, "-c", BLACK_HOLES, ",".join(hosts), str(port)],
                               stdout=subprocess.PIPE)
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the black holes did not open")
    return process


if __name__ == "__main__":
    sys.exit(main())
