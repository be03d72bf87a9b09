"""A real Net-SNMP agent for tests and benchmarks, and a reader for Net-SNMP tool output.

    from tests.helpers.snmpd import SnmpdUser, run_snmpd

    users = [SnmpdUser("ops", "SHA", "authpass123", "AES", "privpass123")]
    with run_snmpd(tmp_path, communities=["public"], users=users) as agent:
        target = agent.target("2c")                     # a collector.snmp.client.Target
        target3 = agent.target("3", user="ops", timeout=1.0)
        rows = agent.walk_cli("1.3.6.1.2.1.2", "3", user="ops")   # snmpbulkwalk, parsed
        values = agent.get_cli(["1.3.6.1.2.1.1.5.0"], "2c")      # snmpget, parsed

The agent listens on a free UDP port of 127.0.0.1 (or the `port` you give), keeps its
state in a directory under `tmp_path`, and is stopped by its PID when the `with` block
ends, also on failure. It is ready once it answers an SNMPv3 discovery probe, which needs
no credentials. `agent.restart()` stops and starts it on the same port and state (its
engine ID stays, its engineBoots goes up by one).

Protocol names are snmpd.conf's: auth MD5 SHA SHA-224 SHA-256 SHA-384 SHA-512; priv DES
AES AES-192 AES-256, and AES-192-C / AES-256-C for the Cisco-style (Reeder) key extension
(the Net-SNMP tools cannot speak those two). `SnmpdUser.seam_auth` / `seam_priv` give the
names `collector.snmp.client.Credentials` uses.

`parse_netsnmp_output` reads what the tools print with `CLI_OUTPUT_OPTIONS` (numeric OIDs,
hex strings, numeric enums and timeticks) into (OID, value, type) with the seam's plain
values, so tests can compare an engine's answers with Net-SNMP's value for value.
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

from collector.snmp.client import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    Credentials,
    Target,
    Value,
)

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
CLI_OUTPUT_OPTIONS = ("-On", "-Oe", "-Ot", "-Ox")


def snmpd_available() -> bool:
    return Path(SNMPD).exists() and shutil.which("snmpbulkwalk") is not None


@dataclass(frozen=True)
class SnmpdUser:
    name: str
    auth: str | None = "SHA"  # None: noAuthNoPriv
    auth_password: str = field(default="authpass123", repr=False)
    priv: str | None = "AES"  # None: no privacy
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
    """A running snmpd (see the module docstring)."""

    host: str
    port: int
    directory: Path
    communities: tuple[str, ...]
    users: tuple[SnmpdUser, ...]
    startup_timeout: float = 15.0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def address(self) -> str:
        return f"udp:{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "snmpd.log"

    def user(self, name: str) -> SnmpdUser:
        for user in self.users:
            if user.name == name:
                return user
        raise KeyError(name)

    # -- seam objects

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
        """A Target for this agent. `user=` / `community=` choose the credentials; the
        other keywords (timeout, retries, max_repetitions, max_rows) go to Target."""
        user = kwargs.pop("user", None)
        community = kwargs.pop("community", None)
        credentials = self.credentials(version, user=user, community=community)  # type: ignore[arg-type]
        return Target(self.host, self.port, credentials, **kwargs)  # type: ignore[arg-type]

    # -- Net-SNMP tools

    def cli_security(self, version: str = "2c", *, user: str | None = None) -> list[str]:
        if version == "3":
            return (self.user(user) if user else self.users[0]).cli_args()
        return [f"-v{version}", "-c", self.communities[0]]

    def cli(self, tool: str, *options: str, oids: Sequence[str] = (), timeout: float = 60.0) -> str:
        """Run a Net-SNMP tool against this agent: `options`, the agent's address, then
        `oids`. Answers its stdout; raises RuntimeError when the tool fails."""
        env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent", "HOME": str(self.directory)}
        cmd = [tool, "-m", "", *options, self.address, *oids]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.decode()[:500]}")
        return done.stdout.decode("utf-8", errors="replace")

    def walk_cli(
        self, root: str, version: str = "2c", *, user: str | None = None
    ) -> list[tuple[str, Value, str]]:
        """The subtree as Net-SNMP walks it (snmpbulkwalk; snmpwalk on v1)."""
        tool = "snmpwalk" if version == "1" else "snmpbulkwalk"
        out = self.cli(
            tool, *self.cli_security(version, user=user), *CLI_OUTPUT_OPTIONS, oids=[root]
        )
        return parse_netsnmp_output(out)

    def get_cli(
        self, oids: Sequence[str], version: str = "2c", *, user: str | None = None
    ) -> list[tuple[str, Value, str]]:
        out = self.cli(
            "snmpget", *self.cli_security(version, user=user), *CLI_OUTPUT_OPTIONS, oids=oids
        )
        return parse_netsnmp_output(out)

    def persisted_users(self) -> list[str]:
        """The usmUser lines snmpd saved (its engine ID and the keys it localized): a
        reference for key-derivation tests. snmpd writes them when it stops."""
        path = self.directory / "persist" / "snmpd.conf"
        if not path.exists():
            return []
        return [line for line in path.read_text().splitlines() if line.startswith("usmUser ")]

    # -- process

    def _config_files(self) -> str:
        # -C skips the default files, persistent ones included; name snmpd's persistent
        # file too, so a restart keeps state as a real agent does (engineBoots goes up).
        files = [self.directory / "snmpd.conf", self.directory / "persist" / "snmpd.conf"]
        return ",".join(str(f) for f in files if f.exists())

    def _command(self) -> list[str]:
        return [
            SNMPD, "-f", "-Lo", "-C", "-c", self._config_files(), "-m", "",
            "-I", "-smux", "-p", str(self.directory / "snmpd.pid"), self.address,
        ]  # fmt: skip

    def start(self) -> bool:
        """Spawn snmpd; True once it answers, False if it exited (port taken) or never
        answered (then it is stopped)."""
        env = {**os.environ, "MIBS": "", "HOME": str(self.directory)}
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        if wait_ready(self.host, self.port, self._process, self.startup_timeout):
            return True
        self.stop()
        return False

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

    def restart(self) -> None:
        self.stop()
        if not self.start():
            raise RuntimeError(f"snmpd did not restart: {self.log_path.read_text()[-2000:]}")


def parse_netsnmp_output(text: str) -> list[tuple[str, Value, str]]:
    """Lines printed with CLI_OUTPUT_OPTIONS -> (OID without leading dot, value, type).

    Hex strings may wrap over several lines; a new varbind always starts with ".".
    """
    entries: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("."):
            entries.append([line])
        elif entries and line.strip():
            entries[-1].append(line)
    result = []
    for lines in entries:
        oid, _, rest = lines[0].partition(" = ")
        rest = " ".join([rest.strip(), *(extra.strip() for extra in lines[1:])]).strip()
        result.append((oid.lstrip("."), *_parse_value(rest)))
    return result


_INT_TYPES = ("INTEGER", "Counter32", "Gauge32", "Counter64", "UInteger32", "Timeticks")


def _parse_value(text: str) -> tuple[Value, str]:
    if text.startswith("No Such Object"):
        return NO_SUCH_OBJECT, "noSuchObject"
    if text.startswith("No Such Instance"):
        return NO_SUCH_INSTANCE, "noSuchInstance"
    if text.startswith("No more variables left"):
        return END_OF_MIB_VIEW, "endOfMibView"
    if text == "NULL":
        return None, "NULL"
    if text == '""':
        return b"", "STRING"
    kind, sep, body = text.partition(": ")
    if not sep:
        if text.lstrip("-").isdigit():  # -Ot prints TimeTicks as a bare number
            return int(text), "Timeticks"
        kind, body = text.rstrip(":"), ""
    if kind == "Hex-STRING":
        return bytes.fromhex(body), "STRING"
    if kind == "STRING":
        return body.strip('"').encode(), "STRING"
    if kind in _INT_TYPES:
        return int(body.split()[0]), kind
    if kind == "OID":
        return body.lstrip("."), "OID"
    if kind == "IpAddress":
        return body, "IpAddress"
    raise ValueError(f"cannot read Net-SNMP value {text!r}")


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


def wait_ready(host: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once the agent at host:port answers a v3 discovery probe; False if `process`
    exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
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
    port: int | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[Agent]:
    """Start snmpd on `port` (default: a free one) of `host`; yield an `Agent`; stop it."""
    if not snmpd_available():
        raise RuntimeError("snmpd / snmp tools not installed (apt-get install snmpd snmp)")
    directory = Path(tmp_path) / f"snmpd-{time.monotonic_ns()}"
    (directory / "persist").mkdir(parents=True)
    lines = ["[snmp] persistentDir " + str(directory / "persist")]
    lines += [f"rocommunity {c} {host}" for c in communities]
    for user in users:
        lines += [user.create_line(), user.access_line()]
    lines += list(extra_config)
    (directory / "snmpd.conf").write_text("\n".join(lines) + "\n")
    agent = Agent(host, 0, directory, tuple(communities), tuple(users), startup_timeout)
    try:
        for _ in range(3 if port is None else 1):  # a free port can be taken before snmpd binds
            agent.port = port if port is not None else free_udp_port(host)
            if agent.start():
                break
        else:
            raise RuntimeError(f"snmpd did not start: {agent.log_path.read_text()[-2000:]}")
        yield agent
    finally:
        agent.stop()
