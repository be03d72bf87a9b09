"""Issue 13, items 5 to 7, mounted for real against `tierwatch run`: an attacker on the same
network lies about which device a trap is from, replays a captured SNMPv3 trap, and floods
the receiver from 2,000 forged addresses (and again with the store's disk full).

Net-SNMP's snmptrap sends the traps; forged source addresses go out through a raw socket
(tests/helpers/spoof.py, root on loopback). The receiver's clock is moved by libfaketime
(the Debian package), never by sleeping: the replayed octets are the captured ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.traps import encode_v2c_trap
from tests.helpers import spoof
from tests.helpers.procs import ROOT, free_port, need, wait_for
from tests.helpers.site import Sim, Tierwatch, run_sim, run_tierwatch, site_config
from tierwatch.core.store import Store

pytestmark = pytest.mark.integration

APC_ON_BATTERY = "1.3.6.1.4.1.318.0.5"  # PowerNet upsOnBattery: apc-ups declares it
COLD_START = "1.3.6.1.6.3.1.1.5.1"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
ENGINE_1 = "0x8000000001020304"
ENGINE_2 = "0x8000000001020305"
V3 = ["-v", "3", "-u", "ops", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
      "-x", "AES", "-X", "privpass123"]
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def snmptrap(target: tuple[str, int], source: str, version: list[str], *rest: str) -> None:
    result = subprocess.run([need("snmptrap"), "-m", "", f"--clientaddr={source}", *version,
                             f"{target[0]}:{target[1]}", *rest],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr


def metric(tw: Tierwatch, selector: str) -> float:
    return tw.metric(selector) or 0.0


def dropped(tw: Tierwatch, reason: str) -> float:
    return metric(tw, f'tierwatch_traps_dropped_total{{reason="{reason}"}}')


def accepted(tw: Tierwatch) -> float:
    return metric(tw, 'tierwatch_traps_total{result="accepted"}')


def on_battery(tw: Tierwatch, device: str) -> bool:
    return tw.metric(f'tierwatch_component_condition{{device="{device}",'
                     'condition="on_battery"}') == 1.0


def component_transitions(tw: Tierwatch, subject: str) -> list[Any]:
    store = Store.open(tw.config["store"]["url"])
    try:
        return list(store.transitions(kind="component", subject=subject))
    finally:
        store.close()


def trap_rows(tw: Tierwatch) -> int:
    store = Store.open(tw.config["store"]["url"])
    try:
        return len(store.trap_events())
    finally:
        store.close()


@contextlib.contextmanager
def trap_site(tmp_path: Path, devices: tuple[str, ...] = ("ups-a", "ups-b"),
              env: dict[str, str] | None = None, **traps: Any
              ) -> Iterator[tuple[Sim, Tierwatch, tuple[str, int]]]:
    port = free_port(socket.SOCK_DGRAM)
    with run_sim(tmp_path) as sim:
        config = site_config(sim, tmp_path, interval=3600, devices=devices, alerts={"traps": {
            "enabled": True, "listen": f"127.0.0.1:{port}", "communities": ["sim"],
            **traps}})
        config["credentials"]["ops"] = {"version": "3", "user": "ops", "auth_protocol": "SHA",
                                        "auth_key": "${OPS_AUTH}", "priv_protocol": "AES",
                                        "priv_key": "${OPS_PRIV}"}
        with run_tierwatch(tmp_path, config, env={"OPS_AUTH": "authpass123",
                                                  "OPS_PRIV": "privpass123", **(env or {})}
                           ) as tw:
            yield sim, tw, ("127.0.0.1", port)


# ------------------------------------------------------------------ 5. trap attribution


def test_a_trap_from_elsewhere_naming_a_device_in_snmp_trap_address_changes_nothing(
        tmp_path: Path) -> None:
    """127.0.0.9 is no device; its v2c trap says snmpTrapAddress = UPS-A's address, its v1
    trap says agent-addr = UPS-A's address. UPS-A must stay as its polls see it."""
    with trap_site(tmp_path, sources={"127.0.0.2": "ups-a", "127.0.0.3": "ups-b"}) as (
            sim, tw, target):
        snmptrap(target, "127.0.0.9", ["-v", "2c", "-c", "public"], "", APC_ON_BATTERY,
                   SNMP_TRAP_ADDRESS, "a", "127.0.0.2")
        snmptrap(target, "127.0.0.9", ["-v", "1", "-c", "public"], "1.3.6.1.4.1.318",
                   "127.0.0.2", "6", "5", "")
        # a genuine trap from UPS-B afterwards: once it is applied, so were the two before
        sim.fault("ups-b", "on-battery")  # so that the confirming poll agrees
        snmptrap(target, "127.0.0.3", ["-v", "2c", "-c", "public"], "", APC_ON_BATTERY)
        wait_for(lambda: on_battery(tw, "ups-b"), 10, "ups-b on battery from its own trap")
        assert not on_battery(tw, "ups-a")
        # the first poll's "ok" is its only transition (no "degraded" a confirming poll undid)
        assert [(r.old, r.new) for r in component_transitions(tw, "ups-a/ups")] == [(None, "ok")]
        assert tw.metric('tierwatch_device_status{device="ups-a",status="ok"}') == 1.0
        assert accepted(tw) == 1
        assert dropped(tw, "unknown_source") == 2


