"""An active/standby pair for real: two `tierwatch run` processes on one PostgreSQL, polling
the simulated data center, a webhook receiver as the on-call pager.

The script, and what each step must leave (worked out from the script, not the code):

1. a starts and leads; b starts and stands by: b's reads work and say `standby`, its
   writes answer 503 naming a.
2. ups-b goes on bypass: a records ups-b ok -> failed and pages UpsOnBypass.
3. a is killed (SIGKILL); pdu-r01-a goes silent while nobody leads. b takes over and polls
   within 15 s, scores the live tier (UPS-B still on bypass), keeps UpsOnBypass firing
   (the same alert, not paged again) and records pdu-r01-a ok -> unknown.
4. a comes back (a standby now); b hangs (SIGSTOP) until a has taken over; pdu-r01-b goes
   silent, recorded by a; b resumes (SIGCONT): its writes are refused by the token
   (its /metrics counts them) and it says `standby` (GET /api/v1/ha).
5. every fault is cleared: the leader records each device back to ok and resolves the page.

Then the transitions table holds, per device, its first status once and each change the
script made exactly once: nothing lost in the failover gap, nothing doubled by two leaders.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.postgres import run_postgres
from tests.helpers.procs import wait_for
from tests.helpers.simulator import Instance, Simulator, run_simulator, run_tierwatch
from tests.helpers.webhook import webhook_receiver
from tierwatch.core.store import Store
from tierwatch.core.store.alerting import notifications

pytestmark = pytest.mark.integration

INTERVAL = 2.0
HA = {"enabled": True, "lease": "5s", "renew": "1s"}
READS = ("/api/v1/devices", "/api/v1/components", "/api/v1/alerts", "/api/v1/outages",
         "/api/v1/topology", "/api/v1/tier", "/api/v1/availability", "/api/v1/power",
         "/api/v1/maintenance", "/api/v1/ha", "/", "/metrics", "/readyz")


def member_config(sim: Simulator, pg: str, name: str, hook: str) -> dict[str, Any]:
    return sim.config(INTERVAL, pg, ha={**HA, "instance": name},
                      alerts={"evaluate_every": "1s",
                              "receivers": [{"name": "oncall", "webhook": {"url": hook}}]})


def ha(instance: Instance) -> dict[str, Any]:
    reply = httpx.get(f"{instance.base_url}/api/v1/ha", timeout=5)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def metric(instance: Instance, name: str, labels: str = "") -> float | None:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", instance.metrics(), re.M)
    return float(found.group(1)) if found else None


def families_once(instance: Instance) -> bool:
    """Every metric family once on /metrics (a term's collectors leave with it)."""
    types = [line for line in instance.metrics().splitlines() if line.startswith("# TYPE ")]
    return len(types) == len(set(types))


def leads(instance: Instance) -> bool:
    return ha(instance)["role"] == "leader"


def device_transitions(pg: str) -> dict[str, list[tuple[str | None, str]]]:
    store = Store.open(pg)
    try:
        out: dict[str, list[tuple[str | None, str]]] = {}
        for row in store.transitions(kind="device"):
            out.setdefault(row.subject, []).append((row.old, row.new))
        return out
    finally:
        store.close()


def pending_notifications(pg: str) -> int:
    store = Store.open(pg)
    try:
        return len(notifications(store, "pending"))
    finally:
        store.close()


def recorded(pg: str, device: str, change: tuple[str | None, str]) -> bool:
    return change in device_transitions(pg).get(device, [])


def polls(instance: Instance) -> float:
    """Every poll this process has made (the sum over its devices)."""
    return sum(float(v) for v in re.findall(r"^tierwatch_polls_total\{[^}]*\} (\S+)$",
                                             instance.metrics(), re.M))


def device_polls(instance: Instance, device: str = "ups-a") -> int:
    """How often this process has polled the device (its API's own count)."""
    reply = httpx.get(f"{instance.base_url}/api/v1/devices/{device}", timeout=5)
    assert reply.status_code == 200, reply.text
    return int(reply.json()["polling"]["polls"])


def active_alerts(instance: Instance) -> dict[str, tuple[int, str]]:
    reply = httpx.get(f"{instance.base_url}/api/v1/alerts", timeout=5)
    assert reply.status_code == 200, reply.text
    return {a["name"]: (a["id"], a["state"]) for a in reply.json()["items"]}


def ups_b_on_bypass(instance: Instance) -> bool:
    reply = httpx.get(f"{instance.base_url}/api/v1/tier", timeout=5)
    return reply.status_code == 200 and reply.json()["statuses"].get("UPS-B") == "bypass"


def test_sigkill_and_sigstop_of_the_leader(tmp_path: Path) -> None:
    with run_postgres() as pg, run_simulator(tmp_path) as sim, \
            webhook_receiver() as hook, contextlib.ExitStack() as stack:
        a_config = member_config(sim, pg, "tw-a", hook.url)
        b_config = member_config(sim, pg, "tw-b", hook.url)

        # 1. a leads, b stands by
        a = stack.enter_context(run_tierwatch(tmp_path, "a", a_config))
        wait_for(lambda: leads(a), 30, "a to lead")
        wait_for(lambda: httpx.get(f"{a.base_url}/readyz").status_code == 200, 60,
                 "a to have polled every device")
        b = stack.enter_context(run_tierwatch(tmp_path, "b", b_config))
        wait_for(lambda: ha(b)["role"] == "standby" and ha(b)["holder"] == "tw-a", 30,
                 "b to stand by behind a")
        read = httpx.get(f"{b.base_url}/api/v1/devices", timeout=5)
        assert read.status_code == 200 and read.headers["x-tierwatch-role"] == "standby"
        write = httpx.post(f"{b.base_url}/api/v1/maintenance", json={}, timeout=5)
        assert write.status_code == 503 and "tw-a" in write.json()["message"]
        assert metric(b, "tierwatch_ha_role", '{role="standby"}') == 1.0
        for path in READS:  # reads answer (a room that only leads may say 503), none fails
            reply = httpx.get(f"{b.base_url}{path}", timeout=10)
            assert reply.status_code in (200, 503), (path, reply.status_code, reply.text)
        assert "tierwatch_device_up{" not in b.metrics()  # the leader serves the devices

        # 2. a fault a records and pages
        sim.sim("fault", "ups-b", "on-bypass")
        wait_for(lambda: recorded(pg, "ups-b", ("ok", "failed")), 30, "a to record ups-b")
        hook.wait_for_alert("UpsOnBypass", "firing", 30, device="ups-b")
        wait_for(lambda: "UpsOnBypass" in active_alerts(a), 30, "the alert in a's API")
        alert_id = active_alerts(a)["UpsOnBypass"][0]
        assert active_alerts(b)["UpsOnBypass"] == (alert_id, "firing")  # read from the store
        # a killed between the receiver's yes and its record of it would send again (the
        # outbox's one allowed repeat, alerts/outbox.py): kill it once the record is made
        wait_for(lambda: pending_notifications(pg) == 0, 30, "a to record the page as sent")

        # 3. a dies; a device goes silent while nobody leads
        os.kill(a.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        a.proc.wait(10)
        sim.sim("fault", "pdu-r01-a", "silent")
        wait_for(lambda: leads(b) and polls(b) > 0, 15, "b to take over and poll")
        print(f"SIGKILL: b led and polled {time.monotonic() - killed:.1f}s after a died "
              f"(lease {HA['lease']}, renew {HA['renew']})")
        wait_for(lambda: ups_b_on_bypass(b), 30, "b's live tier to score UPS-B on bypass")
        assert active_alerts(b).get("UpsOnBypass") == (alert_id, "firing")
        wait_for(lambda: recorded(pg, "pdu-r01-a", ("ok", "unknown")), 30,
                 "b to record pdu-r01-a silent")
        assert metric(b, "tierwatch_ha_failovers_total") == 1.0
        assert families_once(b)

        # 4. a comes back as the standby; b hangs until a has taken over, then resumes
        a2 = stack.enter_context(run_tierwatch(tmp_path, "a2", a_config))
        wait_for(lambda: ha(a2)["role"] == "standby", 30, "a to stand by behind b")
        os.kill(b.proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            wait_for(lambda: leads(a2) and polls(a2) > 0, 15, "a to take over from a hung b")
            print(f"SIGSTOP: a led and polled {time.monotonic() - stopped:.1f}s after b hung")
            sim.sim("fault", "pdu-r01-b", "silent")
            wait_for(lambda: recorded(pg, "pdu-r01-b", ("ok", "unknown")), 30,
                     "a to record pdu-r01-b silent")
        finally:
            os.kill(b.proc.pid, signal.SIGCONT)
        wait_for(lambda: ha(b)["role"] == "standby" and ha(b)["holder"] == "tw-a", 30,
                 "b to find itself deposed and stand by")
        fenced = metric(b, "tierwatch_ha_fenced_writes_total")
        assert fenced is not None and fenced >= 1
        assert "tierwatch_device_up{" not in b.metrics()
        before = device_polls(b)

        # 5. every fault cleared: the leader records the way back and resolves the page
        sim.sim("clear")
        for device, back in (("ups-b", ("failed", "ok")), ("pdu-r01-a", ("unknown", "ok")),
                             ("pdu-r01-b", ("unknown", "ok"))):
            wait_for(lambda d=device, c=back: recorded(pg, d, c), 30,  # type: ignore[misc]
                     f"{device} back to ok")
        hook.wait_for_alert("UpsOnBypass", "resolved", 30, device="ups-b")
        assert device_polls(b) == before  # the deposed leader polls nothing

        # the record: first statuses once, each scripted change once, nothing else
        got = device_transitions(pg)
        assert got["ups-b"] == [(None, "ok"), ("ok", "failed"), ("failed", "ok")]
        assert got["pdu-r01-a"] == [(None, "ok"), ("ok", "unknown"), ("unknown", "ok")]
        assert got["pdu-r01-b"] == [(None, "ok"), ("ok", "unknown"), ("unknown", "ok")]
        untouched = {d: t for d, t in got.items()
                     if d not in ("ups-b", "pdu-r01-a", "pdu-r01-b")}
        assert all(len(t) == 1 and t[0][0] is None for t in untouched.values()), untouched
        # paged once while two leaders followed each other
        assert len(hook.alerts("UpsOnBypass", "firing")) == 1


def tier_statuses(instance: Instance) -> dict[str, str] | None:
    reply = httpx.get(f"{instance.base_url}/api/v1/tier", timeout=5)
    if reply.status_code != 200 or not reply.json()["settled"]:
        return None
    return dict(reply.json()["statuses"])


def test_the_tier_instance_of_a_sharded_site_as_a_pair(tmp_path: Path) -> None:
    """`--tier-only` pairs the same way, under its own lease (`tier`): a polling instance
    writes the statuses, two tier members read them; the one that leads scores, and when it
    is killed the other scores the same picture, a fault made after the kill included."""
    with run_postgres() as pg, run_simulator(tmp_path) as sim, \
            contextlib.ExitStack() as stack:
        poller = stack.enter_context(run_tierwatch(tmp_path, "poller",
                                                   sim.config(INTERVAL, pg)))
        t1 = stack.enter_context(run_tierwatch(
            tmp_path, "t1", sim.config(INTERVAL, pg, ha={**HA, "instance": "tier-1"}),
            "--tier-only"))
        wait_for(lambda: leads(t1), 30, "t1 to lead")
        t2 = stack.enter_context(run_tierwatch(
            tmp_path, "t2", sim.config(INTERVAL, pg, ha={**HA, "instance": "tier-2"}),
            "--tier-only"))
        wait_for(lambda: ha(t2)["role"] == "standby" and ha(t2)["holder"] == "tier-1", 30,
                 "t2 to stand by behind t1")
        assert ha(t2)["lease_name"] == "tier"
        wait_for(lambda: (seen := tier_statuses(t1)) is not None
                 and seen == tier_statuses(poller), 60, "t1 to score what the poller sees")

        os.kill(t1.proc.pid, signal.SIGKILL)
        t1.proc.wait(10)
        sim.sim("fault", "ups-b", "on-bypass")
        wait_for(lambda: leads(t2), 15, "t2 to take over")
        wait_for(lambda: (seen := tier_statuses(t2)) is not None
                 and seen.get("UPS-B") == "bypass" and seen == tier_statuses(poller), 60,
                 "t2 to score UPS-B on bypass as the poller does")
        assert families_once(t2)  # the standby's mirror left with its term
