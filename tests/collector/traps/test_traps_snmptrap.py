"""Traps from Net-SNMP's snmptrap and snmpinform reach tierwatch's receiver and change a
device's status long before its next poll (the poll interval here is an hour); bad traps and
a flood of 10,000 are counted, and the process stays up with bounded memory."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.traps import encode_v2c_trap
from tests.helpers.procs import free_port, need, wait_for
from tests.helpers.site import Sim, Tierwatch, run_sim, run_tierwatch, site_config
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

ENGINE_ID = "0x8000000001020304"
V3 = ["-v", "3", "-u", "ops", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
      "-x", "AES", "-X", "privpass123"]
UPS_MIB_ON_BATTERY = "1.3.6.1.2.1.33.2.0.1"
APC_ON_BATTERY = "1.3.6.1.4.1.318.0.5"
RESULTS = ("accepted", "unknown_trap", "unknown_source", "bad_community", "bad_credentials",
           "malformed", "rejected", "rate_limited", "queue_full", "kernel_dropped")


@contextmanager
def trap_site(tmp_path: Path, **traps: object) -> Iterator[tuple[Sim, Tierwatch, int]]:
    port = free_port(socket.SOCK_DGRAM)
    with run_sim(tmp_path) as sim:
        config = site_config(sim, tmp_path, interval=3600, alerts={"traps": {
            "enabled": True, "listen": f"127.0.0.1:{port}", "communities": ["sim"],
            "users": [{"credentials": "ops", "engine_ids": [ENGINE_ID]}],
            "sources": {"127.0.0.2": "ups-a", "127.0.0.3": "ups-b"}, **traps}})
        config["credentials"]["ops"] = {"version": "3", "user": "ops", "auth_protocol": "SHA",
                                        "auth_key": "${OPS_AUTH}", "priv_protocol": "AES",
                                        "priv_key": "${OPS_PRIV}"}
        with run_tierwatch(tmp_path, config, env={"OPS_AUTH": "authpass123",
                                                  "OPS_PRIV": "privpass123"}) as tw:
            yield sim, tw, port


def snmptrap(port: int, source: str, *args: str, binary: str = "snmptrap") -> None:
    """Net-SNMP's snmptrap (or snmpinform), numeric OIDs, sent from `source`."""
    result = subprocess.run([need(binary), "-m", "", f"--clientaddr={source}", *args],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr


def traps(tw: Tierwatch, result: str) -> float:
    return tw.metric(f'tierwatch_traps_total{{result="{result}"}}') or 0.0


def on_battery(tw: Tierwatch, device: str) -> bool:
    return tw.metric(f'tierwatch_component_condition{{device="{device}",'
                     'condition="on_battery"}') == 1.0


def test_v2c_and_v3_authpriv_traps_change_status_before_the_next_poll(tmp_path: Path) -> None:
    with trap_site(tmp_path) as (sim, tw, port):
        polls = tw.metric('tierwatch_polls_total{device="ups-a"}')
        assert polls == 1 and not on_battery(tw, "ups-a")
        sim.fault("ups-a", "on-battery")  # the UPS changed; the next poll is an hour away
        snmptrap(port, "127.0.0.2", "-v", "2c", "-c", "public", f"127.0.0.1:{port}", "",
                 APC_ON_BATTERY)  # ups-a's profile is apc-ups: PowerNet's traps are its own
        wait_for(lambda: on_battery(tw, "ups-a"), 10, "ups-a on battery, from the v2c trap")
        # the trap triggered one confirming poll, which agrees
        wait_for(lambda: tw.metric('tierwatch_polls_total{device="ups-a"}') == 2, 10,
                 "the confirming poll")
        assert on_battery(tw, "ups-a")

        sim.fault("ups-b", "on-battery")
        snmptrap(port, "127.0.0.3", *V3, "-e", ENGINE_ID, f"127.0.0.1:{port}", "",
                 APC_ON_BATTERY)  # PowerNet upsOnBattery, as an APC card sends it
        wait_for(lambda: on_battery(tw, "ups-b"), 10, "ups-b on battery, from the v3 trap")
        assert traps(tw, "accepted") == 2

        store = Store.open(tw.config["store"]["url"])
        try:
            reasons = {(r.subject, r.reason) for r in store.transitions(kind="component")}
            assert ("ups-a/ups", "on battery (trap upsOnBattery)") in reasons
            assert ("ups-b/ups", "on battery (trap upsOnBattery)") in reasons
            wait_for(lambda: len(store.trap_events()) == 2, 10, "both traps recorded")
        finally:
            store.close()


def test_informs_are_answered_and_bad_traps_counted(tmp_path: Path) -> None:
    with trap_site(tmp_path) as (_sim, tw, port):
        # informs: the sender waits for tierwatch's answer (snmpinform fails without one)
        snmptrap(port, "127.0.0.2", "-v", "2c", "-c", "public", "-t", "2", "-r", "1",
                 f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.1", binary="snmpinform")
        snmptrap(port, "127.0.0.3", *V3, "-t", "2", "-r", "1", f"127.0.0.1:{port}", "",
                 "1.3.6.1.6.3.1.1.5.2", binary="snmpinform")
        wait_for(lambda: traps(tw, "accepted") == 2, 10, "both informs accepted")

        snmptrap(port, "127.0.0.2", "-v", "2c", "-c", "wrong", f"127.0.0.1:{port}", "",
                 UPS_MIB_ON_BATTERY)
        bad_key = [a if a != "authpass123" else "wrongpass99" for a in V3]
        snmptrap(port, "127.0.0.3", *bad_key, "-e", ENGINE_ID, f"127.0.0.1:{port}", "",
                 UPS_MIB_ON_BATTERY)
        unknown_user = [a if a != "ops" else "intruder" for a in V3]
        snmptrap(port, "127.0.0.3", *unknown_user, "-e", ENGINE_ID, f"127.0.0.1:{port}", "",
                 UPS_MIB_ON_BATTERY)
        snmptrap(port, "127.0.0.9", "-v", "2c", "-c", "public", f"127.0.0.1:{port}", "",
                 UPS_MIB_ON_BATTERY)  # from no known device
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"\x30\x82\xff\xff garbage", ("127.0.0.1", port))
        wanted = {"accepted": 2, "bad_community": 1, "bad_credentials": 2,
                  "unknown_source": 1, "malformed": 1,
                  "rejected": 1}  # the v3 inform's engine-id discovery probe
        try:
            wait_for(lambda: {r: traps(tw, r) for r in RESULTS if traps(tw, r)} == wanted, 10,
                     "every bad trap counted")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {({r: traps(tw, r) for r in RESULTS})}") from None
        assert not on_battery(tw, "ups-a") and not on_battery(tw, "ups-b")
        assert tw.proc is not None and tw.proc.poll() is None


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_flood_of_10000_traps_is_counted_and_survived(tmp_path: Path) -> None:
    with trap_site(tmp_path) as (_sim, tw, port):
        assert tw.proc is not None
        datagram = encode_v2c_trap("public", "1.3.6.1.6.3.1.1.5.1", 1)  # coldStart
        rss_before = _rss_kib(tw.proc.pid)
        sent, started = 0, time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.2", 0))
            for i in range(10_000):
                sock.sendto(datagram, ("127.0.0.1", port))
                sent += 1
                if i % 500 == 499:
                    time.sleep(0.05)  # about 10,000 in a second or two
        took = time.monotonic() - started

        def counted() -> float:
            return sum(traps(tw, r) for r in RESULTS)

        try:
            wait_for(lambda: counted() == sent, 90, f"all {sent} traps counted")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {({r: traps(tw, r) for r in RESULTS})}") from None
        rss_after = _rss_kib(tw.proc.pid)
        counts = {r: int(traps(tw, r)) for r in RESULTS if traps(tw, r)}
        print(f"\ntrap flood: {sent} traps in {took:.2f}s ({sent / took:.0f}/s); {counts}; "
              f"RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB")
        assert counts.get("accepted", 0) >= 1000  # the burst got through
        assert counts.get("rate_limited", 0) + counts.get("kernel_dropped", 0) > 0
        assert rss_after - rss_before < 50 * 1024, "memory stays bounded"
        assert (tw.metric("tierwatch_trap_queue") or 0) <= 10_000
        # still serving, still taking traps from others
        assert tw.proc.poll() is None
        accepted = traps(tw, "accepted")
        snmptrap(port, "127.0.0.3", "-v", "2c", "-c", "public", f"127.0.0.1:{port}", "",
                 "1.3.6.1.6.3.1.1.5.2")
        wait_for(lambda: traps(tw, "accepted") == accepted + 1, 10, "a trap after the flood")
