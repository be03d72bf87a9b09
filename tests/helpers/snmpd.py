"""A real Net-SNMP agent for tests and benchmarks: `run_snmpd` starts one, stops it after.

    from tests.helpers.snmpd import SnmpdUser, run_snmpd

    with run_snmpd(tmp_path, communities=["public"],
                   users=[SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")]) as agent:
        target = agent.target("2c")                 # a collector.snmp.client.Target
        target3 = agent.target("3", user="ops")
        out = agent.cli("snmpbulkwalk", *agent.cli_security("2c"), "-On", oids=["1.3.6.1.2.1.2"])

The agent listens on a free UDP port on 127.0.0.1, keeps its state in a temporary
directory, and is stopped by its PID when the `with` block ends (also on failure). It is
ready when it has answered an SNMPv3 discovery probe, which needs no credentials.

Protocols as snmpd.conf spells them: auth MD5 SHA SHA-224 SHA-256 SHA-384 SHA-512, priv
DES AES AES-192 AES-256 (and AES-192-C / AES-256-C for the Cisco-style key extension).
`SnmpdUser.seam_auth` / `seam_priv` give the names `collector.snmp.client.Credentials` uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collector.snmp.client import Credentials, Target

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"


def snmpd_available() -> bool:
    return Path(SNMPD).exists() and shutil.which("snmpget") is not None


@dataclass(frozen=True)
class SnmpdUser:
    name: str
    auth: str | None = "SHA"  # snmpd spelling: MD5, SHA, SHA-224 ... SHA-512; None: noAuth
    auth_password: str = field(default="authpass123", repr=False)
    priv: str | None = "AES"  # DES, AES, AES-192, AES-256, AES-192-C, AES-256-C; None: noPriv
    priv_password: str = field(default="privpass123", repr=False)

    @property
    def level(self) -> str:
        if self.auth is None:
            return "noAuthNoPriv"
        return "authPriv" if self.priv else "authNoPriv"

    @property
    def seam_auth(self) -> str | None:
        return self.auth.replace("-", "") if self.auth else None

    @property
    def seam_priv(self) -> str | None:
        return self.priv.replace("-", "") if self.priv else None

    def create_line(self) -> str:
        line = f"createUser {self.name}"
        if self.auth:
            line += f' {self.auth} "{self.auth_password}"'
            if self.priv:
                line += f' {self.priv} "{self.priv_password}"'
        return line

    def access_line(self) -> str:
        level = {"noAuthNoPriv": "noauth", "authNoPriv": "auth", "authPriv": "priv"}[self.level]
        return f"rouser {self.name} {level}"

    def cli_args(self) -> list[str]:
        """Net-SNMP command-line security options for this user."""
        args = ["-v3", "-u", self.name, "-l", self.level]
        if self.auth:
            args += ["-a", self.auth, "-A", self.auth_password]
        if self.priv:
            args += ["-x", self.priv, "-X", self.priv_password]
        return args


@dataclass
class Agent:
    """A running snmpd."""

    host: str
    port: int
    pid: int
    directory: Path
    communities: tuple[str, ...]
    users: tuple[SnmpdUser, ...]
    log_path: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"udp:{self.host}:{self.port}"

    def user(self, name: str) -> SnmpdUser:
        for user in self.users:
            if user.name == name:
                return user
        raise KeyError(name)

    def credentials(
        self, version: str = "2c", *, user: str | None = None, community: str | None = None
    ) -> Credentials:
        if version != "3":
            return Credentials(
                version=version,  # type: ignore[arg-type]
                community=community if community is not None else self.communities[0],
            )
        u = self.user(user) if user else self.users[0]
        return Credentials(
            version="3",
            user=u.name,
            auth_protocol=u.seam_auth,  # type: ignore[arg-type]
            auth_key=u.auth_password if u.auth else "",
            priv_protocol=u.seam_priv,  # type: ignore[arg-type]
            priv_key=u.priv_password if u.priv else "",
        )

    def target(self, version: str = "2c", **kwargs: object) -> Target:
        """A Target for this agent; `user=`/`community=` pick credentials, the rest
        (timeout, retries, max_repetitions, max_rows) go to Target."""
        cred_keys = {k: kwargs.pop(k) for k in ("user", "community") if k in kwargs}
        return Target(
            self.host,
            self.port,
            self.credentials(version, **cred_keys),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )

    def cli_security(self, version: str = "2c", *, user: str | None = None) -> list[str]:
        if version == "3":
            return (self.user(user) if user else self.users[0]).cli_args()
        return [f"-v{version}", "-c", self.communities[0]]

    def cli(self, tool: str, *options: str, oids: Sequence[str] = (), timeout: float = 60.0) -> str:
        """Run a Net-SNMP tool (snmpget, snmpbulkwalk ...) against this agent: `options`,
        then the agent's address, then `oids`. Answers its stdout; raises on failure."""
        env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent", "HOME": str(self.directory)}
        cmd = [tool, "-m", "", *options, self.address, *oids]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.decode()[:500]}")
        return done.stdout.decode("utf-8", errors="replace")

    def persisted_users(self) -> list[str]:
        """The usmUser lines snmpd wrote to its persistent store (engine ID and localized
        keys, as snmpd derived them): a reference for key-derivation tests. Written when
        snmpd stops, or on SIGHUP-free shutdowns; call after `stop()`."""
        path = self.directory / "persist" / "snmpd.conf"
        if not path.exists():
            return []
        return [line for line in path.read_text().splitlines() if line.startswith("usmUser ")]

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _discovery_probe() -> bytes:
    """A fixed SNMPv3 discovery request (noAuthNoPriv, empty user): every v3 agent answers
    it with a Report. Built by hand so the fixture does not depend on the codec it tests."""

    def tlv(tag: int, body: bytes) -> bytes:
        assert len(body) < 0x80
        return bytes((tag, len(body))) + body

    def integer(value: int) -> bytes:
        return tlv(0x02, value.to_bytes(4, "big"))

    header = tlv(0x30, integer(4242) + integer(65507) + tlv(0x04, b"\x04") + tlv(0x02, b"\x03"))
    usm = tlv(0x04, tlv(0x30, tlv(0x04, b"") + tlv(0x02, b"\0") * 2 + tlv(0x04, b"") * 3))
    pdu = tlv(0xA0, integer(4242) + tlv(0x02, b"\0") * 2 + tlv(0x30, b""))
    scoped = tlv(0x30, tlv(0x04, b"") * 2 + pdu)
    return tlv(0x30, tlv(0x02, b"\x03") + header + usm + scoped)


