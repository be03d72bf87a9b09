"""The trap receiver's pieces, one room at a time: notifications decoded from octets written
out by hand (or captured from Net-SNMP's snmptrap), the RFC 3414 time window on the
receiving side, the limits, and who a trap is attributed to."""

from __future__ import annotations

import logging

import pytest

from collector.snmp.client import SnmpDecodeError
from collector.snmp.notification import (
    NotANotification,
    community_response,
    parse_community_notification,
)
from collector.snmp.trap_limits import LogLimiter, SourceBuckets, TokenBucket
from collector.snmp.trap_receiver import TrapMessage
from collector.snmp.trap_usm import MAX_BOOTS, Refused, _RemoteClock, _timely
from collector.snmp.traps import _DeviceIndex

# snmptrap -v 1 -c public HOST 1.3.6.1.4.1.318 127.0.0.5 6 5 "" 1.3.6.1.2.1.1.5.0 s x
# (captured from Net-SNMP 5.9.3): enterprise 1.3.6.1.4.1.318 (318 = 0x82 0x3e), agent-addr
# 127.0.0.5, generic 6, specific 5, time-stamp 0xbb63 = 47971, sysName.0 = "x"
V1_TRAP = bytes.fromhex(
    "303802010004067075626c6963a42b06072b06010401823e40047f0000050201060201054303"
    "00bb63300f300d06082b06010201010500040178")

SYS_UPTIME = "2b06010201010300"  # 1.3.6.1.2.1.1.3.0
TRAP_OID = "2b060106030101040100"  # 1.3.6.1.6.3.1.1.4.1.0
COLD_START = "2b0601060301010501"  # 1.3.6.1.6.3.1.1.5.1
VARBINDS = ("3028"  # two varbinds, 15 + 25 octets
            "300d" "0608" + SYS_UPTIME + "430105"  # sysUpTime.0 = TimeTicks 5
            "3017" "060a" + TRAP_OID + "0609" + COLD_START)  # snmpTrapOID.0 = coldStart


def v2c(tag: str, body: str = VARBINDS) -> bytes:
    """A v2c message, community "public", request-id 1, around a PDU with `body`."""
    pdu = "020101" "020100" "020100" + body
    pdu = tag + f"{len(pdu) // 2:02x}" + pdu
    msg = "020101" "0406" + b"public".hex() + pdu
    return bytes.fromhex("30" + f"{len(msg) // 2:02x}" + msg)


def test_a_v1_trap_is_read_in_the_snmpv2_form_of_rfc_3584() -> None:
    version, community, n = parse_community_notification(V1_TRAP)
    assert (version, community, n.inform) == (0, b"public", False)
    assert n.trap_oid == "1.3.6.1.4.1.318.0.5"
    assert n.varbinds == (
        ("1.3.6.1.2.1.1.3.0", 47971),
        ("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.4.1.318.0.5"),
        ("1.3.6.1.2.1.1.5.0", b"x"),
        ("1.3.6.1.6.3.18.1.3.0", "127.0.0.5"),  # snmpTrapAddress.0: the agent-addr
        ("1.3.6.1.6.3.1.1.4.3.0", "1.3.6.1.4.1.318"),  # snmpTrapEnterprise.0
    )  # and no snmpTrapCommunity.0: the community is a secret


def test_a_generic_v1_trap_becomes_snmp_traps_generic_plus_one() -> None:
    # the same trap with generic-trap 3 (linkUp): snmpTraps.4
    data = bytearray(V1_TRAP)
    data[data.index(bytes.fromhex("020106"), 20) + 2] = 3
    assert parse_community_notification(bytes(data))[2].trap_oid == "1.3.6.1.6.3.1.1.5.4"


def test_an_inform_is_answered_with_its_own_request_id_and_varbinds() -> None:
    inform = v2c("a6")
    _, _, n = parse_community_notification(inform)
    assert (n.inform, n.request_id, n.trap_oid) == (True, 1, "1.3.6.1.6.3.1.1.5.1")
    # the Response: the same octets with the PDU tag 0xa6 -> 0xa2 (RFC 3416 4.2.7)
    assert community_response(1, b"public", n) == v2c("a2")


