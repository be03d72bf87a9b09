"""The chaos harness: a scripted month of faults played against real `tierwatch run`
processes on a real PostgreSQL, the leader killed with SIGKILL at random moments, and the
store compared with the script afterwards.

    script = make_script(seed=7, duration=90, faults=8, kills=2)
    result = run_chaos(tmp_path, script)
    print(result.table())
    assert result.ok

What runs: the simulated data center (`tierwatch sim serve`, sending its traps to the
instances), PostgreSQL (tests/helpers/postgres.py), a webhook receiver standing for the
pager (each instance pages to its own path, so a page says who sent it), and the
instances: a list of `Member`s on one config. The leader is the member whose
GET /api/v1/ha says so; where that route does not exist (a single instance), the only one.
A kill is SIGKILL to the leader's process group, then the killed member starts again (a
single instance restarts; in a pair the standby takes over and the killed one comes back
as the standby). The time from the kill until an instance leads again and has polled every
device is blind: the comparison widens its tolerance there (tests/helpers/chaos_compare.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alerts.config import SHIPPED_RULES_DIR
from sim import agent as sim_agent
from tests.helpers.chaos_compare import (
    AlertRow,
    Observed,
    Page,
    Played,
    Result,
    Span,
    TrapRow,
    compare,
    transition_from_row,
)
from tests.helpers.chaos_script import FOR_SCALE, KINDS, Script
from tests.helpers.postgres import run_postgres
from tests.helpers.procs import (
    env_with_repo,
    free_port,
    http_get,
    http_json,
    stop,
    tierwatch_cmd,
    wait_for,
)
from tests.helpers.simulator import Simulator, run_simulator
from tests.helpers.webhook import WebhookReceiver, webhook_receiver
from tierwatch.core.store import Store

SETTLE = 90.0  # seconds for the store to settle once every fault is cleared


@dataclass
class Member:
    """One `tierwatch run` of the pair (or the single instance), restartable."""

    name: str
    config: dict[str, Any]
    tmp: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.tmp / f"{self.name}.yaml"

    def start(self) -> None:
        self.config_path.write_text(yaml.safe_dump(self.config, allow_unicode=True,
                                                   sort_keys=False), encoding="utf-8")
        self.starts += 1
        log = self.tmp / f"{self.name}.{self.starts}.log"
        cmd = tierwatch_cmd("run", "-c", str(self.config_path), "--listen",
                            f"127.0.0.1:{self.port}")
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         env=env_with_repo(), cwd=self.tmp,
                                         start_new_session=True)

    def kill(self) -> None:
        """SIGKILL, the whole process group: no shutdown code runs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, grace=15)

    def alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            log = self.tmp / f"{self.name}.{self.starts}.log"
            raise AssertionError(f"tierwatch {self.name} exited:\n{log.read_text()[-4000:]}")
        return True

    def ready(self) -> bool:
        """Every device polled, and the live tier scored on what the polls found."""
        if not (self.alive() and http_get(f"{self.url}/readyz", timeout=2)[0] == 200):
            return False
        return bool(http_json(f"{self.url}/api/v1/tier", timeout=2).get("settled"))

    def role(self) -> str:
        """leader | standby | ... as GET /api/v1/ha says; `single` where there is no such
        route (one instance, no pair)."""
        status, body = http_get(f"{self.url}/api/v1/ha", timeout=2)
        if status == 404:
            return "single"
        if status != 200:
            return "unknown"
        data = yaml.safe_load(body)  # JSON is YAML
        return str(data.get("role", "unknown")) if isinstance(data, dict) else "unknown"


def leader(members: list[Member]) -> Member | None:
    """The member that leads now (the only one, when there is no pair)."""
    for member in members:
        try:
            role = member.role()
        except Exception:  # not answering: not the leader
            continue
        if role in ("leader", "active", "single"):
            return member
    return None