def _wait_ready(host: str, port: int, process: subprocess.Popen[bytes], deadline: float) -> bool:
    probe = _discovery_probe()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            sock.sendto(probe, (host, port))
            try:
                sock.recvfrom(4096)
                return True
            except (TimeoutError, ConnectionRefusedError):
                continue
    return False


@contextlib.contextmanager
def run_snmpd(
    tmp_path: Path,
    *,
    communities: Sequence[str] = ("public",),
    users: Sequence[SnmpdUser] = (),
    extra_config: Sequence[str] = (),
    host: str = "127.0.0.1",
    startup_timeout: float = 15.0,
) -> Iterator[Agent]:
    """Start snmpd on a free UDP port of `host`; yield an `Agent`; stop it by PID."""
    if not snmpd_available():
        raise RuntimeError("snmpd / snmpget not installed (apt-get install snmpd snmp)")
    for attempt in range(3):  # the free port can be taken between probe and bind
        directory = Path(tmp_path) / f"snmpd-{os.getpid()}-{time.monotonic_ns()}"
        (directory / "persist").mkdir(parents=True)
        conf = directory / "snmpd.conf"
        lines = ["[snmp] persistentDir " + str(directory / "persist")]
        lines += [f"rocommunity {c} {host}" for c in communities]
        for user in users:
            lines += [user.create_line(), user.access_line()]
        lines += list(extra_config)
        conf.write_text("\n".join(lines) + "\n")
        port = free_udp_port(host)
        log_path = directory / "snmpd.log"
        cmd = [
            SNMPD, "-f", "-Lo", "-C", "-c", str(conf), "-m", "", "-I", "-smux",
            "-p", str(directory / "snmpd.pid"), f"udp:{host}:{port}",
        ]  # fmt: skip
        env = {**os.environ, "MIBS": "", "HOME": str(directory)}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        agent = Agent(
            host, port, process.pid, directory, tuple(communities), tuple(users), log_path, process
        )
        try:
            if _wait_ready(host, port, process, time.monotonic() + startup_timeout):
                break
            agent.stop()
            if attempt == 2:
                raise RuntimeError(f"snmpd did not start: {log_path.read_text()[-2000:]}")
        except BaseException:
            agent.stop()
            raise
    try:
        yield agent
    finally:
        agent.stop()
