"""Each kind of service check against a real server on loopback: an HTTPS server with
certificates the test makes (valid, 5 days left, expired, for another name), dnsmasq and an
in-process DNS server, SMTP with STARTTLS, a SIP endpoint over UDP and TCP; and the attacks a
hostile server can mount on a check (garbage, a reset, headers that never end, a megabyte of
headers), each refused within the check's timeout and counted."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.config import Limits
from services.probes import run_probe
from sim.egov import CityCA, DnsServer, SipServer, SmtpServer, WebServer
from tests.helpers.egov import dnsmasq, probe

pytestmark = pytest.mark.integration

DAY = 86400.0
LIMITS = Limits()


@pytest.fixture
async def ca(tmp_path: Path) -> CityCA:
    return CityCA(tmp_path / "ca").create()


@pytest.fixture
async def web(ca: CityCA) -> AsyncIterator[WebServer]:
    server = WebServer("<h1>Cổng dịch vụ công trực tuyến</h1>", ca=ca,
                       names=["portal.thanhpho.test"], stem="portal", slow_seconds=30)
    await server.start()
    yield server
    await server.stop()


def https(web: WebServer, **extra: object) -> dict[str, object]:
    return {"http": f"https://portal.thanhpho.test:{web.port}/", "connect_to": "127.0.0.1",
            **extra}


async def test_https_passes_and_says_what_it_saw(web: WebServer, ca: CityCA) -> None:
    before = time.time()
    r = await run_probe(probe(https(web, body="dịch vụ công"), ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason, r.status_code) == (True, "ok", 200)
    assert set(r.phases) == {"dns", "connect", "tls", "first_byte", "transfer"}
    assert r.tls_version in ("TLSv1.2", "TLSv1.3")
    [cert] = r.certs
    assert cert.subject == "portal.thanhpho.test" and cert.verified
    assert cert.issuer == "Thành phố CA (tierwatch demo)"
    assert 364.9 < cert.days_left(before) <= 365.0  # issued for 365 days from now


@pytest.mark.parametrize(("mode", "ok", "reason", "days"), [
    ("expiring", True, "ok", 5.0),  # still valid: the check passes, the days show
    ("expired", False, "cert_expired", -1.0),
])
async def test_certificate_days_left_even_when_it_fails(
        web: WebServer, ca: CityCA, mode: str, ok: bool, reason: str, days: float) -> None:
    await web.set_mode(mode)
    now = time.time()
    r = await run_probe(probe(https(web), ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason) == (ok, reason)
    [cert] = r.certs
    assert cert.days_left(now) == pytest.approx(days, abs=0.01)
    assert cert.verified is ok


async def test_a_certificate_for_another_name_or_from_an_unknown_ca(
        web: WebServer, ca: CityCA, tmp_path: Path) -> None:
    wrong_name = {**https(web), "server_name": "evil.thanhpho.test"}
    r = await run_probe(probe(wrong_name, ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason) == (False, "hostname")
    other = CityCA(tmp_path / "other", name="Other CA").create()
    r = await run_probe(probe(https(web), ca_file=other.ca_file), LIMITS)
    assert (r.ok, r.reason) == (False, "cert_untrusted")
    assert r.certs[0].subject == "portal.thanhpho.test"  # read all the same


@pytest.mark.parametrize(("check", "reason"), [
    ({"status": [204]}, "status"),
    ({"body": "không có"}, "body"),
])
async def test_http_expectations(web: WebServer, ca: CityCA, check: dict, reason: str) -> None:
    r = await run_probe(probe(https(web, **check), ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason, r.status_code) == (False, reason, 200)


async def test_a_failing_server_and_a_redirect_loop(web: WebServer, ca: CityCA) -> None:
    await web.set_mode("failing")
    r = await run_probe(probe(https(web), ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason, r.status_code) == (False, "status", 500)
    await web.set_mode("redirect_loop")
    r = await run_probe(probe(https(web, redirects=3), ca_file=ca.ca_file), LIMITS)
    assert (r.ok, r.reason, r.redirects) == (False, "redirect", 3)


@pytest.mark.parametrize(("mode", "reason", "refusal"), [
    ("garbage", "bad_answer", "garbage"),
    ("reset", "reset", None),
    ("huge_headers", "bad_answer", "too_many_lines"),
    ("slowloris", "timeout", None),  # a status line, then a header byte a second, forever
    ("slow", "timeout", None),
    ("down", "conn_refused", None),
])
async def test_hostile_and_broken_servers_end_within_the_timeout(
        web: WebServer, ca: CityCA, mode: str, reason: str, refusal: str | None) -> None:
    await web.set_mode(mode)
    timeout = 1.5
    began = time.monotonic()
    r = await run_probe(probe(https(web), ca_file=ca.ca_file, timeout=timeout), LIMITS)
    elapsed = time.monotonic() - began
    assert (r.ok, r.reason, r.refusal) == (False, reason, refusal)
    assert elapsed < timeout + 1.0  # bounded by the check's timeout, never by the server


async def test_more_header_bytes_than_the_limit_are_refused(web: WebServer, ca: CityCA) -> None:
    await web.set_mode("huge_headers")
    tight = Limits(headers=10_000, header_bytes=64 * 1024)  # ~1,130 of its 20,000 lines
    r = await run_probe(probe(https(web), ca_file=ca.ca_file), tight)
    assert (r.reason, r.refusal) == ("bad_answer", "too_large")


async def test_plain_http_from_a_source_address() -> None:
    server = WebServer("xin chào", host="127.0.0.1")
    await server.start()
    try:
        r = await run_probe(probe({"http": f"http://127.0.0.1:{server.port}/", "body": "chào"},
                                  source="127.0.0.1"), LIMITS)
        assert (r.ok, r.status_code, r.certs, r.tls_version) == (True, 200, [], None)
        assert "tls" not in r.phases
    finally:
        await server.stop()


async def test_smtp_starttls_and_its_certificate(ca: CityCA) -> None:
    server = SmtpServer(ca=ca, names=["mail.thanhpho.test"])
    await server.start()
    check = {"smtp": f"127.0.0.1:{server.port}", "starttls": True,
             "server_name": "mail.thanhpho.test"}
    try:
        r = await run_probe(probe(check, ca_file=ca.ca_file), LIMITS)
        assert (r.ok, r.reason) == (True, "ok")
        assert r.certs[0].subject == "mail.thanhpho.test" and r.tls_version
        await server.set_mode("expired")
        r = await run_probe(probe(check, ca_file=ca.ca_file), LIMITS)
        assert (r.ok, r.reason) == (False, "cert_expired")
        assert r.certs[0].days_left(time.time()) == pytest.approx(-1.0, abs=0.01)
        await server.set_mode("failing")
        r = await run_probe(probe(check, ca_file=ca.ca_file), LIMITS)
        assert (r.ok, r.reason) == (False, "banner")
        await server.set_mode("garbage")
        r = await run_probe(probe(check, ca_file=ca.ca_file), LIMITS)
        assert (r.ok, r.reason, r.refusal) == (False, "bad_answer", "garbage")
    finally:
        await server.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sip_options(transport: str) -> None:
    server = SipServer()
    await server.start()
    check = {"sip": f"127.0.0.1:{server.port}", "transport": transport}
    try:
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.status_code) == (True, 200)
        await server.set_mode("failing")
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.reason, r.status_code) == (False, "status", 503)
        await server.set_mode("garbage")
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        if transport == "udp":  # a stray datagram is dropped and counted; no answer: timeout
            assert (r.reason, r.dropped) == ("timeout", ["garbage"])
        else:
            assert (r.reason, r.refusal) == ("bad_answer", "garbage")
    finally:
        await server.stop()


async def test_dns_from_dnsmasq(tmp_path: Path) -> None:
    with dnsmasq(tmp_path, {"portal.thanhpho.test": "127.0.0.5"}) as resolver:
        good = {"dns": "portal.thanhpho.test", "resolvers": [resolver], "expect": ["127.0.0.5"]}
        r = await run_probe(probe(good), LIMITS)
        assert (r.ok, r.answers) == (True, ("127.0.0.5",))
        r = await run_probe(probe({**good, "expect": ["127.0.0.9"]}), LIMITS)
        assert (r.ok, r.reason) == (False, "answer")
        r = await run_probe(probe({**good, "dns": "nowhere.invalid", "expect": []}), LIMITS)
        assert (r.ok, r.reason) == (False, "answer")  # REFUSED or NXDOMAIN: not NOERROR


async def test_dns_from_the_simulated_resolver() -> None:
    server = DnsServer({"portal.thanhpho.test": "127.0.0.5"})
    await server.start()
    check = {"dns": "portal.thanhpho.test", "resolvers": [server.address]}
    try:
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.answers) == (True, ("127.0.0.5",))
        await server.set_mode("failing")
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.reason) == (False, "answer") and "SERVFAIL" in r.message
        await server.set_mode("garbage")
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.reason, r.refusal) == (False, "bad_answer", "garbage")
        await server.set_mode("down")
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.reason) == (False, "timeout")
    finally:
        await server.stop()


async def test_tcp_banner() -> None:
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await run_probe(probe({"tcp": f"127.0.0.1:{port}", "banner": "^SSH-2"}), LIMITS)
        assert r.ok
        r = await run_probe(probe({"tcp": f"127.0.0.1:{port}", "banner": "^220 "}), LIMITS)
        assert (r.ok, r.reason) == (False, "banner")
    finally:
        server.close()
        await server.wait_closed()


async def test_sip_picks_another_port_when_udp_holds_the_one_tcp_got(monkeypatch) -> None:
    # a real collision: another socket holds UDP port P; the SIP server's first free TCP
    # port is steered to P, so its UDP bind fails and it must pick a port free on both
    from sim.egov import SimServer

    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    taken = holder.getsockname()[1]
    tried: list[int] = []
    plain_listen = SimServer._listen

    async def first_on_taken(self: SimServer) -> None:
        if not tried:
            self.port = taken
        await plain_listen(self)
        tried.append(self.port)

    monkeypatch.setattr(SimServer, "_listen", first_on_taken)
    server = SipServer()
    try:
        await server.start()
        assert tried[0] == taken and server.port != taken and len(tried) == 2
        check = {"sip": f"127.0.0.1:{server.port}", "transport": "udp"}
        r = await run_probe(probe(check, timeout=1.0), LIMITS)
        assert (r.ok, r.status_code) == (True, 200)
    finally:
        await server.stop()
        holder.close()


async def test_sip_on_a_port_asked_for_and_held_fails_to_start() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    server = SipServer(port=holder.getsockname()[1])
    try:
        with pytest.raises(OSError):
            await server.start()
    finally:
        await server.stop()
        holder.close()
