"""A small switched network in network namespaces, each box running the real `lldpd`, the
core's lldpd attached to a real snmpd as an AgentX subagent (so LLDP-MIB is walkable).

    core ns  c1 ==veth== d1  dist ns
             c2 ==veth== d2
             c3 ==veth== s3  spare ns

snmpd runs in the root namespace on a free loopback port (the test process polls it
there); the AgentX socket is a file, which crosses namespaces. Each lldpd has its own
control socket, a one-second transmit interval (TTL 4 s) and the host name `<box>-<run>`.
Names are unique per run; everything is removed on exit, whatever happened.

`lab.move("d1", "dist", "spare")` moves a veth end to another namespace (the cable is
re-plugged into another box), brings it up there and asks that box to announce itself.
`lab.sees()` is what the core's lldpd itself shows: {local port: neighbour names}.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers.netns import _skip_unless_permitted, ip
from tests.helpers.snmpd import Agent, run_snmpd

BOXES = ("core", "dist", "spare")
LINKS = (("c1", "core", "d1", "dist"), ("c2", "core", "d2", "dist"), ("c3", "core", "s3", "spare"))
_NAME = re.compile(r"^lldp\.([^.]+)\.chassis\.name=(.*)$", re.M)


@dataclass
class LldpLab:
    run: str
    directory: Path
    agent: Agent | None = None
    ns: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def host(self, box: str) -> str:
        return f"{box}-{self.run}"

    def sock(self, box: str) -> str:
        return str(self.directory / f"{box}.sock")

    def lldpcli(self, box: str, *args: str) -> str:
        done = subprocess.run(["lldpcli", "-u", self.sock(box), *args], capture_output=True,
                              text=True, timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"lldpcli {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def sees(self, box: str = "core") -> dict[str, set[str]]:
        """{local port: neighbour names} as that box's lldpd shows them now."""
        out: dict[str, set[str]] = {}
        for port, name in _NAME.findall(self.lldpcli(box, "show", "neighbors", "-f",
                                                     "keyvalue")):
            out.setdefault(port, set()).add(name)
        return out

    def move(self, end: str, src: str, dst: str) -> None:
        ip("-n", self.ns[src], "link", "set", end, "netns", self.ns[dst])
        ip("-n", self.ns[dst], "link", "set", end, "up")
        self.lldpcli(dst, "update")

    def _start_lldpd(self, box: str, agentx: Path | None) -> None:
        cmd = ["ip", "netns", "exec", self.ns[box], "lldpd", "-d", "-u", self.sock(box),
               "-I", "c*,d*,s*"]
        if agentx is not None:
            cmd[5:5] = ["-x", "-X", str(agentx)]
        log = open(self.directory / f"lldpd-{box}.log", "ab")  # noqa: SIM115 (kept by Popen)
        self.processes.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL))
        log.close()

    def _configure(self, box: str) -> None:
        self.lldpcli(box, "configure", "system", "hostname", self.host(box))
        self.lldpcli(box, "configure", "lldp", "tx-interval", "1")
        self.lldpcli(box, "resume")  # lldpd starts paused until its configuration is read
        self.lldpcli(box, "update")


@contextlib.contextmanager
def lldp_lab(tmp_path: Path) -> Iterator[LldpLab]:
    _skip_unless_permitted()
    for tool in ("lldpd", "lldpcli"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run scripts/install-system (lldpd)")
    run = f"{os.getpid() % 10000:04d}{random.randrange(1 << 16):04x}"
    # lldpd and lldpcli drop to the _lldpd user: the control sockets must sit where it can
    # reach them, so not under pytest's private tmp_path (0700 parents)
    directory = Path(tempfile.mkdtemp(prefix=f"tw-lldp-{run}-"))
    directory.chmod(0o755)
    lab = LldpLab(run, directory, ns={box: f"tw-{run}-{box}" for box in BOXES})
    try:
        for name in lab.ns.values():
            ip("netns", "add", name)
            ip("-n", name, "link", "set", "lo", "up")
        for a, box_a, b, box_b in LINKS:
            ip("link", "add", a, "netns", lab.ns[box_a], "type", "veth", "peer", "name", b,
               "netns", lab.ns[box_b])
            ip("-n", lab.ns[box_a], "link", "set", a, "up")
            ip("-n", lab.ns[box_b], "link", "set", b, "up")
        agentx = directory / "agentx.sock"
        with run_snmpd(directory, extra_config=["master agentx",
                                                f"agentXSocket unix:{agentx}"]) as agent:
            lab.agent = agent
            for box in BOXES:
                _start_lldpd_and_wait(lab, box, agentx if box == "core" else None)
            yield lab
    finally:
        for process in lab.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in lab.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for name in lab.ns.values():
            ip("netns", "del", name, check=False)
        shutil.rmtree(directory, ignore_errors=True)


def _start_lldpd_and_wait(lab: LldpLab, box: str, agentx: Path | None) -> None:
    from tests.helpers.procs import wait_for

    lab._start_lldpd(box, agentx)
    wait_for(lambda: os.path.exists(lab.sock(box)), 15, f"lldpd in {box} to listen")
    wait_for(lambda: lab.lldpcli(box, "show", "configuration") or True, 15,
             f"lldpd in {box} to answer")
    lab._configure(box)