def chaos_rules(tmp: Path) -> Path:
    """The shipped rules the script's faults raise, their `for:` divided by FOR_SCALE."""
    wanted = {name for kind in KINDS.values() for name in kind.alerts}
    shipped = yaml.safe_load((SHIPPED_RULES_DIR / "tierwatch.rules.yml").read_text("utf-8"))
    groups = []
    for group in shipped["groups"]:
        rules = []
        for rule in group["rules"]:
            if rule.get("alert") in wanted:
                rule = dict(rule)
                rule["for"] = f"{_seconds(rule.get('for', '0s')) / FOR_SCALE:g}s"
                rules.append(rule)
        if rules:
            groups.append({"name": group["name"], "rules": rules})
    found = {r["alert"] for g in groups for r in g["rules"]}
    assert found == wanted, f"rules missing from the shipped file: {wanted - found}"
    path = tmp / "chaos.rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    text = str(text)
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def member_config(sim: Simulator, script: Script, store_url: str, rules: Path,
                  hook: WebhookReceiver, name: str, trap_port: int,
                  pair: bool) -> dict[str, Any]:
    """The demo's site polled every `script.interval`; the pager at the webhook receiver;
    the traps at `trap_port`. In a pair, `ha:` with the shipped lease and renew times
    (docs/operations.md) and the default member name (hostname-pid): a member restarted
    after a kill is a new holder, so the standby takes over when the lease lapses. (With a
    fixed `ha.instance` the restarted member resumes its dead predecessor's term at once.)"""
    config = sim.config(script.interval, store_url)
    if pair:
        config["ha"] = {"enabled": True}
    config["snmp"]["defaults"].update(timeout=script.timeout, retries=script.retries)
    config["alerts"] = {
        "evaluate_every": "1s",
        "rule_files": [str(rules)],
        # each member pages to its own path: the receiver knows who sent a page
        "receivers": [{"name": "pager", "webhook": {"url": f"{hook.url}/{name}"}}],
        "receiver": "pager",
        "delivery": {"retry_initial": "1s", "retry_max": "2s"},
    }
    config["traps"] = {"enabled": True, "listen": f"127.0.0.1:{trap_port}",
                       "communities": ["sim"]}
    return config


class Chaos:
    """Plays a script; `observe()` reads what the store and the pager got."""

    def __init__(self, script: Script, sim: Simulator, members: list[Member], store_url: str,
                 hook: WebhookReceiver, log: Any = print) -> None:
        self.script = script
        self.sim = sim
        self.members = members
        self.store_url = store_url
        self.hook = hook
        self.log = log
        self.t0 = 0.0
        self.played: list[Played] = []
        self.kills: list[float] = []
        self.blind: list[tuple[float, float]] = []
        self._watchers: list[threading.Thread] = []

    def wait_leader(self, timeout: float) -> Member:
        def found() -> Member | None:
            lead = leader(self.members)
            return lead if lead is not None and lead.ready() else None

        return wait_for(found, timeout, "a leader that has polled every device", interval=0.1)

    def play(self) -> None:
        events: list[tuple[float, int, str, Any]] = []
        for fault in self.script.faults:
            events.append((fault.start, 1, "inject", fault))
            events.append((fault.end, 0, "clear", fault))
        events.extend((at, 2, "kill", None) for at in self.script.kills)
        events.sort(key=lambda e: (e[0], e[1]))
        started: dict[int, float] = {}
        self.t0 = time.time()
        for at, _, what, fault in events:
            delay = self.t0 + at - time.time()
            if delay > 0:
                time.sleep(delay)
            if what == "inject":
                sim_agent.inject(self.sim.run_dir, fault.device, fault.kind.fault,
                                 fault.params)
                started[fault.id] = time.time()
            elif what == "clear":
                sim_agent.clear(self.sim.run_dir, fault.device)
                self.played.append(Played(fault, started.pop(fault.id), time.time()))
            else:
                self.kill_leader()
        for thread in self._watchers:
            thread.join(120)
        self.played.sort(key=lambda p: p.fault.id)

    def kill_leader(self) -> None:
        victim = leader(self.members)
        if victim is None:
            self.log(f"chaos: {time.time() - self.t0:.1f} s: no leader to kill")
            return
        victim.kill()
        killed = time.time()
        self.kills.append(killed)
        self.log(f"chaos: {killed - self.t0:.1f} s: SIGKILL {victim.name}")
        victim.start()

        def watch() -> None:
            lead = self.wait_leader(120)
            self.blind.append((killed, time.time()))
            self.log(f"chaos: {time.time() - self.t0:.1f} s: {lead.name} leads and has "
                     f"polled every device ({time.time() - killed:.1f} s after the kill)")

        thread = threading.Thread(target=watch, name="chaos-watch", daemon=True)
        thread.start()
        self._watchers.append(thread)

    def settle(self) -> None:
        """Every fault is cleared: wait until no alert is pending or firing and every
        resolved page has arrived."""
        store = Store.open(self.store_url)
        try:
            def settled() -> bool:
                if store.alerts():
                    return False
                fired = {a.fingerprint for a in store.alerts(states=None)}
                resolved = {p.fingerprint for p in self.pages() if p.status == "resolved"}
                return fired <= resolved

            wait_for(settled, SETTLE, "every alert resolved and its resolution paged",
                     interval=0.5)
        except AssertionError as exc:
            self.log(f"chaos: {exc}")
        finally:
            store.close()

    def pages(self) -> list[Page]:
        out = []
        with self.hook._lock:
            received = list(self.hook.received)
        for message in received:
            member = message.path.rsplit("/", 1)[-1]
            key = message.headers.get("Idempotency-Key", "")
            for alert in message.alerts():
                out.append(Page(message.ts, member, str(alert.get("status")),
                                str(alert.get("fingerprint")),
                                str(alert.get("labels", {}).get("alertname")),
                                str(alert.get("startsAt")), key))
        return out

    def observe(self) -> Observed:
        store = Store.open(self.store_url)
        try:
            transitions = [transition_from_row(r) for r in store.transitions()
                           if r.kind in ("device", "component")]
            outages = [Span(o.kind, o.subject, o.start, o.end) for o in store.outages()]
            exposures = [Span(r.kind, r.subject, r.start_ts, r.end_ts)
                         for r in store.exposures() if r.subsystem is None]
            alerts = [AlertRow(a.fingerprint, a.alertname, a.labels, a.state, a.active_since,
                               a.fired, a.resolved) for a in store.alerts(states=None)]
            traps = [TrapRow(r.ts, r.device, r.trap_oid) for r in store.trap_events()]
        finally:
            store.close()
        observed = Observed(self.script, self.t0, self.played, sorted(self.blind),
                            transitions, outages, exposures, alerts, traps, self.pages(),
                            self.kills)
        dump(observed, self.members[0].tmp / "chaos-observed.json")
        return observed


