"""SNMPv3 User-based Security Model (RFC 3414) for a command generator.

Keys: password-to-key and localization (RFC 3414 A.2) for MD5 and SHA-1, and the same
procedure with SHA-224/256/384/512 (RFC 7860). Authentication: HMAC truncated to
12/12/16/24/32/48 octets. Privacy: DES-CBC (RFC 3414 8), AES-128-CFB (RFC 3826), and
AES-192/256-CFB with the key extension Net-SNMP 5.9's snmpd uses for its "AES-192" and
"AES-256" users: draft-blumenthal-aes-usm-04 section 3.1.2.1 (Kul' = Kul || H(Kul), until
long enough). The Reeder extension Cisco devices use ("AES192C"/"AES256C" here, Net-SNMP's
"AES-192-C"/"AES-256-C") is also available.

Key derivation hashes 1 MiB per password, so localized keys are cached per
(password, engine ID, protocol); the cache holds digests of passwords, never passwords.
No error message here ever contains a password or a key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from collector.snmp import ber, message
from collector.snmp.client import Credentials, SnmpAuthError

try:  # CFB lives in "decrepit" since cryptography 47; older releases have it in modes
    from cryptography.hazmat.decrepit.ciphers.modes import CFB as _CFB
except ImportError:  # pragma: no cover - depends on the installed cryptography
    _CFB = modes.CFB  # type: ignore[misc]
try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
except ImportError:  # pragma: no cover
    _TripleDES = algorithms.TripleDES  # type: ignore[misc]


# protocol -> (hashlib name, digest length, HMAC truncation); RFC 3414, RFC 7860
AUTH_PROTOCOLS: dict[str, tuple[str, int, int]] = {
    "MD5": ("md5", 16, 12),
    "SHA": ("sha1", 20, 12),
    "SHA224": ("sha224", 28, 16),
    "SHA256": ("sha256", 32, 24),
    "SHA384": ("sha384", 48, 32),
    "SHA512": ("sha512", 64, 48),
}
# protocol -> (key octets taken from the localized key, key extension)
PRIV_PROTOCOLS: dict[str, tuple[int, str]] = {
    "DES": (16, ""),  # 8 octets of key, then 8 of pre-IV
    "AES": (16, ""),
    "AES192": (24, "blumenthal"),
    "AES256": (32, "blumenthal"),
    "AES192C": (24, "reeder"),
    "AES256C": (32, "reeder"),
}

_ALIASES = {"SHA1": "SHA", "AES128": "AES", "DESCBC": "DES", "AES192CISCO": "AES192C"}
_ALIASES["AES256CISCO"] = "AES256C"


def normalize_protocol(name: str) -> str:
    """ "SHA-256", "sha256", "AES-128" -> the names above."""
    key = name.upper().replace("-", "").replace("_", "")
    return _ALIASES.get(key, key)


# --------------------------------------------------------------------------- keys

_ONE_MIB = 1_048_576
_CACHE_LIMIT = 4096
_master_keys: dict[tuple[bytes, str], bytes] = {}
_localized_keys: dict[tuple[bytes, bytes, str, str], bytes] = {}


def _password_id(password: bytes) -> bytes:
    return hashlib.sha256(b"tierwatch-usm-key-cache\0" + password).digest()


def password_to_key(password: bytes, auth_protocol: str) -> bytes:
    """Ku: the hash of 1 MiB of the password repeated (RFC 3414 A.2.1, RFC 7860 9.3)."""
    hash_name = AUTH_PROTOCOLS[normalize_protocol(auth_protocol)][0]
    if not password:
        raise ValueError("an SNMPv3 password cannot be empty")
    stream = password * (_ONE_MIB // len(password) + 1)
    return hashlib.new(hash_name, memoryview(stream)[:_ONE_MIB]).digest()


def localize_key(master_key: bytes, engine_id: bytes, auth_protocol: str) -> bytes:
    """Kul = H(Ku || engineID || Ku) (RFC 3414 A.2.2)."""
    hash_name = AUTH_PROTOCOLS[normalize_protocol(auth_protocol)][0]
    return hashlib.new(hash_name, master_key + engine_id + master_key).digest()


def _extend_blumenthal(kul: bytes, need: int, hash_name: str) -> bytes:
    while len(kul) < need:
        kul += hashlib.new(hash_name, kul).digest()
    return kul


def _extend_reeder(kul: bytes, need: int, engine_id: bytes, auth_protocol: str) -> bytes:
    while len(kul) < need:
        kul += localize_key(password_to_key(kul, auth_protocol), engine_id, auth_protocol)
    return kul


def _remember(cache: dict[Any, bytes], key: Any, value: bytes) -> bytes:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()  # a monitor talks to a bounded set of agents; a rare refill is cheap
    cache[key] = value
    return value


def _master_key(password: bytes, auth_protocol: str) -> bytes:
    cache_key = (_password_id(password), auth_protocol)
    found = _master_keys.get(cache_key)
    if found is None:
        found = _remember(_master_keys, cache_key, password_to_key(password, auth_protocol))
    return found


def auth_key(password: bytes, engine_id: bytes, auth_protocol: str) -> bytes:
    """The localized authentication key (cached)."""
    proto = normalize_protocol(auth_protocol)
    cache_key = (_password_id(password), engine_id, proto, "")
    found = _localized_keys.get(cache_key)
    if found is None:
        kul = localize_key(_master_key(password, proto), engine_id, proto)
        found = _remember(_localized_keys, cache_key, kul)
    return found


def priv_key(password: bytes, engine_id: bytes, auth_protocol: str, priv_protocol: str) -> bytes:
    """The localized privacy key, extended as the privacy protocol needs (cached)."""
    auth = normalize_protocol(auth_protocol)
    priv = normalize_protocol(priv_protocol)
    need, extension = PRIV_PROTOCOLS[priv]
    cache_key = (_password_id(password), engine_id, auth, priv)
    found = _localized_keys.get(cache_key)
    if found is None:
        kul = localize_key(_master_key(password, auth), engine_id, auth)
        if extension == "blumenthal":
            kul = _extend_blumenthal(kul, need, AUTH_PROTOCOLS[auth][0])
        elif extension == "reeder":
            kul = _extend_reeder(kul, need, engine_id, auth)
        if len(kul) < need:
            raise ValueError(f"{priv} needs a {need}-octet key; {auth} gives {len(kul)}")
        found = _remember(_localized_keys, cache_key, kul[:need])
    return found


def clear_key_cache() -> None:
    _master_keys.clear()
    _localized_keys.clear()


# --------------------------------------------------------------------------- transforms


class Authenticator:
    """HMAC-<hash> with the protocol's truncation, keyed once."""

    __slots__ = ("_inner", "_outer", "length")

    def __init__(self, auth_protocol: str, key: bytes) -> None:
        hash_name, _, self.length = AUTH_PROTOCOLS[normalize_protocol(auth_protocol)]
        # HMAC's two keyed hash states, prepared once; each message copies them.
        inner = hashlib.new(hash_name)
        block = inner.block_size
        if len(key) > block:
            key = hashlib.new(hash_name, key).digest()
        key = key.ljust(block, b"\0")
        inner.update(key.translate(_IPAD))
        outer = hashlib.new(hash_name)
        outer.update(key.translate(_OPAD))
        self._inner = inner
        self._outer = outer

    def digest(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[: self.length]

    def digest_parts(self, *parts: bytes | memoryview) -> bytes:
        """The digest of the parts' concatenation, without concatenating them."""
        inner = self._inner.copy()
        for part in parts:
            inner.update(part)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[: self.length]


_ZEROS = bytes(64)
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))


