"""The city's e-government services, simulated for real on loopback: an HTTPS portal and a
document-management web app (certificates from a CA made here), DNS, SMTP with STARTTLS, and
a SIP endpoint. The demo serves them; the tests check them (and mount attacks with them).

Each server has a `mode` that a fault sets:

    ok         answers as a healthy server does
    slow       answers after `slow_seconds` (longer than a check's timeout)
    failing    HTTP 500, SMTP 421, DNS SERVFAIL, SIP 503
    expiring   (TLS servers) presents a certificate with 5 days left
    expired    (TLS servers) presents a certificate that ended yesterday
    down       refuses connections (the listening socket is closed)

and, for the tests' attacks on the checks: `garbage` (bytes that are no protocol),
`slowloris` (a status line, then one header byte a second, never ending), `reset` (closes at
once), `huge_headers` (a megabyte of headers), `redirect_loop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import ipaddress
import ssl
import struct
from dataclasses import dataclass, field
from pathlib import Path

CA_DAYS = 3650
LEAF_DAYS = 365
EXPIRING_DAYS = 5


# --------------------------------------------------------------------------- certificates


@dataclass
class CityCA:
    """A certificate authority made on the spot, and the leaf certificates it issues."""

    directory: Path
    name: str = "Thành phố CA (tierwatch demo)"
    _key: object = field(default=None, repr=False)
    _cert: object = field(default=None, repr=False)

    @property
    def ca_file(self) -> Path:
        return self.directory / "city-ca.pem"

    def create(self) -> CityCA:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        self._key, self._cert = key, cert
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return self

    def issue(self, stem: str, names: list[str], days_left: float,
              valid_days: float = LEAF_DAYS) -> tuple[Path, Path]:
        """A leaf for `names` (DNS names or IP addresses) ending `days_left` days from now
        (negative: already expired); returns (certificate file, key file)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        assert self._key is not None and self._cert is not None, "create() first"
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        end = now + dt.timedelta(days=days_left)
        alt: list[x509.GeneralName] = []
        for n in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                alt.append(x509.DNSName(n))
        ca_cert: x509.Certificate = self._cert  # type: ignore[assignment]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(min(now - dt.timedelta(days=1),
                                      end - dt.timedelta(days=valid_days)))
                .not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(self._key, hashes.SHA256()))  # type: ignore[arg-type]
        cert_file = self.directory / f"{stem}.crt"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                              + ca_cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_file.chmod(0o600)
        return cert_file, key_file


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


# --------------------------------------------------------------------------- base


