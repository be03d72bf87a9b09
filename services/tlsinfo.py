"""TLS for the checks: contexts made once, the handshake with its verdict, and what a
certificate says.

A handshake verifies the chain and the host name against the check's CA file (or the
system's); a failed verification names why (expired, unknown issuer, wrong name) and, so the
certificate's days left are known even then, the probe reads the certificate once more
without verifying (`read_unverified`). Contexts are built once per (CA file, minimum
version, verify) and shared: building one costs more than a handshake.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from typing import Any

TLS_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
DAY = 86400.0


class _StartTlsEofNoise(logging.Filter):
    """CPython 3.11's stream protocol answers an EOF after `StreamWriter.start_tls` as if
    the connection were plain, and asyncio logs a warning each time a server closes after
    TLS (every check would log it). Only that line is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("returning true from eof_received()")


logging.getLogger("asyncio").addFilter(_StartTlsEofNoise())


@dataclass(frozen=True)
class CertInfo:
    """A certificate as a probe saw it: who it is for, who signed it, when it ends."""

    subject: str
    issuer: str
    names: tuple[str, ...]  # subject alternative names (DNS and IP)
    not_before: float
    not_after: float  # epoch seconds
    fingerprint: str  # SHA-256 of the DER, hex
    serial: str
    endpoint: str  # host:port it was seen at
    verified: bool  # the chain and name were verified in this handshake
    error: str = ""  # why not, when not

    def days_left(self, now: float) -> float:
        return (self.not_after - now) / DAY

    def to_json(self, now: float) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "names": list(self.names),
                "not_before": self.not_before, "not_after": self.not_after,
                "days_left": round(self.days_left(now), 3), "fingerprint": self.fingerprint,
                "serial": self.serial, "endpoint": self.endpoint, "verified": self.verified,
                "error": self.error}


def parse_der(der: bytes, endpoint: str, verified: bool, error: str = "") -> CertInfo:
    """A DER certificate's fields (by cryptography's parser: the bytes are the server's)."""
    subject, issuer, names, not_before, not_after, fingerprint, serial = _fields(der)
    return CertInfo(subject=subject, issuer=issuer, names=names, not_before=not_before,
                    not_after=not_after, fingerprint=fingerprint, serial=serial,
                    endpoint=endpoint, verified=verified, error=error)


# A server presents the same certificate check after check: parsed once, not every 15 s on
# the loop (bounded: a server that changes its certificate each time only costs the parse)
@lru_cache(maxsize=1024)
def _fields(der: bytes) -> tuple[str, str, tuple[str, ...], float, float, str, str]:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_der_x509_certificate(der)

    def common_name(name: x509.Name) -> str:
        found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        value = found[0].value if found else name.rfc4514_string()
        return value if isinstance(value, str) else value.decode("utf-8", "replace")

    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName),
                 *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]
    except x509.ExtensionNotFound:
        pass
    return (common_name(cert.subject), common_name(cert.issuer), tuple(names[:20]),
            cert.not_valid_before_utc.astimezone(UTC).timestamp(),
            cert.not_valid_after_utc.astimezone(UTC).timestamp(),
            hashlib.sha256(der).hexdigest(), format(cert.serial_number, "x"))


@lru_cache(maxsize=64)
def context(ca_file: str | None, tls_min: str | None, verify: bool) -> ssl.SSLContext:
    """A client context: verifying against `ca_file` (or the system's CAs), or not at all."""
    ctx = ssl.create_default_context(cafile=ca_file)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls_min is not None:
        ctx.minimum_version = TLS_VERSIONS[tls_min]
    return ctx


def verify_reason(exc: ssl.SSLCertVerificationError) -> tuple[str, str]:
    """(reason, message) of a failed verification: cert_expired, hostname, cert_untrusted."""
    message = exc.verify_message or str(exc)
    code = exc.verify_code
    if code in (10, 9):  # X509_V_ERR_CERT_HAS_EXPIRED, _NOT_YET_VALID
        return "cert_expired", f"certificate {message}"
    lowered = message.lower()
    if code == 62 or "hostname mismatch" in lowered or "ip address mismatch" in lowered:
        return "hostname", f"certificate {message}"
    return "cert_untrusted", f"certificate not trusted: {message}"


def peer_cert(writer: asyncio.StreamWriter, endpoint: str, verified: bool,
              error: str = "") -> CertInfo | None:
    obj = writer.get_extra_info("ssl_object")
    der = obj.getpeercert(binary_form=True) if obj is not None else None
    if not der:
        return None
    try:
        return parse_der(der, endpoint, verified, error)
    except ValueError:
        return None


def tls_version(writer: asyncio.StreamWriter) -> str | None:
    obj = writer.get_extra_info("ssl_object")
    return obj.version() if obj is not None else None


async def read_unverified(host: str, port: int, server_name: str | None,
                          local: str | None, endpoint: str, error: str,
                          tls_min: str | None) -> CertInfo | None:
    """The certificate a server presents, read in a handshake that does not verify it (after
    a verified one failed: its days left are still worth knowing). None if that fails too."""
    writer = None
    try:
        _reader, writer = await asyncio.open_connection(
            host, port, ssl=context(None, tls_min, False), server_hostname=server_name or "",
            local_addr=(local, 0) if local else None, ssl_handshake_timeout=None)
        return peer_cert(writer, endpoint, False, error)
    except (OSError, ssl.SSLError, EOFError):
        return None
    finally:
        if writer is not None:
            writer.close()
