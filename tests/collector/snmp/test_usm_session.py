"""SNMPv3 USM, the parts a mutation audit found untested (issue 21): the session's notion
of the agent's clock as time passes, a replay that must not set it back, requests of a user
without authentication, the salts' layout (RFC 3414 8.1.1.1, RFC 3826 3.1.2.1), the
refusal of a foreign security model, and the choice of cipher constructors. Expected
values are worked out by hand in the comments; the clock is a fake one, advanced by the
test."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms

from collector.snmp import ber, message, usm
from collector.snmp.client import Credentials, SnmpAuthError

ENGINE_ID = b"\x80\x00\x1f\x88\x04tierwatch"
SCOPED_VBL = [("1.3.6.1.2.1.1.5.0", ber.NULL, None)]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(500.0)
    monkeypatch.setattr(usm.time, "monotonic", fake)
    return fake


def _session(auth: str | None) -> usm.UsmSession:
    creds = Credentials(
        version="3",
        user="ops",
        auth_protocol=auth,  # type: ignore[arg-type]
        auth_key="authpass123" if auth else "",
    )
    return usm.UsmSession(creds)


def _signed_answer(boots: int, engine_time: int) -> bytes:
    """An authentic (HMAC-SHA-96, computed here with hmac) Response from the agent."""
    import hashlib
    import hmac

    vbl = message.encode_typed_varbinds([("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"ups")])
    scoped = message.encode_scoped_pdu(ENGINE_ID, b"", message.encode_pdu(0xA2, 7, vbl))
    params, offset = message.encode_usm_parameters(
        ENGINE_ID, boots, engine_time, b"ops", b"\0" * 12, b"")
    data, at = message.encode_v3_message(7, message.FLAG_AUTH, params, offset, scoped)
    key = usm.auth_key(b"authpass123", ENGINE_ID, "SHA")
    digest = hmac.new(key, data, hashlib.sha1).digest()[:12]
    return data[:at] + digest + data[at + 12:]


def _open(s: usm.UsmSession, data: bytes) -> tuple[bytes, bool, bool]:
    return s.open_answer(data, message.parse_v3_message(data))


def test_the_agents_time_runs_on_with_the_local_clock(clock: FakeClock) -> None:
    s = _session("SHA")
    s.learn_engine(ENGINE_ID, 3, 1000)  # at local 500.0
    assert s.engine_time() == 1000
    clock.now = 530.7  # 30.7 s later: 1000 + int(30.7) = 1030
    assert s.engine_time() == 1030
    clock.now = 500.0 + 2**31  # never beyond snmpEngineTime's 2^31-1
    assert s.engine_time() == 2**31 - 1


def test_a_replayed_clock_does_not_set_ours_back(clock: FakeClock) -> None:
    s = _session("SHA")
    s.learn_engine(ENGINE_ID, 5, 1)
    _, authentic, timely = _open(s, _signed_answer(5, 1000))  # adopted: (5, 1000) at 500
    assert authentic and timely and s.clock_authentic
    clock.now = 600.0  # our notion: 1000 + 100 = 1100
    # The same message again: same boots, time 1000 = the latest seen, so not newer: it is
    # judged against the window (1000 >= 1100 - 150: timely) and our clock stays at 1100.
    _, authentic, timely = _open(s, _signed_answer(5, 1000))
    assert authentic and timely
    assert s.engine_time() == 1100
    clock.now = 700.0  # our notion 1200: 1000 < 1200 - 150, outside the window
    assert _open(s, _signed_answer(5, 1000))[2] is False
    assert s.engine_time() == 1200


def test_a_user_without_authentication_sends_plain_requests() -> None:
    # noAuthNoPriv: msgFlags 0x04 (reportable only), empty authentication and privacy
    # parameters, the ScopedPDU in the clear. The reference is message.py's general
    # encoder, not the session's own one-join layout.
    s = _session(None)
    s.learn_engine(ENGINE_ID, 5, 1000)
    pdu = message.encode_pdu(0xA0, 4242, message.encode_typed_varbinds(SCOPED_VBL))
    request = s.encode_request(4242, pdu)
    params, offset = message.encode_usm_parameters(ENGINE_ID, 5, 1000, b"ops", b"", b"")
    expected, _ = message.encode_v3_message(
        4242, message.FLAG_REPORTABLE, params, offset,
        message.encode_scoped_pdu(ENGINE_ID, b"", pdu))
    assert request == expected
    parsed = message.parse_v3_message(request)
    assert (parsed.flags, parsed.auth_params, parsed.priv_params) == (4, b"", b"")
    # and its answers come back as they are, unauthenticated
    assert _open(s, request) == (parsed.scoped, False, True)


def test_a_foreign_security_model_is_refused_by_name() -> None:
    s = _session("SHA")
    s.learn_engine(ENGINE_ID, 5, 1000)
    good = _signed_answer(5, 1000)
    # msgSecurityModel is the INTEGER 3 closing msgGlobalData (02 01 03 before the
    # msgSecurityParameters OCTET STRING): 4 names another model.
    at = good.index(b"\x02\x01\x03\x04", 5)
    foreign = good[:at] + b"\x02\x01\x04" + good[at + 3:]
    msg = message.parse_v3_message(foreign)
    assert msg.security_model == 4
    with pytest.raises(message.Dropped) as caught:
        s.open_answer(foreign, msg)
    assert caught.value.reason == "unknown_security_model"


def test_des_salts_carry_the_boots_and_count_up_by_one() -> None:
    # RFC 3414 8.1.1.1: salt = snmpEngineBoots (4 octets) || a 32-bit integer incremented by
    # one per message; the IV is the pre-IV (key octets 8-15) XOR the salt.
    key = bytes(range(16))
    privacy = usm.Privacy("DES", key)
    _, first = privacy.encrypt(b"x" * 8, 7, 99)
    _, second = privacy.encrypt(b"x" * 8, 7, 99)
    assert first[:4] == second[:4] == b"\x00\x00\x00\x07"
    low = int.from_bytes(first[4:], "big")
    assert int.from_bytes(second[4:], "big") == (low + 1) % 2**32
    # the counter wraps at 2^32 and leaves the boots alone
    privacy._salt = 0xFFFFFFFE
    assert privacy.encrypt(b"", 7, 99)[1] == bytes.fromhex("00000007ffffffff")
    assert privacy.encrypt(b"", 7, 99)[1] == bytes.fromhex("0000000700000000")


def test_aes_salts_count_up_by_one() -> None:
    # RFC 3826 3.1.2.1: a 64-bit integer incremented by one per message, wrapping at 2^64
    privacy = usm.Privacy("AES", b"k" * 16)
    privacy._salt = 2**64 - 2
    salts = [privacy.encrypt(b"x", 1, 2)[1] for _ in range(3)]
    assert salts == [b"\xff" * 8, b"\0" * 8, b"\0" * 7 + b"\x01"]


# NIST SP 800-38A F.3.13 (CFB128-AES128.Encrypt), block 1
NIST_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
NIST_IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
NIST_PLAIN = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
NIST_CIPHER = bytes.fromhex("3b3fd92eb72dad20333449f8e83cfb4a")


def _round_trip(enc: object, dec: object) -> tuple[bytes, bytes]:
    encryptor = enc(algorithms.AES(NIST_KEY), usm._CFB(NIST_IV))  # type: ignore[operator]
    decryptor = dec(algorithms.AES(NIST_KEY), usm._CFB(NIST_IV))  # type: ignore[operator]
    return encryptor.update(NIST_PLAIN), decryptor.update(NIST_CIPHER)


def test_the_fast_cipher_constructors_are_used_when_present() -> None:
    # With the installed cryptography, the Rust constructors are found and pass the NIST
    # vector: a silent fall back to the slower public API would show here.
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    enc, dec = usm._cipher_contexts()
    assert enc is rust_openssl.ciphers.create_encryption_ctx
    assert dec is rust_openssl.ciphers.create_decryption_ctx
    assert _round_trip(enc, dec) == (NIST_CIPHER, NIST_PLAIN)


def test_the_public_cipher_api_serves_when_the_fast_one_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    class Missing:  # a cryptography without the private constructors
        pass

    with monkeypatch.context() as patched:  # only while the constructors are chosen: the
        patched.setattr(rust_openssl, "ciphers", Missing())  # public API needs them too
        enc, dec = usm._cipher_contexts()
    assert enc.__name__ == "public_encryptor" and dec.__name__ == "public_decryptor"
    assert _round_trip(enc, dec) == (NIST_CIPHER, NIST_PLAIN)


def _answer(flags: int, auth_params: bytes, priv_params: bytes = b"",
            scoped_in_octets: bool = False) -> bytes:
    """A Response with these msgFlags and parameters, signed with HMAC-SHA-96 (the key
    localized to ENGINE_ID) when `auth_params` has the 12 octets of one."""
    import hashlib
    import hmac

    vbl = message.encode_typed_varbinds([("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"ups")])
    scoped = message.encode_scoped_pdu(ENGINE_ID, b"", message.encode_pdu(0xA2, 7, vbl))
    if scoped_in_octets:
        scoped = ber.encode_tlv(ber.OCTET_STRING, scoped)
    params, offset = message.encode_usm_parameters(
        ENGINE_ID, 5, 1000, b"ops", auth_params, priv_params)
    data, at = message.encode_v3_message(7, flags, params, offset, scoped)
    if len(auth_params) == 12:
        key = usm.auth_key(b"authpass123", ENGINE_ID, "SHA")
        data = data[:at] + hmac.new(key, data, hashlib.sha1).digest()[:12] + data[at + 12:]
    return data


def _reason(s: usm.UsmSession, data: bytes) -> str:
    with pytest.raises(message.Dropped) as caught:
        s.open_answer(data, message.parse_v3_message(data))
    return caught.value.reason


AUTH, PRIV = message.FLAG_AUTH, message.FLAG_PRIV


def test_each_refusal_is_counted_under_its_own_reason() -> None:
    auth_only = _session("SHA")
    auth_only.learn_engine(ENGINE_ID, 5, 1000)
    no_auth = _session(None)
    no_auth.learn_engine(ENGINE_ID, 5, 1000)
    creds = Credentials(version="3", user="ops", auth_protocol="SHA", auth_key="authpass123",
                        priv_protocol="AES", priv_key="privpass123")
    with_priv = usm.UsmSession(creds)
    with_priv.learn_engine(ENGINE_ID, 5, 1000)
    # an authenticated answer to a user with no key
    assert _reason(no_auth, _answer(AUTH, b"\0" * 12)) == "wrong_security_level"
    # an HMAC-SHA-96 digest is 12 octets: 11 cannot be one
    assert _reason(auth_only, _answer(AUTH, b"\0" * 11)) == "bad_digest"
    # authentic and encrypted, to a user without privacy
    encrypted = _answer(AUTH | PRIV, b"\0" * 12, b"\0" * 8, scoped_in_octets=True)
    assert _reason(auth_only, encrypted) == "wrong_security_level"
    # authentic, encrypted, but the salt is 5 octets, not 8 (RFC 3826 3.1.4)
    short_salt = _answer(AUTH | PRIV, b"\0" * 12, b"\0" * 5, scoped_in_octets=True)
    assert _reason(with_priv, short_salt) == "decryption_error"


def test_a_session_discovers_syncs_and_forgets(clock: FakeClock) -> None:
    s = _session("SHA")
    assert (s.discovered, s.clock_authentic) == (False, False)
    s.learn_engine(ENGINE_ID, 5, 1000)
    assert (s.discovered, s.clock_authentic) == (True, False)
    s.sync_time(6, 2000)  # an authentic notInTimeWindows Report's clock
    assert (s.boots, s.engine_time(), s.clock_authentic) == (6, 2000, True)
    s.sync_time(0, 0)  # the smallest and the largest values are still values
    assert (s.boots, s.engine_time()) == (0, 0)
    s.sync_time(2**31 - 1, 2**31 - 1)
    for boots, engine_time in ((2**31, 0), (0, 2**31), (-1, 0), (0, -1)):
        with pytest.raises(ValueError):
            s.sync_time(boots, engine_time)
    assert s.boots == 2**31 - 1
    s.forget()
    assert (s.discovered, s.boots, s.engine_time(), s.clock_authentic) == (False, 0, 0, False)
    # the next request names no engine again: its scoped head is two empty OCTET STRINGs
    assert s.scoped_head == b"\x04\x00\x04\x00"


def test_the_discovery_probe_byte_by_byte() -> None:
    # RFC 3414 4: noAuthNoPriv, reportable, empty engine ID and user, boots and time 0.
    pdu = bytes.fromhex("a00b" "02014d" "020100" "020100" "3000")  # GetRequest id 77, no vbs
    expected = bytes.fromhex(
        "3038" "020103"  # SEQUENCE of 56 octets; msgVersion 3
        "300e" "02014d" "020300ffe3" "040104" "020103"  # msgID 77, 65507, flags 04, USM
        "0410" "300e" "0400" "020100" "020100" "0400" "0400" "0400"  # the USM parameters
        "3011" "0400" "0400"  # ScopedPDU: empty contextEngineID and contextName
    ) + pdu
    assert _session("SHA").discovery_request(77, pdu) == expected


def test_report_names() -> None:
    assert usm.report_name("1.3.6.1.6.3.15.1.1.2.0") == "usmStatsNotInTimeWindows"
    assert usm.report_name("1.3.6.1.6.3.15.1.1.4.0") == "usmStatsUnknownEngineIDs"
    assert usm.report_name("1.3.6.1.4.1.99.1.0") == "1.3.6.1.4.1.99.1.0"  # unknown: the OID


@pytest.mark.parametrize(
    ("written", "name"),
    [("sha_256", "SHA256"), ("SHA-512", "SHA512"), ("sha1", "SHA"), ("aes-128", "AES"),
     ("AES_192", "AES192"), ("des-cbc", "DES"), ("aes256-cisco", "AES256C")],
)
def test_protocol_names_as_people_write_them(written: str, name: str) -> None:
    assert usm.normalize_protocol(written) == name


def test_aes_decrypts_messages_of_every_length_one_after_another() -> None:
    # One Privacy decrypts many answers with one keystream context: a message whose length
    # is no multiple of 16 must leave nothing behind for the next one. The ciphertexts come
    # from cryptography's public AES-CFB128 with IV = boots || time || salt (RFC 3826 3.1.2.1).
    from cryptography.hazmat.primitives.ciphers import Cipher

    key = bytes(range(16))
    privacy = usm.Privacy("AES", key)
    for n in (15, 17, 31, 33, 1, 16, 32, 100):
        plain = bytes((i * 7 + n) % 256 for i in range(n))
        salt = n.to_bytes(8, "big")
        iv = (9).to_bytes(4, "big") + (1234).to_bytes(4, "big") + salt
        encryptor = Cipher(algorithms.AES(key), usm._CFB(iv)).encryptor()
        cipher = encryptor.update(plain) + encryptor.finalize()
        assert privacy.decrypt(cipher, salt, 9, 1234) == plain, n
    assert privacy.decrypt(b"", b"\0" * 8, 9, 1234) == b""


def test_aes_refuses_a_clock_beyond_32_bits() -> None:
    # The IV holds boots and time in four octets each: 2^32 - 1 fits, 2^32 does not.
    privacy = usm.Privacy("AES", bytes(16))
    top = 0xFFFFFFFF
    assert len(privacy.decrypt(b"\0" * 4, b"\0" * 8, top, top)) == 4
    for boots, engine_time in ((top + 1, 0), (0, top + 1)):
        with pytest.raises(SnmpAuthError):
            privacy.decrypt(b"\0" * 4, b"\0" * 8, boots, engine_time)


@pytest.mark.parametrize("length", [20, 63, 64, 65, 200])
def test_the_authenticator_is_hmac_for_keys_of_any_length(length: int) -> None:
    # RFC 2104: a key longer than the hash's block (64 octets for SHA-1) is hashed first;
    # one of exactly 64 is used as it is. The reference is Python's hmac.
    import hashlib
    import hmac

    key = bytes(i % 251 for i in range(length))
    data = b"a message to authenticate"
    expected = hmac.new(key, data, hashlib.sha1).digest()[:12]
    assert usm.Authenticator("SHA", key).digest(data) == expected


def test_the_key_cache_is_bounded() -> None:
    # At _CACHE_LIMIT entries the next one starts a fresh cache (a monitor's agents are a
    # bounded set; a rare refill is cheap).
    cache = {i: b"" for i in range(usm._CACHE_LIMIT)}
    assert usm._remember(cache, "new", b"v") == b"v"
    assert cache == {"new": b"v"}
    almost = {i: b"" for i in range(usm._CACHE_LIMIT - 1)}
    usm._remember(almost, "new", b"v")
    assert len(almost) == usm._CACHE_LIMIT


def test_constructors_that_fail_the_vector_one_way_are_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Encryption right, decryption wrong: the check needs both, so the public API serves.
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    real_encryptor = rust_openssl.ciphers.create_encryption_ctx

    class Garbled:
        def update(self, data: bytes) -> bytes:
            return bytes(len(data))

    class HalfBroken:
        create_encryption_ctx = staticmethod(real_encryptor)

        @staticmethod
        def create_decryption_ctx(algorithm: object, mode: object) -> Garbled:
            return Garbled()

    with monkeypatch.context() as patched:
        patched.setattr(rust_openssl, "ciphers", HalfBroken())
        enc, dec = usm._cipher_contexts()
    assert (enc.__name__, dec.__name__) == ("public_encryptor", "public_decryptor")