class SimServer:
    """A loopback server with a mode; `start()` binds (port 0: a free one), `stop()` ends
    it; `set_mode()` takes effect for the next connection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, slow_seconds: float = 30.0
                 ) -> None:
        self.host = host
        self.port = port
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.served = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            self.served += 1
            await self.handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError,
                TimeoutError, asyncio.CancelledError):
            pass  # a client that went away, or the server stopping
        finally:
            self._writers.discard(writer)
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        was_down = self.mode == "down"
        self.mode = mode
        if mode == "down" and self._server is not None:
            await self._close_tcp()
        elif was_down:
            await self._listen()
        await self.mode_changed()

    async def mode_changed(self) -> None:
        """Hook: a TLS server swaps its certificate here."""

    async def stop(self) -> None:
        await self._close_tcp()

    async def _close_tcp(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None


# --------------------------------------------------------------------------- web


class WebServer(SimServer):
    """HTTP(S): `GET /` answers 200 with `body`. TLS when a CA and names are given: a
    certificate with a year left (`expiring`: 5 days; `expired`: ended yesterday)."""

    def __init__(self, body: str = "ok", *, ca: CityCA | None = None,
                 names: list[str] | None = None, stem: str = "web", **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.body = body
        self.ca = ca
        self.names = names or ["127.0.0.1"]
        self.stem = stem
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self) -> ssl.SSLContext | None:
        if self.ca is None:
            return None
        which = self.mode if self.mode in ("expiring", "expired") else "ok"
        if which not in self._contexts:
            days = {"ok": LEAF_DAYS, "expiring": EXPIRING_DAYS, "expired": -1}[which]
            cert, key = self.ca.issue(f"{self.stem}-{which}", self.names, days)
            self._contexts[which] = server_context(cert, key)
        return self._contexts[which]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve_tls, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve_tls(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        ctx = self._context()
        if ctx is not None:
            if self.mode == "reset":
                writer.transport.abort()
                return
            try:
                await writer.start_tls(ctx)
            except (OSError, ssl.SSLError):
                writer.close()
                return
        await self._serve(reader, writer)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode == "reset":
            writer.transport.abort()
            return
        request = await reader.readuntil(b"\r\n\r\n")
        if mode == "garbage":
            writer.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n" * 4)
            await writer.drain()
            return
        if mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        if mode == "slowloris":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            await writer.drain()
            for _ in range(3600):
                await asyncio.sleep(1)
                writer.write(b"a")
                await writer.drain()
            return
        if mode == "huge_headers":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(20000):
                writer.write(b"X-Filler-%d: %s\r\n" % (i, b"y" * 40))
                if i % 500 == 0:
                    await writer.drain()
            writer.write(b"\r\n")
            await writer.drain()
            return
        if mode == "redirect_loop":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        code, reason = (500, "Internal Server Error") if mode == "failing" else (200, "OK")
        body = (self.body if code == 200 else "Lỗi máy chủ").encode()
        head = request.split(b"\r\n", 1)[0]
        body_out = b"" if head.startswith(b"HEAD ") else body
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (code, reason.encode(), len(body), body_out))
        await writer.drain()

    async def mode_changed(self) -> None:
        pass  # the certificate is picked per connection


# --------------------------------------------------------------------------- SMTP


class SmtpServer(SimServer):
    """SMTP with STARTTLS (RFC 3207): 220 greeting, EHLO lists STARTTLS, STARTTLS -> 220 and
    the handshake, then EHLO again and QUIT. `failing`: 421 greeting."""

    def __init__(self, *, ca: CityCA, names: list[str], stem: str = "mail", **kw: object
                 ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.ca = ca
        self.names = names
        self.stem = stem
        self._contexts: dict[str, ssl.SSLContext] = {}

    def _context(self) -> ssl.SSLContext:
        which = self.mode if self.mode in ("expiring", "expired") else "ok"
        if which not in self._contexts:
            days = {"ok": LEAF_DAYS, "expiring": EXPIRING_DAYS, "expired": -1}[which]
            cert, key = self.ca.issue(f"{self.stem}-{which}", self.names, days)
            self._contexts[which] = server_context(cert, key)
        return self._contexts[which]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self.mode
        if mode == "reset":
            writer.transport.abort()
            return
        if mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        if mode == "garbage":
            writer.write(b"hello? \x00\x01\x02\r\n")
            await writer.drain()
            return
        if mode == "failing":
            writer.write(b"421 mail.thanhpho.test Service not available\r\n")
            await writer.drain()
            return
        writer.write(b"220 mail.thanhpho.test ESMTP tierwatch-sim\r\n")
        await writer.drain()
        tls = False
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                return
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb in (b"EHLO", b"HELO"):
                lines = [b"250-mail.thanhpho.test", b"250-SIZE 10240000", b"250-8BITMIME"]
                if not tls:
                    lines.append(b"250-STARTTLS")
                lines.append(b"250 HELP")
                writer.write(b"\r\n".join(lines) + b"\r\n")
            elif verb == b"STARTTLS" and not tls:
                writer.write(b"220 2.0.0 Ready to start TLS\r\n")
                await writer.drain()
                await writer.start_tls(self._context())
                tls = True
                continue
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.1 Command not implemented\r\n")
            await writer.drain()


# --------------------------------------------------------------------------- SIP


def sip_answer(request: bytes, mode: str) -> bytes | None:
    """The answer to an OPTIONS request (None: no answer)."""
    if mode in ("down", "slow"):
        return None
    if mode == "garbage":
        return b"\x16\x03\x01 not sip\r\n\r\n"
    head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [h for h in head[1:] if h.lower().startswith((b"via:", b"from:", b"to:", b"call-id:",
                                                        b"cseq:", b"v:", b"f:", b"t:", b"i:"))]
    code = b"503 Service Unavailable" if mode == "failing" else b"200 OK"
    return (b"SIP/2.0 " + code + b"\r\n" + b"\r\n".join(keep)
            + b"\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\nContent-Length: 0\r\n\r\n")


class _SipUdp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipServer) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = sip_answer(data, self.owner.mode)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


SIP_PORT_ATTEMPTS = 20


class SipServer(SimServer):
    """A video-conference endpoint answering OPTIONS over UDP and TCP on one port."""

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._udp: asyncio.DatagramTransport | None = None

    async def _listen(self) -> None:
        # TCP picks the free port; UDP must then get the same number, which another
        # process may hold on UDP alone: pick again (a port asked for is never retried)
        chosen_freely = self.port == 0
        loop = asyncio.get_running_loop()
        for attempt in range(SIP_PORT_ATTEMPTS):
            await super()._listen()
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _SipUdp(self), local_addr=(self.host, self.port))
                return
            except OSError as exc:
                if (not chosen_freely or exc.errno != errno.EADDRINUSE
                        or attempt == SIP_PORT_ATTEMPTS - 1):
                    raise
                await self._close_tcp()
                self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        answer = sip_answer(request, self.mode)
        if answer is not None:
            writer.write(answer)
            await writer.drain()

    async def set_mode(self, mode: str) -> None:
        if mode == "down" and self._udp is not None:
            self._udp.close()
            self._udp = None
        await super().set_mode(mode)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        await super().stop()


# --------------------------------------------------------------------------- DNS


class _DnsUdp(asyncio.DatagramProtocol):
    def __init__(self, owner: DnsServer) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = self.owner.answer(data)
        if answer is None or self.transport is None:
            return
        if self.owner.mode == "slow":
            asyncio.get_running_loop().call_later(self.owner.slow_seconds,
                                                  self.transport.sendto, answer, addr)
        else:
            self.transport.sendto(answer, addr)


class DnsServer:
    """An authoritative UDP server for the city's names (dnspython builds the answers)."""

    def __init__(self, records: dict[str, str], host: str = "127.0.0.1", port: int = 0,
                 slow_seconds: float = 30.0) -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.host = host
        self.port = port
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self._udp: asyncio.DatagramTransport | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _DnsUdp(self), local_addr=(self.host, self.port))
        self.port = self._udp.get_extra_info("sockname")[1]

    def answer(self, data: bytes) -> bytes | None:
        import dns.exception
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        if self.mode == "garbage":
            return data[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 9, 0, 0) + b"\xff" * 7
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        if self.mode == "failing":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            address = self.records.get(name)
            if address is not None and question.rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A",
                                                           address))
            elif address is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    async def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        if mode == "down" and self._udp is not None:
            self._udp.close()
            self._udp = None
        elif self.mode == "down":
            await self.start()
        self.mode = mode

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None