def test_a_device_s_trap_counts_only_if_its_own_profiles_declare_it(tmp_path: Path) -> None:
    """CORE-1 is a switch (if-mib): a UPS's on-battery trap from its address is recorded and
    confirmed by a poll, but gives the switch no UPS component and no status."""
    with trap_site(tmp_path, devices=("ups-a", "core-1"),
                   sources={"127.0.0.4": "core-1"}) as (_sim, tw, target):
        snmptrap(target, "127.0.0.4", ["-v", "2c", "-c", "public"], "", APC_ON_BATTERY)
        wait_for(lambda: metric(tw, 'tierwatch_polls_total{device="core-1"}') == 2, 10,
                 "the confirming poll")
        assert component_transitions(tw, "core-1/ups") == []  # no such component, ever
        assert tw.metric('tierwatch_component_status{device="core-1",component="ups"}') is None
        assert tw.metric('tierwatch_device_status{device="core-1",status="ok"}') == 1.0
        assert metric(tw, 'tierwatch_traps_total{result="unknown_trap"}') == 1


def test_snmp_trap_address_is_believed_from_a_configured_forwarder(tmp_path: Path) -> None:
    with trap_site(tmp_path, sources={"127.0.0.2": "ups-a"},
                   forwarders=["127.0.0.16/30"]) as (sim, tw, target):
        sim.fault("ups-a", "on-battery")
        # 127.0.0.17 is a forwarder (a relay in front of UPS-A): its word is taken
        snmptrap(target, "127.0.0.17", ["-v", "2c", "-c", "public"], "", APC_ON_BATTERY,
                   SNMP_TRAP_ADDRESS, "a", "127.0.0.2")
        wait_for(lambda: on_battery(tw, "ups-a"), 10, "ups-a on battery via the forwarder")
        # 127.0.0.21 is outside the forwarders' network
        snmptrap(target, "127.0.0.21", ["-v", "1", "-c", "public"], "1.3.6.1.4.1.318",
                   "127.0.0.2", "6", "5", "")
        wait_for(lambda: dropped(tw, "unknown_source") == 1, 10, "the outsider refused")
        assert accepted(tw) == 1


# ------------------------------------------------------------------ 6. v3 trap replay