@pytest.mark.parametrize(("data", "error"), [
    (v2c("a0"), NotANotification),  # a GET sent to the trap port
    (v2c("a2"), NotANotification),  # a Response
    (v2c("a7", "3011" "300f" "060a" + TRAP_OID + "0601" "00"), SnmpDecodeError),  # no sysUpTime
    (v2c("a7", "300f" "300d" "0608" + SYS_UPTIME + "430105"), SnmpDecodeError),  # no trap OID
    (v2c("a7") + b"\x00", SnmpDecodeError),  # trailing octet
    (v2c("a7")[:-1], SnmpDecodeError),  # truncated
    (bytes.fromhex("3006020101040170"), SnmpDecodeError),  # no PDU at all
    (V1_TRAP.replace(bytes.fromhex("020100"), bytes.fromhex("020101"), 1),
     SnmpDecodeError),  # a v1 Trap-PDU in a v2c message
])
def test_what_is_not_a_well_formed_notification_is_refused(data: bytes,
                                                           error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_community_notification(data)


# RFC 3414 3.2.7 b: the receiver's notion of a sending engine's clock after it authenticated
# boots 5, time 1000 at local second 0
@pytest.mark.parametrize(("boots", "time", "now", "timely", "adopted"), [
    (5, 1000, 0.0, True, (5, 1000)),  # the same reading again, at once: in the window
    (5, 1000, 150.0, True, (5, 1000)),  # 150 s later: engine time is 1150, 1000 is 150 behind
    (5, 1000, 165.0, False, (5, 1000)),  # 165 s later: 165 behind (the replay)
    (5, 1000, 301.0, False, (5, 1000)),
    (5, 1100, 165.0, True, (5, 1100)),  # newer: adopted, so timely
    (5, 900, 0.0, True, (5, 1000)),  # 100 s behind: within 150
    (5, 849, 0.0, False, (5, 1000)),  # 151 behind
    (4, 99999, 0.0, False, (5, 1000)),  # boots lower: from before a reboot
    (6, 3, 0.0, True, (6, 3)),  # the engine rebooted: adopted
    (MAX_BOOTS, 0, 0.0, False, (MAX_BOOTS, 0)),  # boots at their end: never timely again
])
def test_the_time_window_of_a_sending_engine(boots: int, time: int, now: float, timely: bool,
                                             adopted: tuple[int, int]) -> None:
    clock = _RemoteClock(boots=5, latest_time=1000, at=0.0, known=True)
    if timely:
        _timely(clock, boots, time, now)
    else:
        with pytest.raises(Refused) as refused:
            _timely(clock, boots, time, now)
        assert refused.value.reason == "not_in_time_window"
    assert (clock.boots, clock.latest_time) == adopted


def test_the_first_authentic_message_of_an_engine_sets_its_clock() -> None:
    clock = _RemoteClock()
    _timely(clock, 3, 500, 10.0)
    assert (clock.boots, clock.engine_time(70.0)) == (3, 560)


def test_token_buckets_keep_a_bounded_number_of_sources() -> None:
    buckets = SourceBuckets(rate=1.0, burst=2, max_sources=3)
    for i in range(10):
        assert buckets.take(f"10.0.0.{i}", 0.0)
    assert len(buckets) == 3 and buckets.forgotten == 7
    # a source keeps its bucket while it is among the 3 most recent: 2 in a burst, then 1/s
    assert [buckets.take("10.0.0.9", 0.0) for _ in range(2)] == [True, False]
    assert buckets.take("10.0.0.9", 1.0)
    one = TokenBucket(rate=10.0, burst=5, now=0.0)
    assert sum(one.take(0.0) for _ in range(20)) == 5
    assert sum(one.take(0.5) for _ in range(20)) == 5  # 0.5 s x 10/s


def test_log_lines_are_limited_and_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    limiter = LogLimiter(logging.getLogger("t"), interval=10.0, per_interval=2)
    with caplog.at_level(logging.INFO, logger="t"):
        for i in range(1000):
            limiter.log("flood", logging.INFO, "trap %d", i, now=i / 200)  # 5 s of them
        limiter.flush(9.9)  # the interval is not over
        assert [r.getMessage() for r in caplog.records] == ["trap 0", "trap 1"]
        limiter.flush(10.0)
    assert len(caplog.records) == 3
    assert "998 more flood message(s)" in caplog.records[2].getMessage()
    assert "trap 999" in caplog.records[2].getMessage()


def message(source: str, *varbinds: tuple[str, object]) -> TrapMessage:
    return TrapMessage(0.0, (source, 50000), "community-0", 2, "1.3.6.1.4.1.318.0.5",
                       tuple(varbinds))


ADDRESS = "1.3.6.1.6.3.18.1.3.0"


@pytest.mark.parametrize(("source", "claims", "device"), [
    ("10.0.0.2", None, "ups-a"),  # a device's own address
    ("10.0.0.2", "10.0.0.3", "ups-a"),  # a device speaking for another: itself only
    ("10.9.9.9", "10.0.0.2", None),  # nobody's address claiming a device's: refused
    ("192.0.2.7", "10.0.0.3", "ups-b"),  # a forwarder: its word is taken
    ("192.0.2.7", "10.9.9.9", None),  # a forwarder naming nobody
    ("192.0.2.7", None, None),
    ("192.0.2.77", "10.0.0.3", None),  # outside the forwarders' network
])
def test_who_a_trap_is_from(source: str, claims: str | None, device: str | None) -> None:
    import ipaddress

    index = _DeviceIndex(explicit={"10.0.0.2": "ups-a", "10.0.0.3": "ups-b"},
                         forwarders=[ipaddress.ip_network("192.0.2.0/29")])
    varbinds = [(ADDRESS, claims)] if claims else []
    assert index.find(message(source, *varbinds))[0] == device
    assert index.known(source) == (source in ("10.0.0.2", "192.0.2.7"))


def _v3(flags: int, engine: bytes, user: bytes, scoped: bytes, boots: int = 1,
        time: int = 100, digest: bytes = b"") -> bytes:
    from collector.snmp import message as m

    params, offset = m.encode_usm_parameters(engine, boots, time, user, digest, b"")
    return m.encode_v3_message(4242, flags, params, offset, scoped)[0]


def test_the_v3_checks_refuse_in_order_and_answer_only_discovery() -> None:
    from collector.snmp import message as m
    from collector.snmp.client import Credentials
    from collector.snmp.trap_usm import ReceiverUsm

    ours, agent = bytes.fromhex("8000000005aabbccddeeff0011"), bytes.fromhex("8000000001020304")
    ops = Credentials("3", user="ops", auth_protocol="SHA", auth_key="authpass123",
                      priv_protocol="AES", priv_key="privpass123")
    usm = ReceiverUsm([(ops, [agent])], ours, boots=7, clock=lambda: 1000.0)
    scoped = m.encode_scoped_pdu(agent, b"", v2c("a7")[13:])  # the trap's PDU

    def reason(data: bytes) -> str:
        with pytest.raises(Refused) as refused:
            usm.open(data, m.parse_v3_message(data))
        return refused.value.reason

    # snmpinform's probe: no engine, no user, reportable (captured from Net-SNMP)
    probe = _v3(m.FLAG_REPORTABLE, b"", b"", m.encode_scoped_pdu(b"", b"", bytes.fromhex(
        "a00e02046933121b0201000201003000")))
    with pytest.raises(Refused) as refused:
        usm.open(probe, m.parse_v3_message(probe))
    assert refused.value.reason == "engine_discovery" and refused.value.report is not None
    report = m.parse_v3_message(refused.value.report)
    assert (report.msg_id, report.engine_id, report.engine_boots, report.flags) == (
        4242, ours, 7, 0)
    pdu = m.decode_scoped_pdu(report.scoped).pdu
    assert isinstance(pdu, m.Pdu)
    assert (pdu.tag, pdu.request_id) == (0xA8, 0x6933121B)
    assert pdu.varbinds[0][0] == "1.3.6.1.6.3.15.1.1.4.0"  # usmStatsUnknownEngineIDs
    # a trap from an engine nobody configured, a user nobody configured
    assert reason(_v3(0, b"\x80\x00\x00\x00\x09", b"ops", scoped)) == "unknown_engine_id"
    assert reason(_v3(0, agent, b"intruder", scoped)) == "unknown_user"
    # ops is authPriv: the same trap without authentication, or without privacy, is refused
    assert reason(_v3(0, agent, b"ops", scoped)) == "unsupported_security_level"
    assert reason(_v3(m.FLAG_AUTH, agent, b"ops", scoped, digest=bytes(12))) == \
        "unsupported_security_level"
    # authPriv with a digest of zeros: the digest check
    assert reason(_v3(m.FLAG_AUTH | m.FLAG_PRIV, agent, b"ops", b"\x04\x00",
                      digest=bytes(12))) == "wrong_digest"
    # boots above 2^31-1: refused when the message is parsed, before anything reads them
    # (the receiver counts a message that does not parse as malformed)
    with pytest.raises(m.SnmpRangeError):
        m.parse_v3_message(_v3(m.FLAG_AUTH | m.FLAG_PRIV, agent, b"ops", b"\x04\x00",
                               boots=2**31, digest=bytes(12)))
    assert usm.remote_clock(agent) is None  # nothing unauthenticated moved the clock
