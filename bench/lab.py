"""The benches' lab: a private network namespace, a fleet of real snmpd agents, process
accounting from /proc, and the tierwatch process under test.

    with lab.namespace_or_here("bench.pipeline", argv) as inside:   # re-runs inside, as root
        ...
    with lab.snmpd_fleet(tmp, agents=20, per_agent=5) as fleet:
        fleet.devices  # [(host, port)] * 100: 127.0.10.1:1161 ...

Why a namespace: the agents' IF-MIB walk is the machine's interface list. Inside a fresh
network namespace the benches see exactly `lo` plus a veth pair and an ifb interface (four
interfaces, a 162-varbind IF-MIB walk on every machine), and nothing they do (addresses,
ports, interfaces) can meet the test suites other processes run on the same machine. The
namespace and its interfaces are deleted when the bench ends, also on failure. Without root
the benches run in the current namespace on whatever interfaces it has, and say so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.snmpd import SNMPD, SnmpdUser, wait_ready  # noqa: E402

NETNS_ENV = "TIERWATCH_BENCH_NETNS"
# the v3 user every bench agent knows (authPriv, SHA + AES-128)
USER = SnmpdUser("bench", "SHA", "bench-authpass", "AES", "bench-privpass")
COMMUNITY = "public"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- machine


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat utime and stime)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (tierwatch's poll workers)."""
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return sorted(out)


def proc_memory_kb(pid: int | str = "self") -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0])
    return out


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def machine_line() -> str:
    return f"{os.cpu_count()} CPUs, load average {loadavg()}"


# --------------------------------------------------------------------------- namespace


def inside_namespace() -> str | None:
    return os.environ.get(NETNS_ENV)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextlib.contextmanager
def network_namespace(interfaces: int = 4) -> Iterator[str]:
    """A fresh namespace with lo, a veth pair and an ifb interface, all up; deleted after.
    `interfaces` above 4: more veth pairs (and one more ifb for an odd count), so the
    agents' IF-MIB walk has that many rows (bench/interface_series.py: 48 ports)."""
    name = f"twbench{os.getpid()}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "link", "add", "twv0", "type", "veth", "peer", "name", "twv1")
        try:
            _ip("-n", name, "link", "add", "twb0", "type", "ifb")
            extra = ["twb0"]
        except RuntimeError:  # no ifb module: a second veth pair makes five interfaces
            _ip("-n", name, "link", "add", "twv2", "type", "veth", "peer", "name", "twv3")
            extra = ["twv2", "twv3"]
        links = ["twv0", "twv1", *extra]
        pair = 0
        while 1 + len(links) + 2 <= interfaces:
            a, b = f"twp{pair}a", f"twp{pair}b"
            _ip("-n", name, "link", "add", a, "type", "veth", "peer", "name", b)
            links += [a, b]
            pair += 1
        if 1 + len(links) < interfaces:
            with contextlib.suppress(RuntimeError):  # without ifb: one short, and said so
                _ip("-n", name, "link", "add", "twb1", "type", "ifb")
                links.append("twb1")
        for link in links:
            _ip("-n", name, "link", "set", link, "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def run_module(module: str, argv: Sequence[str], interfaces: int = 4) -> int:
    """Run `python -m module argv` inside a fresh namespace (with `interfaces` interfaces,
    lo included) when we are root and not inside one yet; else in this namespace. Returns
    the exit status."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", module, *argv]
    if inside_namespace() is not None or os.geteuid() != 0 or shutil.which("ip") is None:
        env[NETNS_ENV] = inside_namespace() or ""
        return _run_child(cmd, env)
    try:
        namespace = network_namespace(interfaces)
        name = namespace.__enter__()
    except RuntimeError as exc:
        print(f"(no private network namespace: {exc}; running here)", flush=True)
        env[NETNS_ENV] = ""
        return _run_child(cmd, env)
    try:
        env[NETNS_ENV] = name
        return _run_child(["ip", "netns", "exec", name, *cmd], env)
    finally:
        namespace.__exit__(None, None, None)


def _run_child(cmd: list[str], env: dict[str, str]) -> int:
    """Run a child to its end; a SIGTERM or Ctrl-C here stops the child first."""
    child = subprocess.Popen(cmd, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def exit_on_sigterm() -> None:
    """A stopped bench still runs its finally blocks: agents and peers are stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def interface_count() -> int:
    """Interfaces in this network namespace (what an snmpd here lists in ifTable)."""
    return len(socket.if_nameindex())


def where_line() -> str:
    name = inside_namespace()
    if name:
        return f"network namespace {name} ({interface_count()} interfaces)"
    return (f"the current network namespace ({interface_count()} interfaces of its own; "
            "not root or no `ip netns`)")


# --------------------------------------------------------------------------- agents


@dataclass
class Fleet:
    devices: list[tuple[str, int]]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def cpu(self) -> float:
        """The agents' CPU seconds so far (user + system)."""
        return sum(proc_cpu(pid) for pid in self.pids)


def _port_free_on(hosts: Sequence[str], port: int) -> bool:
    for host in hosts:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def _pick_port(hosts: Sequence[str]) -> int:
    if inside_namespace() and _port_free_on(hosts, 1161):
        return 1161
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((hosts[0], 0))
            port = int(sock.getsockname()[1])
        if _port_free_on(hosts, port):
            return port
    raise RuntimeError(f"no UDP port free on all of {hosts}")


@contextlib.contextmanager
def snmpd_fleet(tmp: Path, agents: int = 20, per_agent: int = 5) -> Iterator[Fleet]:
    """`agents` snmpd processes, each listening on `per_agent` loopback addresses
    127.0.(10+i).(1..per_agent): agents x per_agent distinct devices. Every agent knows the
    community `public` and the v3 user `USER`; none logs per request."""
    fleet = Fleet([])
    env = {**os.environ, "MIBS": ""}
    try:
        for i in range(agents):
            hosts = [f"127.0.{10 + i}.{j}" for j in range(1, per_agent + 1)]
            port = _pick_port(hosts)
            directory = tmp / f"snmpd{i}"
            (directory / "persist").mkdir(parents=True)
            (directory / "snmpd.conf").write_text("\n".join([
                f"[snmp] persistentDir {directory / 'persist'}",
                f"rocommunity {COMMUNITY} 127.0.0.0/8",
                USER.create_line(),
                USER.access_line(),
                "dontLogTCPWrappersConnects yes",
            ]) + "\n")
            env["HOME"] = str(directory)
            log = open(directory / "snmpd.log", "ab")  # noqa: SIM115 (kept for the process)
            process = subprocess.Popen(
                [SNMPD, "-f", "-Lo", "-C", "-c", str(directory / "snmpd.conf"), "-m", "",
                 "-I", "-smux", "-p", str(directory / "snmpd.pid"),
                 ",".join(f"udp:{h}:{port}" for h in hosts)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            log.close()
            fleet.processes.append(process)
            fleet.devices.extend((h, port) for h in hosts)
        for (host, port), process in zip(fleet.devices[::per_agent], fleet.processes,
                                         strict=True):
            if not wait_ready(host, port, process, 15.0):
                raise RuntimeError(f"snmpd on {host}:{port} did not start")
        yield fleet
    finally:
        for process in fleet.processes:
            stop(process)


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --------------------------------------------------------------------------- http


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 30.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return bytes(answer.read())


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            http_get(url, timeout=2.0)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")