class Relay:
    """Where snmptrap sends: keeps every datagram, for the test to forward (and replay)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.address = self.sock.getsockname()

    def capture(self) -> bytes:
        data, _ = self.sock.recvfrom(65535)
        return data

    def close(self) -> None:
        self.sock.close()


def send(data: bytes, source: str, target: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.sendto(data, target)


def test_a_captured_v3_authpriv_trap_replayed_is_refused_and_counted(tmp_path: Path) -> None:
    if not os.path.exists(LIBFAKETIME):
        pytest.fail("libfaketime is not installed: run `make system` (scripts/install-system)")
    clock = tmp_path / "faketime"
    clock.write_text("+0\n")
    env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(clock),
           "FAKETIME_NO_CACHE": "1"}
    relay = Relay()
    try:
        with trap_site(tmp_path, env=env, sources={"127.0.0.3": "ups-b"},
                       users=[{"credentials": "ops", "engine_ids": [ENGINE_1, ENGINE_2]}]) as (
                _sim, tw, target):
            # UPS-B's agent sends an authPriv trap; the attacker on the path keeps a copy
            snmptrap(relay.address, "127.0.0.1", [*V3, "-e", ENGINE_1], "", COLD_START)
            captured = relay.capture()
            send(captured, "127.0.0.3", target)
            wait_for(lambda: accepted(tw) == 1, 10, "the genuine trap accepted")
            marker = encode_v2c_trap("not-the-community", COLD_START, 1)

            def replay(marks: int) -> None:
                """The captured octets from UPS-B's address, then a marker datagram: once the
                marker is counted, so is the replay (one socket, read in order)."""
                send(captured, "127.0.0.3", target)
                send(marker, "127.0.0.3", target)
                wait_for(lambda: metric(tw, 'tierwatch_traps_total{result="bad_community"}')
                         == marks, 10, "the marker after the replay")

            replay(1)  # at once: the same octets again
            assert accepted(tw) == 1
            assert dropped(tw, "duplicate") == 1

            clock.write_text("+165\n")  # 165 s later, by the receiver's clock
            replay(2)
            assert accepted(tw) == 1
            assert dropped(tw, "not_in_time_window") == 1

            clock.write_text("+301\n")
            replay(3)
            assert accepted(tw) == 1
            assert dropped(tw, "not_in_time_window") == 2

            # another engine's genuine trap still goes through: only the replays were refused
            snmptrap(target, "127.0.0.3", [*V3, "-e", ENGINE_2], "", COLD_START)
            wait_for(lambda: accepted(tw) == 2, 10, "a fresh trap from another engine")
            assert trap_rows(tw) == 2
    finally:
        relay.close()


# ------------------------------------------------------------------ 7. trap flood

FLOOD_SOURCES = "127.66.0.0/16"
FLOOD_COUNT = 2000  # the first 1,000 are UPS-A's trap addresses, the others nobody's


def flood(target: tuple[str, int], payload: bytes, seconds: float) -> int:
    result = subprocess.run([sys.executable, "-m", "tests.helpers.spoof",
                             "--to", f"{target[0]}:{target[1]}", "--payload-hex", payload.hex(),
                             "--sources", FLOOD_SOURCES, "--count", str(FLOOD_COUNT),
                             "--seconds", str(seconds)],
                            capture_output=True, text=True, timeout=seconds + 60,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def trap_log_lines(tw: Tierwatch) -> list[str]:
    return [line for line in tw.log.read_text(errors="replace").splitlines()
            if " collector.traps.component: " in line]


def log_records(text: str) -> list[str]:
    """Log records: a line with a timestamp and whatever lines follow it (a traceback)."""
    records: list[str] = []
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def counted(tw: Tierwatch) -> float:
    text = tw.metrics()
    return sum(float(v) for v in re.findall(r'^tierwatch_traps_total\{result="[a-z_]+"\} (\S+)$',
                                            text, re.M))


needs_root = pytest.mark.skipif(not spoof.can_spoof(), reason="forging source addresses "
                                "needs a raw socket (root)")


@needs_root
def test_a_flood_from_2000_forged_addresses_is_bounded_and_counted(tmp_path: Path) -> None:
    """At the defaults (1,000 traps/s from all sources, 5,000 in a burst), a flood of
    UPS-A's on-battery trap from its 1,000 trap addresses and 1,000 others."""
    sources = dict.fromkeys(spoof.addresses(FLOOD_SOURCES, FLOOD_COUNT)[:1000], "ups-a")
    with trap_site(tmp_path, sources=sources) as (_sim, tw, target):
        lines_before = len(trap_log_lines(tw))
        started = time.monotonic()
        sent = flood(target, encode_v2c_trap("public", APC_ON_BATTERY, 1), seconds=4)
        # every datagram ends up counted once (kernel drops included)
        wait_for(lambda: counted(tw) >= sent, 60, f"all {sent} datagrams counted")
        took = time.monotonic() - started
        ok = accepted(tw)
        print(f"\nflood: {sent} datagrams in {took:.1f}s; accepted {ok:.0f}, global limit "
              f"{dropped(tw, 'global_rate_limited'):.0f}, per source "
              f"{dropped(tw, 'rate_limited'):.0f}, unknown source "
              f"{dropped(tw, 'unknown_source'):.0f}, kernel {dropped(tw, 'kernel_dropped'):.0f}")
        assert sent > 20_000  # far beyond the limit, or the test proves nothing
        wait_for(lambda: metric(tw, "tierwatch_trap_queue") == 0, 30, "the queue drained")
        # one status change from the traps and one from the confirming poll that corrects it
        # (the UPS is on mains): hold_down keeps the flood from flapping it
        changes = [(r.old, r.new) for r in component_transitions(tw, "ups-a/ups")][1:]
        assert changes in ([("ok", "degraded"), ("degraded", "ok")], [("ok", "degraded")]), \
            changes
        # log lines: a few per kind and 10 s, and one summary each, never one per trap
        lines = trap_log_lines(tw)[lines_before:]
        assert len(lines) <= 40, "\n".join(lines[:60])
        # the global bucket: its burst and its rate for as long as the flood was counted
        assert ok <= 5000 + 1000 * took
        assert dropped(tw, "global_rate_limited") > 0
        assert dropped(tw, "unknown_source") > 0
        wait_for(lambda: trap_rows(tw) == ok, 20, "every accepted trap stored, no more")
        assert tw.proc is not None and tw.proc.poll() is None