def dump(observed: Observed, path: Path) -> None:
    """Everything the comparison read, as JSON beside the instances' logs: what to look at
    when a check fails (times are seconds from the script's start)."""
    def rel(value: Any) -> Any:
        return round(value - observed.t0, 3) if isinstance(value, float) else value

    def row(item: Any) -> dict[str, Any]:
        fields = item.__dict__ if hasattr(item, "__dict__") else {
            name: getattr(item, name) for name in item.__dataclass_fields__}
        return {k: (sorted(v) if isinstance(v, frozenset) else rel(v))
                for k, v in fields.items() if k != "fault"}

    data = {
        "script": observed.script.describe(),
        "played": [{"fault": p.fault.label(), "start": rel(p.start), "end": rel(p.end)}
                   for p in observed.played],
        "kills": [rel(k) for k in observed.kills],
        "blind": [[rel(s), rel(e)] for s, e in observed.blind],
        **{name: [row(r) for r in getattr(observed, name)]
           for name in ("transitions", "outages", "exposures", "alerts", "traps", "pages")},
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


@contextlib.contextmanager
def chaos_site(tmp: Path, script: Script, pair: bool = False,
               log: Any = print) -> Iterator[Chaos]:
    """PostgreSQL, the simulator, the pager and the instance(s), all stopped at the end."""
    # each member its own trap port; the simulated devices send every trap to all of them
    traps = {name: free_port(socket.SOCK_DGRAM) for name in (["a", "b"] if pair else ["a"])}
    sinks = [f"127.0.0.1:{port}" for port in traps.values()]
    with run_postgres() as pg, run_simulator(tmp, trap_sinks=sinks) as sim, \
            webhook_receiver() as hook:
        rules = chaos_rules(tmp)
        members = [Member(name, member_config(sim, script, pg, rules, hook, name, port, pair),
                          tmp) for name, port in traps.items()]
        chaos = Chaos(script, sim, members, pg, hook, log)
        try:
            for member in members:
                member.start()
            chaos.wait_leader(120)
            yield chaos
        finally:
            for member in members:
                member.stop()


def run_chaos(tmp: Path, script: Script, pair: bool = False, log: Any = print) -> Result:
    """Play `script` and compare; the table is `result.table()`."""
    log(f"chaos: {script.describe()}")
    with chaos_site(tmp, script, pair, log) as chaos:
        chaos.play()
        chaos.settle()
        for member in chaos.members:  # a clean stop: the last heartbeat, nothing in flight
            member.stop()
        observed = chaos.observe()
    return compare(observed)