def _cipher_contexts() -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    """Constructors of encryption and decryption contexts.

    `Cipher(...)` re-validates its arguments on every call, which costs about as much as
    decrypting a whole response; the Rust constructors it delegates to skip that. They are
    used only if present and right on a known AES-CFB vector (NIST SP 800-38A F.3.13).
    """

    def public_encryptor(algorithm: Any, mode: Any) -> Any:
        return Cipher(algorithm, mode).encryptor()

    def public_decryptor(algorithm: Any, mode: Any) -> Any:
        return Cipher(algorithm, mode).decryptor()

    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        enc = rust_openssl.ciphers.create_encryption_ctx
        dec = rust_openssl.ciphers.create_decryption_ctx
        key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
        iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
        plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
        expected = bytes.fromhex("3b3fd92eb72dad20333449f8e83cfb4a")
        got = enc(algorithms.AES(key), _CFB(iv)).update(plain)
        back = dec(algorithms.AES(key), _CFB(iv)).update(expected)
        if got == expected and back == plain:
            return enc, dec
    except Exception:  # any surprise means: use the public API
        pass
    return public_encryptor, public_decryptor


_new_encryptor, _new_decryptor = _cipher_contexts()


class Privacy:
    """Encrypts and decrypts ScopedPDUs for one localized privacy key."""

    __slots__ = ("_algorithm", "_des", "_keystream", "_pre_iv", "_salt", "protocol")

    def __init__(self, priv_protocol: str, key: bytes) -> None:
        self.protocol = normalize_protocol(priv_protocol)
        need = PRIV_PROTOCOLS[self.protocol][0]
        if len(key) < need:
            raise ValueError(f"{self.protocol} needs a {need}-octet key")
        self._des = self.protocol == "DES"
        if self._des:
            # Single DES as three identical DES keys: the only DES cryptography offers.
            self._algorithm: Any = _TripleDES(key[:8] * 3)
            self._pre_iv = int.from_bytes(key[8:16], "big")
            self._salt = int.from_bytes(os.urandom(4), "big")
        else:
            self._algorithm = algorithms.AES(key[:need])
            self._pre_iv = 0
            self._salt = int.from_bytes(os.urandom(8), "big")
            # CFB decryption needs only AES encryptions of blocks known in advance (the IV
            # and the ciphertext itself), so one ECB context, keyed once, serves every
            # answer: cheaper than a new CFB context per message.
            self._keystream = Cipher(self._algorithm, modes.ECB()).encryptor()

    def encrypt(self, plain: bytes, boots: int, engine_time: int) -> tuple[bytes, bytes]:
        """(ciphertext, msgPrivacyParameters)."""
        if self._des:
            self._salt = (self._salt + 1) & 0xFFFFFFFF
            salt = ((boots & 0xFFFFFFFF) << 32 | self._salt).to_bytes(8, "big")
            iv = (self._pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
            pad = -len(plain) % 8
            ctx = _new_encryptor(self._algorithm, modes.CBC(iv))
            return ctx.update(plain + b"\0" * pad) + ctx.finalize(), salt
        self._salt = (self._salt + 1) & 0xFFFFFFFFFFFFFFFF
        salt = self._salt.to_bytes(8, "big")
        iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        ctx = _new_encryptor(self._algorithm, _CFB(iv))
        return ctx.update(plain) + ctx.finalize(), salt

    def decrypt(self, cipher: bytes, salt: bytes, boots: int, engine_time: int) -> bytes:
        if len(salt) != 8:
            raise SnmpAuthError("decryption error: privacy parameters are not 8 octets")
        if self._des:
            if len(cipher) % 8:
                raise SnmpAuthError("decryption error: DES ciphertext not a multiple of 8")
            iv = (self._pre_iv ^ int.from_bytes(salt, "big")).to_bytes(8, "big")
            ctx = _new_decryptor(self._algorithm, modes.CBC(iv))
        else:
            if boots > 0xFFFFFFFF or engine_time > 0xFFFFFFFF:
                raise SnmpAuthError("decryption error: engine boots/time out of range")
            n = len(cipher)
            if not n:
                return b""
            iv = boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
            # P_i = C_i xor E(C_(i-1)), with C_(-1) = IV (RFC 3826 3.1.4, CFB-128)
            stream = self._keystream.update(iv + cipher[: 16 * ((n - 1) // 16)])
            return (
                int.from_bytes(cipher, "little") ^ int.from_bytes(stream[:n], "little")
            ).to_bytes(n, "little")
        return ctx.update(cipher) + ctx.finalize()


# --------------------------------------------------------------------------- reports

_USM_STATS = "1.3.6.1.6.3.15.1.1."
REPORT_NAMES = {
    _USM_STATS + "1.0": "usmStatsUnsupportedSecLevels",
    _USM_STATS + "2.0": "usmStatsNotInTimeWindows",
    _USM_STATS + "3.0": "usmStatsUnknownUserNames",
    _USM_STATS + "4.0": "usmStatsUnknownEngineIDs",
    _USM_STATS + "5.0": "usmStatsWrongDigests",
    _USM_STATS + "6.0": "usmStatsDecryptionErrors",
    "1.3.6.1.6.3.11.2.1.1.0": "snmpUnknownSecurityModels",
    "1.3.6.1.6.3.11.2.1.2.0": "snmpInvalidMsgs",
    "1.3.6.1.6.3.11.2.1.3.0": "snmpUnknownPDUHandlers",
    "1.3.6.1.6.3.12.1.4.0": "snmpUnavailableContexts",
    "1.3.6.1.6.3.12.1.5.0": "snmpUnknownContexts",
}
REPORT_MEANINGS = {
    "usmStatsUnsupportedSecLevels": "the agent does not allow this security level for the user",
    "usmStatsUnknownUserNames": "unknown user name",
    "usmStatsWrongDigests": "wrong digest (authentication password or protocol)",
    "usmStatsDecryptionErrors": "decryption error (privacy password or protocol)",
    "usmStatsNotInTimeWindows": "message outside the agent's time window",
    "usmStatsUnknownEngineIDs": "unknown engine ID",
}


def report_name(oid: str) -> str:
    return REPORT_NAMES.get(oid, oid)


# --------------------------------------------------------------------------- session

TIME_WINDOW = 150  # seconds (RFC 3414 3.2.7)
MAX_BOOTS = 2**31 - 1  # snmpEngineBoots latched there: no message is timely (RFC 3414 2.2.3)
MAX_TIME = 2**31 - 1
SECURITY_LEVEL = message.FLAG_AUTH | message.FLAG_PRIV  # the msgFlags bits of the level


class UsmSession:
    """One user's security state towards one agent: the agent's engine ID, its boots and
    time as last learnt, and the keys localized to that engine.

    The clock comes from discovery first (unauthenticated, RFC 3414 4: good only for the
    first request) and is replaced by the first authentic message from the agent; after
    that only authentic messages move it (`open_answer`, `sync_time`).
    """

    def __init__(self, credentials: Credentials) -> None:
        self.user = credentials.user.encode()
        self.context = credentials.context.encode()
        self.auth_protocol = (
            normalize_protocol(credentials.auth_protocol) if credentials.auth_protocol else ""
        )
        self.priv_protocol = (
            normalize_protocol(credentials.priv_protocol) if credentials.priv_protocol else ""
        )
        if self.auth_protocol and self.auth_protocol not in AUTH_PROTOCOLS:
            raise ValueError(f"unknown SNMPv3 auth protocol {credentials.auth_protocol!r}")
        if self.priv_protocol and self.priv_protocol not in PRIV_PROTOCOLS:
            raise ValueError(f"unknown SNMPv3 privacy protocol {credentials.priv_protocol!r}")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("SNMPv3 privacy needs an authentication protocol")
        if self.auth_protocol and not credentials.auth_key:
            raise ValueError("SNMPv3 authentication needs a password")
        self._auth_password = credentials.auth_key.encode()
        self._priv_password = credentials.priv_key.encode()
        # the security level of every request, and of every Response to one
        self.flags = (message.FLAG_AUTH if self.auth_protocol else 0) | (
            message.FLAG_PRIV if self.priv_protocol else 0
        )
        self.engine_id = b""
        self.boots = 0
        self._time = 0
        self._synced_at = 0.0
        self._latest_time = 0
        self._clock_authentic = False  # set by the first authentic message
        self._auth: Authenticator | None = None
        self._priv: Privacy | None = None
        self._user_tlv = ber.encode_tlv(ber.OCTET_STRING, self.user)
        self._global_tail = (
            ber.encode_integer(message.MAX_MESSAGE_SIZE)
            + bytes((ber.OCTET_STRING, 1, self.flags | message.FLAG_REPORTABLE))
            + ber.encode_integer(message.USM_SECURITY_MODEL)
        )
        self._prepare()

    def __repr__(self) -> str:  # never the passwords or keys
        return f"UsmSession(user={self.user!r}, level={self.flags})"

    @property
    def discovered(self) -> bool:
        return bool(self.engine_id)

    @property
    def clock_authentic(self) -> bool:
        """Whether boots/time come from an authentic message (not discovery alone)."""
        return self._clock_authentic

    @property
    def scoped_head(self) -> bytes:
        """contextEngineID and contextName TLVs, as every request (and Response) has them."""
        return self._scoped_head

    def engine_time(self) -> int:
        """The local notion of the agent's snmpEngineTime (RFC 3414 2.3)."""
        return min(self._time + int(time.monotonic() - self._synced_at), MAX_TIME)

    def learn_engine(self, engine_id: bytes, boots: int, engine_time: int) -> None:
        """Adopt an agent's engine ID from discovery and localize the keys for it. Its boots
        and time serve the first request only: they are unauthenticated, so the first
        authentic message from the agent replaces them whatever they were."""
        if engine_id != self.engine_id:
            self.engine_id = engine_id
            self._auth = None
            self._priv = None
            if self.auth_protocol:
                kul = auth_key(self._auth_password, engine_id, self.auth_protocol)
                self._auth = Authenticator(self.auth_protocol, kul)
            if self.priv_protocol:
                key = priv_key(
                    self._priv_password or self._auth_password,
                    engine_id,
                    self.auth_protocol,
                    self.priv_protocol,
                )
                self._priv = Privacy(self.priv_protocol, key)
            self._prepare()
        self._set_clock(boots, engine_time)
        self._clock_authentic = False

    def forget(self) -> None:
        """Drop the engine and its clock: the next request discovers the agent again
        (after repeated failures: a stale or poisoned session heals this way)."""
        self.engine_id = b""
        self._auth = None
        self._priv = None
        self._set_clock(0, 0)
        self._clock_authentic = False
        self._prepare()

    def sync_time(self, boots: int, engine_time: int) -> None:
        """Adopt the agent's clock from an authentic message that answers our current
        request (a notInTimeWindows Report: fresh, since its digest covers our random
        msgID). Values beyond 2^31-1 are refused (the message parser refuses them first)."""
        if not (0 <= boots <= MAX_BOOTS and 0 <= engine_time <= MAX_TIME):
            raise ValueError("engine boots/time out of range")
        self._set_clock(boots, engine_time)
        self._clock_authentic = True

    def _set_clock(self, boots: int, engine_time: int) -> None:
        self.boots = boots
        self._time = engine_time
        self._latest_time = engine_time
        self._synced_at = time.monotonic()

    # -- outgoing

    def discovery_request(self, msg_id: int, pdu: bytes) -> bytes:
        """An unauthenticated, reportable probe: its Report names the engine (RFC 3414 4)."""
        params, offset = message.encode_usm_parameters(b"", 0, 0, b"", b"", b"")
        scoped = message.encode_scoped_pdu(b"", b"", pdu)
        data, _ = message.encode_v3_message(msg_id, message.FLAG_REPORTABLE, params, offset, scoped)
        return data

    def encode_request(self, msg_id: int, pdu: bytes) -> bytes:
        """A secured request around `pdu`. Runs once per request of every v3 poll, so the
        parts that never change for this user and engine are prepared (`_prepare`) and the
        message is laid out in one join: only ids, clock, salt and digest are new."""
        header = ber.tlv_header
        integer = ber.encode_integer
        boots = self.boots
        engine_time = self.engine_time()
        scoped_body = self._scoped_head + pdu
        scoped = header(ber.SEQUENCE, len(scoped_body)) + scoped_body
        priv_tlv = b"\x04\x00"
        if self._priv is not None:
            cipher, salt = self._priv.encrypt(scoped, boots, engine_time)
            scoped = header(ber.OCTET_STRING, len(cipher)) + cipher
            priv_tlv = b"\x04\x08" + salt
        usm_head = self._engine_tlv + integer(boots) + integer(engine_time) + self._user_tlv
        usm_len = len(usm_head) + len(self._auth_tlv) + len(priv_tlv)
        usm_header = header(ber.SEQUENCE, usm_len)
        security_header = header(ber.OCTET_STRING, len(usm_header) + usm_len)
        global_body = integer(msg_id) + self._global_tail
        global_header = header(ber.SEQUENCE, len(global_body))
        before_auth = (
            b"\x02\x01\x03" + global_header + global_body + security_header + usm_header + usm_head
        )
        after_auth = priv_tlv + scoped
        body_len = len(before_auth) + len(self._auth_tlv) + len(after_auth)
        before_auth = header(ber.SEQUENCE, body_len) + before_auth
        auth = self._auth
        if auth is None:
            return before_auth + self._auth_tlv + after_auth
        # the digest covers the message with zeros where the digest goes (RFC 3414 6.3.1)
        auth_header = self._auth_tlv[:2]
        digest = auth.digest_parts(before_auth, self._auth_tlv, after_auth)
        return before_auth + auth_header + digest + after_auth

    def _prepare(self) -> None:
        """Precompute the constant parts of this user's requests to the current engine."""
        self._engine_tlv = ber.encode_tlv(ber.OCTET_STRING, self.engine_id)
        self._scoped_head = self._engine_tlv + ber.encode_tlv(ber.OCTET_STRING, self.context)
        auth_len = self._auth.length if self._auth is not None else 0
        self._auth_tlv = ber.encode_tlv(ber.OCTET_STRING, b"\0" * auth_len)

    # -- incoming

    def open_answer(self, data: bytes, msg: message.V3Message) -> tuple[bytes, bool, bool]:
        """RFC 3414 3.2 for a message that answers one of our requests: (plaintext
        ScopedPDU, authenticated, timely). Raises message.Dropped naming the failed check.

        In RFC 3414 3.2's order: the security model and msgFlags (RFC 3412 7.2.4-5); for an
        authenticated message, the engine ID is the agent's (3.2.3), the user is ours
        (3.2.4), the digest verifies (3.2.6), the timeliness (3.2.7: an authentic newer
        clock is adopted first, as 3.2.7 b says), then decryption (3.2.8). An
        unauthenticated message comes back as it is, `authenticated` False: what it may be
        (a discovery Report, an unsecured user's Response) is the caller's decision, as is
        the security level a Response must have (RFC 3412 7.2.12 b) and what an untimely
        message means (a Response is refused; an authentic notInTimeWindows Report that
        answers our msgID is the agent correcting our clock).
        """
        if msg.security_model != message.USM_SECURITY_MODEL:
            raise message.Dropped("unknown_security_model")
        flags = msg.flags
        if flags & message.FLAG_PRIV and not flags & message.FLAG_AUTH:
            raise message.Dropped("invalid_flags")
        if not flags & message.FLAG_AUTH:
            return msg.scoped, False, True
        auth = self._auth
        if auth is None:  # our user has no key: nothing of ours can be authenticated
            raise message.Dropped("wrong_security_level")
        if msg.engine_id != self.engine_id:
            raise message.Dropped("bad_engine_id")
        if msg.user != self.user:
            raise message.Dropped("wrong_user")
        n = auth.length
        if len(msg.auth_params) != n:
            raise message.Dropped("bad_digest")
        off = msg.auth_offset
        whole = memoryview(data)
        expected = auth.digest_parts(whole[:off], _ZEROS[:n], whole[off + n :])
        if not hmac.compare_digest(expected, msg.auth_params):
            raise message.Dropped("bad_digest")
        timely = self._timely(msg.engine_boots, msg.engine_time)
        if not flags & message.FLAG_PRIV:
            return msg.scoped, True, timely
        if self._priv is None:
            raise message.Dropped("wrong_security_level")
        try:
            plain = self._priv.decrypt(
                msg.scoped, msg.priv_params, msg.engine_boots, msg.engine_time)
        except (SnmpAuthError, ValueError):
            raise message.Dropped("decryption_error") from None
        return plain, True, timely

    def _timely(self, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2.7 b, for an authentic message from the agent: a newer clock is
        adopted (any clock, while ours is discovery's unauthenticated one), then the
        message is outside the window when our boots are latched at 2^31-1, its boots are
        older, or its time is more than 150 s behind our notion of the agent's time."""
        if (not self._clock_authentic or boots > self.boots
                or (boots == self.boots and engine_time > self._latest_time)):
            self._set_clock(boots, engine_time)
            self._clock_authentic = True
            in_window = True  # the message's own clock is now ours
        else:
            in_window = not (boots < self.boots
                             or engine_time < self.engine_time() - TIME_WINDOW)
        latched = self.boots >= MAX_BOOTS
        return in_window and not latched