@needs_root
def test_trap_events_are_kept_within_max_events(tmp_path: Path) -> None:
    sources = dict.fromkeys(spoof.addresses(FLOOD_SOURCES, FLOOD_COUNT)[:1000], "ups-a")
    with trap_site(tmp_path, sources=sources, max_events=1000, poll_on_trap=False) as (
            _sim, tw, target):
        sent = flood(target, encode_v2c_trap("public", COLD_START, 1), seconds=3)
        wait_for(lambda: counted(tw) >= sent, 60, f"all {sent} datagrams counted")
        assert accepted(tw) > 2000  # more than the store keeps
        wait_for(lambda: trap_rows(tw) == 1000, 20, "the newest 1,000 trap events kept")


@needs_root
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_a_full_disk_is_counted_and_logged_once_not_a_traceback_per_batch(
        tmp_path: Path) -> None:
    """The store on a 4 MiB tmpfs of tierwatch's own (a mount namespace), filled to the
    last byte while traps arrive."""
    port = free_port(socket.SOCK_DGRAM)
    store_dir = tmp_path / "disk"
    store_dir.mkdir()
    sources = dict.fromkeys(spoof.addresses(FLOOD_SOURCES, FLOOD_COUNT)[:1000], "ups-a")
    with run_sim(tmp_path) as sim:
        config = site_config(sim, tmp_path, interval=3600, alerts={"traps": {
            "enabled": True, "listen": f"127.0.0.1:{port}", "communities": ["sim"],
            "poll_on_trap": False, "sources": sources}})
        config["store"]["url"] = f"sqlite:///{store_dir / 'tierwatch.sqlite'}"
        tw = Tierwatch(tmp_path, config)
        run = " ".join([sys.executable, "-m", "tierwatch", "run", "-c", str(tw.config_path),
                        "--listen", f"127.0.0.1:{tw.port}"])
        with open(tw.log, "ab") as out:
            tw.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f"mount -t tmpfs -o size=4m tmpfs {store_dir} && exec {run}"],
                stdout=out, stderr=subprocess.STDOUT, env=tw.env, start_new_session=True)
        try:
            _disk_full_attack(tw, store_dir, port)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- tierwatch's log, the end:\n"
                                 f"{tw.log.read_text(errors='replace')[-6000:]}") from None
        finally:
            tw.stop()


def _disk_full_attack(tw: Tierwatch, store_dir: Path, port: int) -> None:
    """Fill tierwatch's store disk, flood it with traps a device's own addresses send."""
    assert tw.proc is not None
    wait_for(lambda: tw.metric("tierwatch_trap_queue") is not None, 30, "tierwatch up")
    # the store's disk, as tierwatch sees it: fill it up
    disk = Path(f"/proc/{tw.proc.pid}/root") / str(store_dir).lstrip("/")
    with open(disk / "filler", "wb", buffering=0) as filler, \
            contextlib.suppress(OSError):  # ENOSPC: full
        while True:
            filler.write(b"\0" * 4096)
    log_size = tw.log.stat().st_size
    sent = flood(("127.0.0.1", port), encode_v2c_trap("public", COLD_START, 1), 3)
    wait_for(lambda: counted(tw) >= sent, 60, "the flood counted")
    wait_for(lambda: metric(tw, "tierwatch_trap_queue") == 0, 30, "the queue drained")

    def errors() -> list[str]:
        return [r for r in log_records(tw.log.read_bytes()[log_size:].decode(
            errors="replace")) if " ERROR " in r and " collector.traps.component: " in r]

    wait_for(errors, 10, "the failed write logged")
    found = errors()
    assert not [r for r in found if "Traceback" in r], found[0][:3000]
    # several batches failed during the flood, one line said so
    wait_for(lambda: metric(tw, "tierwatch_trap_store_errors_total") >= 3, 10,
             "several failed writes counted")
    found = errors()
    assert len(found) == 1, found
    assert re.search(r"disk is full|disk I/O error", found[0]), found[0]
    assert tw.proc.poll() is None
    assert accepted(tw) > 0  # traps were still decided on, only not stored
