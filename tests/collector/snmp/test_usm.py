"""SNMPv3 USM: key derivation against RFC 3414's published vectors and against pysnmp for
every auth/priv pair; HMAC and ciphers checked both ways against pysnmp; the key cache;
the checks on incoming messages; and that no error or repr shows a secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pysnmp.proto.secmod.rfc3414.service  # noqa: F401  (pysnmp's own import order)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.type import univ
from pysnmp.proto.secmod.eso.priv import aes192, aes256
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3826.priv import aes
from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

from collector.snmp import ber, message, usm
from collector.snmp.client import Credentials, SnmpAuthError, SnmpDecodeError

ENGINE = bytes.fromhex("000000000000000000000002")  # RFC 3414 A.3's engine ID
NETSNMP_ENGINE = bytes.fromhex("80001f8880fff2d53af658076b00000000")

# pysnmp's identities for each protocol
PYSNMP_AUTH = {
    "MD5": (hmacmd5.HmacMd5.SERVICE_ID, hashlib.md5),
    "SHA": (hmacsha.HmacSha.SERVICE_ID, hashlib.sha1),
    "SHA224": (hmacsha2.HmacSha2.SHA224_SERVICE_ID, hashlib.sha224),
    "SHA256": (hmacsha2.HmacSha2.SHA256_SERVICE_ID, hashlib.sha256),
    "SHA384": (hmacsha2.HmacSha2.SAH384_SERVICE_ID, hashlib.sha384),
    "SHA512": (hmacsha2.HmacSha2.SHA512_SERVICE_ID, hashlib.sha512),
}
PYSNMP_PRIV: dict[str, Any] = {
    "DES": des.Des(),
    "AES": aes.Aes(),
    "AES192": aes192.AesBlumenthal192(),
    "AES256": aes256.AesBlumenthal256(),
    "AES192C": aes192.Aes192(),  # Reeder
    "AES256C": aes256.Aes256(),
}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    usm.clear_key_cache()


@pytest.mark.parametrize(
    ("protocol", "ku", "kul"),
    [
        (
            "MD5",
            "9faf3283884e92834ebc9847d8edd963",
            "526f5eed9fcce26f8964c2930787d82b",
        ),
        (
            "SHA",
            "9fb5cc0381497b3793528939ff788d5d79145211",
            "6695febc9288e36282235fc7151f128497b38f3f",
        ),
    ],
)
def test_rfc3414_appendix_a3_vectors(protocol: str, ku: str, kul: str) -> None:
    assert usm.password_to_key(b"maplesyrup", protocol).hex() == ku
    assert usm.localize_key(bytes.fromhex(ku), ENGINE, protocol).hex() == kul
    assert usm.auth_key(b"maplesyrup", ENGINE, protocol).hex() == kul


@pytest.mark.parametrize("protocol", list(PYSNMP_AUTH))
@pytest.mark.parametrize("password", [b"authpass123", b"x" * 64, "mật khẩu dài".encode()])
def test_auth_keys_match_pysnmp(protocol: str, password: bytes) -> None:
    _, hash_func = PYSNMP_AUTH[protocol]
    ku = localkey.hash_passphrase(univ.OctetString(password), hash_func)
    expected = localkey.localize_key(ku, univ.OctetString(NETSNMP_ENGINE), hash_func).asOctets()
    assert usm.auth_key(password, NETSNMP_ENGINE, protocol) == expected
    assert len(expected) == usm.AUTH_PROTOCOLS[protocol][1]


@pytest.mark.parametrize("priv", list(PYSNMP_PRIV))
@pytest.mark.parametrize("auth", list(PYSNMP_AUTH))
def test_priv_keys_match_pysnmp(auth: str, priv: str) -> None:
    """Includes AES-192/256 key extension for short hashes: Blumenthal (AES192, AES256)
    and Reeder (AES192C, AES256C), as pysnmp implements them."""
    service_id, _ = PYSNMP_AUTH[auth]
    module = PYSNMP_PRIV[priv]
    ku = module.hash_passphrase(service_id, univ.OctetString(b"privpass123"))
    expected = bytes(module.localize_key(service_id, ku, univ.OctetString(NETSNMP_ENGINE)))
    need = usm.PRIV_PROTOCOLS[priv][0]
    ours = usm.priv_key(b"privpass123", NETSNMP_ENGINE, auth, priv)
    assert len(ours) == need
    assert ours == expected[:need]


def test_blumenthal_and_reeder_differ_where_extension_is_needed() -> None:
    blumenthal = usm.priv_key(b"privpass123", NETSNMP_ENGINE, "SHA", "AES256")
    reeder = usm.priv_key(b"privpass123", NETSNMP_ENGINE, "SHA", "AES256C")
    assert blumenthal[:20] == reeder[:20]  # both start with the plain localized key
    assert blumenthal[20:] != reeder[20:]
    # SHA-256 yields 32 octets: no extension, both variants agree
    assert usm.priv_key(b"p4ssw0rd!", NETSNMP_ENGINE, "SHA256", "AES256") == usm.priv_key(
        b"p4ssw0rd!", NETSNMP_ENGINE, "SHA256", "AES256C"
    )


def test_keys_are_derived_once_per_password_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """The slow password hash runs once per password; each engine still gets its own key:
    RFC 3414 A.3's for its engine, pysnmp's localization for Net-SNMP's."""
    calls: list[str] = []
    real = usm.password_to_key

    def counting(password: bytes, protocol: str) -> bytes:
        calls.append(protocol)
        return real(password, protocol)

    monkeypatch.setattr(usm, "password_to_key", counting)
    first = usm.auth_key(b"maplesyrup", ENGINE, "SHA")
    assert first.hex() == "6695febc9288e36282235fc7151f128497b38f3f"  # RFC 3414 A.3.2
    assert usm.auth_key(b"maplesyrup", ENGINE, "SHA") == first
    ku = univ.OctetString(bytes.fromhex("9fb5cc0381497b3793528939ff788d5d79145211"))
    expected = localkey.localize_key(ku, univ.OctetString(NETSNMP_ENGINE), hashlib.sha1)
    second = usm.auth_key(b"maplesyrup", NETSNMP_ENGINE, "SHA")  # new engine: localize only
    assert second == expected.asOctets() != first
    assert usm.priv_key(b"maplesyrup", NETSNMP_ENGINE, "SHA", "AES") == second[:16]
    assert usm.priv_key(b"maplesyrup", ENGINE, "SHA", "AES") == first[:16]
    assert calls == ["SHA"]
    other = usm.auth_key(b"other-pass", ENGINE, "SHA")
    assert calls == ["SHA", "SHA"] and other not in (first, second)
    assert all(b"maplesyrup" not in repr(key).encode() for key in usm._localized_keys)