# --------------------------------------------------------------------------- the demo's city


SERVICE_FAULTS = {
    "slow": "answers only after 30 s (longer than a check's timeout)",
    "failing": "HTTP 500 / SMTP 421 / DNS SERVFAIL / SIP 503",
    "expiring": "presents a certificate with 5 days left (TLS servers)",
    "down": "refuses connections",
}
FAULT_WATCH = 0.5  # seconds between reads of the faults file


class CityServices:
    """The demo's e-government services on loopback, each a simulated device of its own
    for `tierwatch sim fault` (faults.json, as the SNMP agents read it)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.ca = CityCA(run_dir / "pki")
        self.servers: dict[str, SimServer | DnsServer] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ca.create()
        self.servers = {
            "portal-web": WebServer("<h1>Cổng dịch vụ công trực tuyến thành phố</h1>",
                                    ca=self.ca, names=["dichvucong.thanhpho.test"],
                                    stem="portal"),
            "docs-web": WebServer("<h1>Hệ thống quản lý văn bản và điều hành</h1>",
                                  ca=self.ca, names=["vanban.thanhpho.test"], stem="docs"),
            "dns-1": DnsServer({"dichvucong.thanhpho.test": "127.0.0.1",
                                "vanban.thanhpho.test": "127.0.0.1",
                                "mail.thanhpho.test": "127.0.0.1"}),
            "mail-1": SmtpServer(ca=self.ca, names=["mail.thanhpho.test"]),
            "video-1": SipServer(),
        }
        for server in self.servers.values():
            await server.start()
        self._task = asyncio.create_task(self._watch(), name="city services faults")

    def devices(self) -> dict[str, dict[str, object]]:
        """What sim.json lists for `tierwatch sim fault` and `sim list`."""
        faults = {name: dict(SERVICE_FAULTS) for name in self.servers}
        for name in ("dns-1", "video-1"):
            faults[name].pop("expiring")
        return {name: {"address": server.address, "model": "e-government service",
                       "faults": faults[name]} for name, server in self.servers.items()}

    def checks(self) -> list[dict[str, object]]:
        """The `services.checks` that watch these servers."""
        s = self.servers
        ca = str(self.ca.ca_file)
        return [
            {"service": "portal", "name": "https", "connect_to": "127.0.0.1", "ca_file": ca,
             "http": f"https://dichvucong.thanhpho.test:{s['portal-web'].port}/",
             "body": "Cổng dịch vụ công"},
            {"service": "docs", "name": "https", "connect_to": "127.0.0.1", "ca_file": ca,
             "http": f"https://vanban.thanhpho.test:{s['docs-web'].port}/",
             "body": "quản lý văn bản"},
            {"service": "dns", "name": "dns", "dns": "dichvucong.thanhpho.test",
             "resolvers": [s["dns-1"].address], "expect": ["127.0.0.1"]},
            {"service": "mail", "name": "smtp", "smtp": s["mail-1"].address, "starttls": True,
             "server_name": "mail.thanhpho.test", "ca_file": ca},
            {"service": "video", "name": "sip", "sip": s["video-1"].address},
        ]

    async def _watch(self) -> None:
        from sim.agent import read_faults

        path = self.run_dir / "faults.json"
        while True:
            faults = read_faults(path)
            for name, server in self.servers.items():
                active = [f for f, _ in faults.get(name, []) if f in SERVICE_FAULTS]
                mode = active[-1] if active else "ok"
                if mode != server.mode:
                    # the port taken meanwhile: it stays as it was, and is tried again
                    with contextlib.suppress(OSError):
                        await server.set_mode(mode)
            await asyncio.sleep(FAULT_WATCH)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for server in self.servers.values():
            await server.stop()
