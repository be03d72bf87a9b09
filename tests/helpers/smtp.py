"""A small SMTP server for tests: STARTTLS with a throwaway CA, AUTH PLAIN and LOGIN.

It refuses AUTH before STARTTLS (as a real submission server does), records each message
it accepts, and can be stopped and started again on the same port.

    with smtp_server(tmp_path, user="tierwatch", password="s3cret") as smtp:
        ... host 127.0.0.1, port smtp.port, ca_file smtp.ca_file ...
        smtp.wait_for_messages(1, timeout=10)
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from tests.helpers.procs import free_port


def make_ca_and_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 and localhost: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tierwatch test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file = directory / "ca.pem", directory / "cert.pem"
    key_file = directory / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    raw: bytes
    tls: bool
    user: str | None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""


class SmtpServer:
    def __init__(self, directory: Path, user: str, password: str) -> None:
        self.port = free_port()
        self.user, self.password = user, password
        self.ca_file, cert, key = make_ca_and_cert(directory)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.messages: list[Mail] = []
        self.auth_failures = 0
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> SmtpServer:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                super().setup()
                self.tls = False
                self.user: str | None = None

            def send(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def read(self) -> str:
                return self.rfile.readline(65536).decode("utf-8", "replace").rstrip("\r\n")

            def handle(self) -> None:
                self.send("220 localhost test SMTP")
                sender, recipients = "", list[str]()
                while True:
                    line = self.read()
                    if not line and self.rfile.closed:
                        return
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.send("250-localhost")
                        if not self.tls:
                            self.send("250-STARTTLS")
                        else:
                            self.send("250-AUTH PLAIN LOGIN")
                        self.send("250 8BITMIME")
                    elif verb == "STARTTLS":
                        self.send("220 go ahead")
                        self.request = owner.context.wrap_socket(self.request, server_side=True)
                        self.rfile = self.request.makefile("rb")
                        self.wfile = self.request.makefile("wb")
                        self.tls = True
                    elif verb == "AUTH":
                        if not self.tls:
                            self.send("530 must issue STARTTLS first")
                            continue
                        self.auth(line)
                    elif verb == "MAIL":
                        if self.user is None:
                            self.send("530 authentication required")
                            continue
                        sender = line.split(":", 1)[1].strip().split()[0].strip("<>")
                        recipients = []
                        self.send("250 ok")
                    elif verb == "RCPT":
                        recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                        self.send("250 ok")
                    elif verb == "DATA":
                        self.send("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while True:
                            raw = self.rfile.readline(1 << 20)
                            if raw in (b".\r\n", b".\n", b""):
                                break
                            lines.append(raw[1:] if raw.startswith(b"..") else raw)
                        with owner._lock:
                            owner.messages.append(Mail(sender, recipients, b"".join(lines),
                                                       self.tls, self.user))
                        self.send("250 queued")
                    elif verb == "RSET" or verb == "NOOP":
                        self.send("250 ok")
                    elif verb == "QUIT":
                        self.send("221 bye")
                        return
                    elif not line:
                        return
                    else:
                        self.send("502 not implemented")

            def auth(self, line: str) -> None:
                parts = line.split()
                mechanism = parts[1].upper() if len(parts) > 1 else ""
                if mechanism == "PLAIN":
                    if len(parts) > 2:
                        blob = parts[2]
                    else:
                        self.send("334 ")
                        blob = self.read()
                    fields = base64.b64decode(blob).split(b"\0")
                    user, password = fields[1].decode(), fields[2].decode()
                elif mechanism == "LOGIN":
                    self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.read()).decode()
                    self.send("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.read()).decode()
                else:
                    self.send("504 unknown mechanism")
                    return
                if (user, password) == (owner.user, owner.password):
                    self.user = user
                    self.send("235 authenticated")
                else:
                    with owner._lock:
                        owner.auth_failures += 1
                    self.send("535 authentication failed")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name=f"smtp:{self.port}").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for_messages(self, count: int, timeout: float) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.messages)} mail(s) within {timeout}s, wanted {count}")


@contextlib.contextmanager
def smtp_server(directory: Path, user: str = "tierwatch",
                password: str = "s3cret-pass") -> Iterator[SmtpServer]:
    server = SmtpServer(directory, user, password).start()
    try:
        yield server
    finally:
        server.stop()