@pytest.mark.parametrize("protocol", list(PYSNMP_AUTH))
@settings(max_examples=20, deadline=None)
@given(data=st.binary(max_size=2000))
def test_authenticator_is_truncated_hmac(protocol: str, data: bytes) -> None:
    name, _, truncation = usm.AUTH_PROTOCOLS[protocol]
    key = hashlib.new(name, b"k").digest()
    assert (
        usm.Authenticator(protocol, key).digest(data)
        == (hmac.new(key, data, name).digest()[:truncation])
    )


@pytest.mark.parametrize("priv", list(PYSNMP_PRIV))
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 1400])
def test_ciphers_interoperate_with_pysnmp(priv: str, size: int) -> None:
    key = usm.priv_key(b"privpass123", NETSNMP_ENGINE, "SHA", priv)
    plain = bytes(range(256)) * 6
    plain = plain[:size]
    boots, engine_time = 7, 123456
    ours = usm.Privacy(priv, key)
    theirs = PYSNMP_PRIV[priv]

    cipher, salt = ours.encrypt(plain, boots, engine_time)
    back = theirs.decrypt_data(
        univ.OctetString(key),
        (boots, engine_time, univ.OctetString(salt)),
        univ.OctetString(cipher),
    )
    assert bytes(back)[:size] == plain

    their_cipher, their_salt = theirs.encrypt_data(
        univ.OctetString(key), (boots, engine_time, None), plain
    )
    decrypted = ours.decrypt(bytes(their_cipher), bytes(their_salt), boots, engine_time)
    assert decrypted[:size] == plain


def test_salts_never_repeat_for_one_key() -> None:
    privacy = usm.Privacy("AES", b"k" * 16)
    salts = {privacy.encrypt(b"x", 1, 2)[1] for _ in range(1000)}
    assert len(salts) == 1000


def test_decrypt_refuses_malformed_privacy_parameters() -> None:
    privacy = usm.Privacy("DES", b"k" * 16)
    with pytest.raises(SnmpAuthError):
        privacy.decrypt(b"12345678", b"short", 1, 1)
    with pytest.raises(SnmpAuthError):
        privacy.decrypt(b"1234567", b"8octets!", 1, 1)


# -- a session talking to a simulated authoritative engine -------------------------------

ENGINE_ID = b"\x80\x00\x1f\x88\x04tierwatch"


def session(auth: str | None = "SHA256", priv: str | None = "AES256") -> usm.UsmSession:
    creds = Credentials(
        version="3",
        user="ops",
        auth_protocol=auth,  # type: ignore[arg-type]
        auth_key="authpass123" if auth else "",
        priv_protocol=priv,  # type: ignore[arg-type]
        priv_key="privpass123" if priv else "",
    )
    s = usm.UsmSession(creds)
    s.learn_engine(ENGINE_ID, 5, 1000)
    return s


def agent_response(
    auth: str,
    priv: str | None,
    msg_id: int,
    *,
    boots: int = 5,
    engine_time: int = 1001,
    user: bytes = b"ops",
    auth_password: bytes = b"authpass123",
) -> bytes:
    """An authoritative engine's Response, secured with pysnmp's implementations."""
    vbl = message.encode_typed_varbinds([("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"ups-01")])
    scoped = message.encode_scoped_pdu(ENGINE_ID, b"", message.encode_pdu(0xA2, msg_id, vbl))
    priv_params = b""
    flags = message.FLAG_AUTH
    if priv:
        key = usm.priv_key(b"privpass123", ENGINE_ID, auth, priv)
        cipher, salt = PYSNMP_PRIV[priv].encrypt_data(
            univ.OctetString(key), (boots, engine_time, None), scoped
        )
        scoped, priv_params = ber.encode_tlv(ber.OCTET_STRING, bytes(cipher)), bytes(salt)
        flags |= message.FLAG_PRIV
    length = usm.AUTH_PROTOCOLS[auth][2]
    params, offset = message.encode_usm_parameters(
        ENGINE_ID, boots, engine_time, user, b"\0" * length, priv_params
    )
    data, _ = message.encode_v3_message(msg_id, flags, params, offset, scoped)
    key = usm.auth_key(auth_password, ENGINE_ID, auth)
    service_id, _ = PYSNMP_AUTH[auth]
    module = (
        hmacsha2.HmacSha2(service_id)
        if auth.startswith("SHA2")
        or auth
        in (
            "SHA384",
            "SHA512",
        )
        else (hmacmd5.HmacMd5() if auth == "MD5" else hmacsha.HmacSha())
    )
    return bytes(module.authenticate_outgoing_message(univ.OctetString(key), data))


@pytest.mark.parametrize("priv", [None, *PYSNMP_PRIV])
@pytest.mark.parametrize("auth", list(PYSNMP_AUTH))
def test_session_requests_verify_and_answers_open(auth: str, priv: str | None) -> None:
    s = session(auth, priv)
    vbl = message.encode_typed_varbinds([("1.3.6.1.2.1.1.5.0", ber.NULL, None)])
    request = s.encode_request(4242, message.encode_pdu(0xA0, 4242, vbl))

    # pysnmp verifies our digest over the whole request
    msg = message.parse_v3_message(request)
    assert msg.flags == (7 if priv else 5) and msg.user == b"ops"
    service_id, _ = PYSNMP_AUTH[auth]
    module: Any = (
        hmacmd5.HmacMd5()
        if auth == "MD5"
        else hmacsha.HmacSha()
        if auth == "SHA"
        else hmacsha2.HmacSha2(service_id)
    )
    key = univ.OctetString(usm.auth_key(b"authpass123", ENGINE_ID, auth))
    module.authenticate_incoming_message(key, univ.OctetString(msg.auth_params), request)
    if priv:  # and decrypts our ScopedPDU
        pkey = usm.priv_key(b"privpass123", ENGINE_ID, auth, priv)
        plain = PYSNMP_PRIV[priv].decrypt_data(
            univ.OctetString(pkey),
            (msg.engine_boots, msg.engine_time, univ.OctetString(msg.priv_params)),
            univ.OctetString(msg.scoped),
        )
        assert message.decode_scoped_pdu(bytes(plain)).pdu.varbinds == [("1.3.6.1.2.1.1.5.0", None)]

    answer = agent_response(auth, priv, 4242)
    scoped, authenticated, timely = s.open_answer(answer, message.parse_v3_message(answer))
    assert authenticated and timely
    assert message.decode_scoped_pdu(scoped).pdu.varbinds == [("1.3.6.1.2.1.1.5.0", b"ups-01")]


def _refusal(s: usm.UsmSession, data: bytes) -> str:
    with pytest.raises(message.Dropped) as caught:
        s.open_answer(data, message.parse_v3_message(data))
    return caught.value.reason


def test_session_refuses_tampered_and_foreign_answers() -> None:
    s = session("SHA", "AES")
    good = agent_response("SHA", "AES", 1)
    tampered = bytearray(good)
    tampered[-3] ^= 0x01  # inside the encrypted ScopedPDU
    assert _refusal(s, bytes(tampered)) == "bad_digest"
    wrong_key = agent_response("SHA", "AES", 1, auth_password=b"not-the-password")
    assert _refusal(s, wrong_key) == "bad_digest"
    other_user = agent_response("SHA", "AES", 1, user=b"intruder")
    assert _refusal(s, other_user) == "wrong_user"


def test_session_time_window() -> None:
    s = session("SHA", "AES")

    def timely(boots: int, engine_time: int) -> bool:
        answer = agent_response("SHA", "AES", 1, boots=boots, engine_time=engine_time)
        return s.open_answer(answer, message.parse_v3_message(answer))[2]

    assert timely(5, 5000)
    assert (s.boots, s.engine_time() >= 5000) == (5, True)  # the newer clock is adopted
    assert timely(5, 5000 - 150)
    assert not timely(5, 5000 - 151)  # replayed
    assert not timely(4, 9999)  # from before the agent's last reboot
    assert s.boots == 5
    assert timely(6, 3)  # rebooted
    assert s.boots == 6


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_session_fuzzed_answers_are_refused_unless_untouched(data: st.DataObject) -> None:
    """Octets overwritten, the end cut: every answer that is not the agent's own octets is
    refused (undecodable, or its digest does not match); only the untouched one opens."""
    s = session("SHA", "AES")
    good = agent_response("SHA", "AES", 9)
    buf = bytearray(good)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.just(len(buf)), st.integers(0, len(buf))))  # whole, often
    mangled = bytes(buf[:cut])
    if mangled == good:  # every octet written back as it was
        scoped, authenticated, _ = s.open_answer(mangled, message.parse_v3_message(mangled))
        assert authenticated
        assert message.decode_scoped_pdu(scoped).pdu.varbinds == [
            ("1.3.6.1.2.1.1.5.0", b"ups-01")]
        return
    try:
        _, authenticated, _ = s.open_answer(mangled, message.parse_v3_message(mangled))
    except (message.Dropped, SnmpDecodeError):
        return  # refused here
    # msgFlags turned to 0: handed back as unauthenticated, which the engine refuses for
    # a user with authentication (RFC 3412 7.2.12 b); never taken as the agent's own
    assert not authenticated


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    s = session("SHA", "AES")
    text = repr(s) + repr(s.__dict__.get("_auth")) + str(Credentials("3", auth_key="authpass123"))
    for secret in ("authpass123", "privpass123", s._auth_password.hex()):
        assert secret not in text
    bad = agent_response("SHA", "AES", 1, auth_password=b"wrong-password")
    with pytest.raises(message.Dropped) as caught:
        s.open_answer(bad, message.parse_v3_message(bad))
    message_text = str(caught.value)
    assert "authpass123" not in message_text and "wrong-password" not in message_text
    key = usm.auth_key(b"authpass123", ENGINE_ID, "SHA")
    assert key.hex() not in message_text


def test_session_validates_protocol_names() -> None:
    with pytest.raises(ValueError, match="privacy"):
        usm.UsmSession(Credentials("3", user="u", auth_protocol="SHA", priv_protocol="XTEA"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="authentication"):
        usm.UsmSession(Credentials("3", user="u", priv_protocol="AES"))
    assert usm.normalize_protocol("sha-256") == "SHA256"
    assert usm.normalize_protocol("AES-192-C") == "AES192C"


# -- issue 21's mutation survivors: each check below was removable without a test failing --

RFC_SHA_KU = bytes.fromhex("9fb5cc0381497b3793528939ff788d5d79145211")  # A.3.2, "maplesyrup"
RFC_SHA_KUL = bytes.fromhex("6695febc9288e36282235fc7151f128497b38f3f")  # ... at ENGINE


def test_key_cache_keeps_each_engines_own_key() -> None:
    """Keys are cached per engine: after another engine's key, the RFC engine still gets
    RFC 3414 A.3.2's localized key, and the other engine H(Ku || engineID || Ku) computed
    here with hashlib."""
    other = b"\x80\x00\x1f\x88\x04other"
    first = usm.auth_key(b"maplesyrup", other, "SHA")
    assert first == hashlib.sha1(RFC_SHA_KU + other + RFC_SHA_KU).digest()
    assert usm.auth_key(b"maplesyrup", ENGINE, "SHA") == RFC_SHA_KUL
    # the privacy key cache too: AES-128 takes the first 16 octets of the localized key
    assert usm.priv_key(b"maplesyrup", other, "SHA", "AES") == first[:16]
    assert usm.priv_key(b"maplesyrup", ENGINE, "SHA", "AES") == RFC_SHA_KUL[:16]


def _signed(data: bytes, offset: int, key: bytes) -> bytes:
    """`data` with its 12-octet HMAC-SHA-96 at `offset` (RFC 3414 7.3.1), by hashlib."""
    digest = hmac.new(key, data, hashlib.sha1).digest()[:12]
    return data[:offset] + digest + data[offset + 12:]


def _plain_response(engine_id: bytes, flags: int, boots: int = 5, engine_time: int = 1001,
                    scoped_in_octets: bool = False) -> bytes:
    vbl = message.encode_typed_varbinds([("1.3.6.1.2.1.1.5.0", ber.OCTET_STRING, b"forged")])
    scoped = message.encode_scoped_pdu(engine_id, b"", message.encode_pdu(0xA2, 7, vbl))
    if scoped_in_octets:  # a plaintext ScopedPDU where an encrypted one would be
        scoped = ber.encode_tlv(ber.OCTET_STRING, scoped)
    auth = b"\0" * 12 if flags & message.FLAG_AUTH else b""
    params, offset = message.encode_usm_parameters(engine_id, boots, engine_time, b"ops",
                                                   auth, b"\0" * 8 if scoped_in_octets else b"")
    data, at = message.encode_v3_message(7, flags, params, offset, scoped)
    if flags & message.FLAG_AUTH:
        data = _signed(data, at, usm.auth_key(b"authpass123", ENGINE_ID, "SHA"))
    return data


def test_authentic_message_naming_another_engine_is_refused() -> None:
    """Signed with the key localized to our agent's engine, but naming another engine ID
    in msgAuthoritativeEngineID: RFC 3414 3.2.3 refuses it before the digest."""
    s = session("SHA", None)
    good = _plain_response(ENGINE_ID, message.FLAG_AUTH)
    assert s.open_answer(good, message.parse_v3_message(good))[1]  # the control passes
    other = _plain_response(b"\x80\x00\x1f\x88\x04elsewhere", message.FLAG_AUTH)
    assert _refusal(s, other) == "bad_engine_id"


def test_privacy_flag_without_authentication_is_refused() -> None:
    """msgFlags 0x02 (privacy, no authentication) is an invalid message (RFC 3412
    7.2.5), whatever it carries: here a plaintext ScopedPDU posing as ciphertext, which
    would otherwise read as an unauthenticated answer."""
    s = session("SHA", "AES")
    bad = _plain_response(ENGINE_ID, message.FLAG_PRIV, scoped_in_octets=True)
    assert _refusal(s, bad) == "invalid_flags"


def test_latched_engine_boots_make_every_message_untimely() -> None:
    """snmpEngineBoots at 2^31-1 is latched: no message is in the time window
    (RFC 3414 2.2.3, 3.2.7 b), even an authentic one with the newest clock."""
    s = session("SHA", None)
    for boots in (2**31 - 2, 2**31 - 1):
        data = _plain_response(ENGINE_ID, message.FLAG_AUTH, boots=boots)
        _, authenticated, timely = s.open_answer(data, message.parse_v3_message(data))
        assert authenticated and timely == (boots < 2**31 - 1), boots


def test_clock_from_discovery_yields_to_the_first_authentic_message() -> None:
    """Discovery's boots/time are unauthenticated: the first authentic message's clock
    replaces them even when older, and from then on an older clock is a replay."""
    s = session("SHA", None)
    s.learn_engine(ENGINE_ID, 2**31 - 2, 2**31 - 2)  # a poisoned discovery answer
    assert not s.clock_authentic
    data = _plain_response(ENGINE_ID, message.FLAG_AUTH, boots=5, engine_time=1001)
    assert s.open_answer(data, message.parse_v3_message(data))[2]
    assert (s.boots, s.clock_authentic) == (5, True)
    assert 1001 <= s.engine_time() < 1001 + 60
    older = _plain_response(ENGINE_ID, message.FLAG_AUTH, boots=4, engine_time=9999)
    assert not s.open_answer(older, message.parse_v3_message(older))[2]
