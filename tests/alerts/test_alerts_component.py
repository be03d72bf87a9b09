"""The alerting component over a real store, with a fake clock and a recording delivery:
who is paged, when, how often, and what survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts import admin
from alerts.component import AlertsComponent
from alerts.notify import DeliveryError
from alerts.outbox import OutboxRow
from collector.snmp.poller import PollResult
from tierwatch.config import parse
from tierwatch.core.history import History
from tierwatch.core.maintenance import book_maintenance
from tierwatch.core.model import ComponentStatus, Sample, Status, StatusChange
from tierwatch.core.runtime import Runtime
from tierwatch.core.store import Store
from tierwatch.service import Service

CONFIG = """
site: {{name: Test DC}}
store: {{url: "sqlite:///{db}"}}
credentials: {{v2: {{version: 2c, community: public}}}}
devices:
  - {{id: ups-a, name: UPS-A, address: "127.0.0.1:1", credentials: v2, profile: apc-ups}}
  - {{id: ups-b, name: UPS-B, address: "127.0.0.1:2", credentials: v2, profile: apc-ups}}
alerts:
  {alertmanager}
  receivers:
    - {{name: oncall, webhook: {{url: "http://127.0.0.1:9/hook"}},
       email: {{to: [truc-ca@example.vn]}}}}
    - {{name: managers, email: {{to: [truong-ca@example.vn]}}}}
  receiver: oncall
  escalation: {{after: 10m, receiver: managers}}
  repeat_every: 1h
  smtp: {{host: 127.0.0.1, port: 2525, tls: none, from: tierwatch@example.vn}}
  delivery: {{retry_initial: 2s, retry_max: 60s, give_up_after: 1h}}
"""


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Delivery that records what it is given, and fails while told to."""

    def __init__(self) -> None:
        self.sent: list[OutboxRow] = []
        self.failing = False

    async def __call__(self, row: OutboxRow, now: float) -> None:
        if self.failing:
            raise DeliveryError("connection refused")
        self.sent.append(row)

    def kinds(self) -> list[tuple[str, str, str]]:
        return [(r.kind, r.channel, r.receiver) for r in self.sent]


class Harness:
    def __init__(self, tmp: Path, alertmanager: str = "", config: str = CONFIG) -> None:
        self.db = tmp / "store.sqlite"
        self.text = config.format(db=self.db, alertmanager=alertmanager)
        self.config = parse(self.text).config
        self.clock = Clock()
        self.delivery = Recorder()
        self.service, self.alerts = self.boot()

    def boot(self) -> tuple[Service, AlertsComponent]:
        service = Service(self.config)
        service.store = Store.open(self.config.store.resolved_url())
        component = AlertsComponent(self.config.alerts, devices=lambda: list(service.directory))
        runtime = Runtime.for_tests(service.store, service.state, site=self.config.site,
                                    metrics=service.metrics)
        component.attach(runtime, deliver=self.delivery, clock=self.clock)
        for device in service.snmp.device_ids():  # every device answered its first poll
            service.state.update(PollResult(device, self.clock.now, components=[
                ComponentStatus("ups", Status.OK, "ok")]))
        return service, component

    def restart(self) -> None:
        self.store.close()
        self.service, self.alerts = self.boot()

    @property
    def devices(self) -> dict[str, str | None]:
        return self.service.directory.names()

    @property
    def store(self) -> Store:
        assert self.service.store is not None
        return self.service.store

    def ups(self, device: str, status: Status, *conditions: str) -> None:
        self.service.state.apply_event(device, "ups", status, "test", self.clock.now,
                                       frozenset(conditions))

    async def tick(self, seconds: float = 0.0) -> None:
        self.clock.now += seconds
        await self.alerts.cycle(self.clock.now)
        assert self.alerts.outbox is not None
        await self.alerts.outbox.deliver_due()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


async def test_ups_on_battery_pages_once_then_resolves_once(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert h.delivery.kinds() == [("firing", "webhook", "oncall"), ("firing", "email", "oncall")]
    hook = h.delivery.sent[0].payload
    assert hook["status"] == "firing" and hook["receiver"] == "oncall"
    (alert,) = hook["alerts"]
    assert alert["labels"]["alertname"] == "UpsOnBattery"
    assert alert["labels"]["device"] == "ups-a" and alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary_vi"] == "ups-a đang chạy bằng ắc quy"
    mail = h.delivery.sent[1].payload
    assert mail["to"] == ["truc-ca@example.vn"]
    assert mail["subject"].startswith("[FIRING:critical] UpsOnBattery")
    assert "ĐANG CẢNH BÁO: ups-a đang chạy bằng ắc quy" in mail["body"]
    assert "Runbook: Mains input is lost" in mail["body"]

    for _ in range(5):  # still on battery: nothing more, long before the repeat interval
        await h.tick(30)
    assert len(h.delivery.sent) == 2

    h.ups("ups-a", Status.OK)
    await h.tick(30)
    assert h.delivery.kinds()[2:] == [("resolved", "webhook", "oncall"),
                                      ("resolved", "email", "oncall")]
    assert h.delivery.sent[2].payload["status"] == "resolved"
    (record,) = h.store.alerts(states=None)
    assert record.state == "resolved" and record.notified is not None
    kinds = [e.kind for e in h.store.alert_events(record.id)]
    assert kinds == ["firing", "notified", "resolved", "notified"]


async def test_each_notification_has_its_own_idempotency_key(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    keys = [r.key for r in h.delivery.sent]
    assert len(set(keys)) == len(keys) == 2 and all(k.startswith("tierwatch-") for k in keys)


async def test_unacknowledged_critical_escalates_after_the_delay(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    await h.tick(599)
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing"]
    await h.tick(1)
    assert h.delivery.kinds()[-1] == ("escalation", "email", "managers")
    mail = h.delivery.sent[-1].payload
    assert mail["to"] == ["truong-ca@example.vn"] and mail["subject"].startswith("[ESCALATED")
    await h.tick(60)
    assert len(h.delivery.sent) == 3  # escalated once
    h.ups("ups-a", Status.OK)
    await h.tick(10)
    assert ("escalation_resolved", "email", "managers") in h.delivery.kinds()


async def test_acknowledged_alert_is_not_escalated_nor_repeated(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    (record,) = h.store.alerts()
    acked = admin.acknowledge(h.store, str(record.id), "an.nguyen",
                              "đang kiểm tra máy phát", h.clock.now + 60,
                              ack_for=h.config.alerts.ack_for)
    assert acked.acked_by == "an.nguyen" and acked.ack_comment == "đang kiểm tra máy phát"
    await h.tick(3 * 3600)  # past the escalation delay and the repeat interval
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing"]
    events = [(e.kind, e.actor) for e in h.store.alert_events(record.id)]
    assert ("acked", "an.nguyen") in events


async def test_unacknowledged_alert_repeats_every_repeat_interval(h: Harness) -> None:
    h.config = parse(h.text.replace("escalation: {after: 10m, receiver: managers}", "")).config
    h.service, h.alerts = h.boot()
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    await h.tick(3599)
    assert len(h.delivery.sent) == 2
    await h.tick(1)
    assert [k for k, _, _ in h.delivery.kinds()[2:]] == ["repeat", "repeat"]


async def test_acknowledging_a_resolved_or_unknown_alert_is_refused(h: Harness) -> None:
    with pytest.raises(admin.NotFound):
        admin.acknowledge(h.store, "999", "an", "", h.clock.now,
                          ack_for=h.config.alerts.ack_for)
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    h.ups("ups-a", Status.OK)
    await h.tick(5)
    (record,) = h.store.alerts(states=None)
    with pytest.raises(ValueError, match="already resolved"):
        admin.acknowledge(h.store, record.fingerprint, "an", "", h.clock.now,
                          ack_for=h.config.alerts.ack_for)
    with pytest.raises(ValueError, match="needs a name"):
        h.store.ack_alert(record.id, " ", "", h.clock.now)


async def test_maintenance_window_holds_the_page_and_records_planned_work(h: Harness) -> None:
    start = h.clock.now - 60
    booking = book_maintenance(
        h.store, h.devices, title="Thay ắc quy UPS-A", start=start, end=start + 1800,
        scope={"devices": ["UPS-A"]}, by="an.nguyen", now=h.clock.now)
    assert booking.window.scope.devices == {"ups-a"}  # the name became the device id
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert h.delivery.sent == []
    (record,) = h.store.alerts()
    assert record.state == "firing" and record.muted == f"maintenance:{booking.window.id}"
    (planned,) = h.store.planned_events()
    assert planned.alertname == "UpsOnBattery" and planned.title == "Thay ắc quy UPS-A"
    assert planned.maintenance_id == booking.window.id

    h.ups("ups-b", Status.DEGRADED, "on_battery")  # outside the window's scope: pages
    await h.tick(10)
    assert [r.payload["alerts"][0]["labels"]["device"] for r in h.delivery.sent
            if r.channel == "webhook"] == ["ups-b"]

    await h.tick(1800)  # the window is over and UPS-A is still on battery: now it pages
    assert [r.payload["alerts"][0]["labels"]["device"] for r in h.delivery.sent
            if r.channel == "webhook"] == ["ups-b", "ups-a"]


async def test_a_window_booked_ahead_does_not_hold_todays_pages(h: Harness) -> None:
    book_maintenance(h.store, h.devices, title="Bảo trì", start=h.clock.now + 86400,
                           end=h.clock.now + 90000, scope={"subsystems": ["power"]},
                           by="an", now=h.clock.now)
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert len(h.delivery.sent) == 2


def test_bad_bookings_are_refused(h: Harness) -> None:
    now = h.clock.now
    ups_a = {"devices": ["ups-a"]}
    for scope, end, recurrence, by, message in [
            ({}, now + 60, "none", "an", "needs a scope"),
            ({"devices": ["ups-z"]}, now + 60, "none", "an", "unknown devices: ups-z"),
            ({"racks": ["R1"]}, now + 60, "none", "an", "unknown scope keys"),
            (ups_a, now - 1, "none", "an", "must end"),
            (ups_a, now + 60, "hourly", "an", "recurrence"),
            (ups_a, now + 60, "none", "", "name")]:
        with pytest.raises(ValueError, match=message):
            book_maintenance(h.store, h.devices, title="x", start=now, end=end, scope=scope,
                             by=by, now=now, recurrence=recurrence)


async def test_a_restart_neither_repeats_nor_loses_anything(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert len(h.delivery.sent) == 2
    h.restart()  # same store, fresh process
    h.ups("ups-a", Status.DEGRADED, "on_battery")  # the first poll after the restart
    await h.tick(30)
    await h.tick(30)
    assert len(h.delivery.sent) == 2, "nothing is sent twice after a restart"
    h.ups("ups-a", Status.OK)
    await h.tick(30)
    assert [k for k, _, _ in h.delivery.kinds()[2:]] == ["resolved", "resolved"]


async def test_a_notification_queued_before_a_restart_is_delivered_after_it(h: Harness) -> None:
    h.delivery.failing = True
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert h.delivery.sent == [] and len(h.alerts.outbox.rows("pending")) == 2  # type: ignore[union-attr]
    h.restart()
    h.delivery.failing = False
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick(5)
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing"]
    await h.tick(60)
    assert len(h.delivery.sent) == 2


async def test_failed_deliveries_back_off_keep_order_and_are_given_up_at_last(
        h: Harness) -> None:
    outbox = h.alerts.outbox
    assert outbox is not None
    h.delivery.failing = True
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    rows = outbox.rows("pending")
    assert [r.attempts for r in rows] == [1, 1]
    assert all(h.clock.now + 1.7 <= r.next_ts <= h.clock.now + 2.3 for r in rows)
    h.ups("ups-a", Status.OK)
    await h.tick(1)  # resolved is queued, but waits behind the firing notice
    await h.tick(1.5)
    assert h.delivery.sent == []
    h.delivery.failing = False
    await h.tick(10)
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing", "resolved",
                                                     "resolved"]
    assert outbox.results[("webhook", "failed")] >= 2
    assert outbox.results[("webhook", "sent")] == 2

    h.delivery.failing = True
    h.ups("ups-b", Status.DEGRADED, "on_battery")
    await h.tick()
    for _ in range(40):
        await h.tick(120)
    dead = outbox.rows("dead")
    # the first page and the escalation that followed it: all given up after an hour
    assert {(r.kind, r.channel) for r in dead} == {("firing", "webhook"), ("firing", "email"),
                                                   ("escalation", "email")}
    assert all("connection refused" in r.last_error for r in dead)
    assert outbox.results[("webhook", "dead")] == 1
    assert {r.kind for r in outbox.rows("pending")} <= {"repeat"}  # the hourly reminders


async def test_with_alertmanager_everything_goes_there_and_escalation_is_a_copy(
        tmp_path: Path) -> None:
    h = Harness(tmp_path, alertmanager='alertmanager: {url: "http://127.0.0.1:9"}')
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    (firing,) = h.delivery.sent
    assert firing.channel == "alertmanager" and firing.payload["endsAt"] is None
    assert firing.payload["labels"]["alertname"] == "UpsOnBattery"
    await h.tick(600)
    escalation = h.delivery.sent[-1]
    assert escalation.kind == "escalation" and escalation.payload["labels"]["escalated"] == "true"
    await h.tick(4 * 3600)
    assert len(h.delivery.sent) == 2  # repeats are Alertmanager's job
    h.ups("ups-a", Status.OK)
    await h.tick(5)
    resolved = [r for r in h.delivery.sent if r.kind.endswith("resolved")]
    assert len(resolved) == 2 and all(r.payload["endsAt"] for r in resolved)
    await h.alerts.stop()


async def test_an_outage_inside_a_window_is_planned(h: Harness) -> None:
    booked = book_maintenance(h.store, h.devices, title="Thay card mạng",
                              start=h.clock.now - 10, end=h.clock.now + 3600,
                              scope={"devices": ["ups-b"]}, by="an", now=h.clock.now)
    history = History(h.store, timezone=h.config.site.timezone)
    history.handle([StatusChange("ups-b", "device", Status.OK, Status.UNKNOWN, "unreachable",
                                 h.clock.now, frozenset({"unreachable"})),
                    StatusChange("ups-a", "device", Status.OK, Status.UNKNOWN, "unreachable",
                                 h.clock.now, frozenset({"unreachable"}))])
    outages = {o.subject: o for o in h.store.open_outages()}
    assert outages["ups-b"].planned and outages["ups-b"].maintenance_id == booked.window.id
    assert not outages["ups-a"].planned and outages["ups-a"].maintenance_id is None


async def test_the_metrics_count_alerts_and_deliveries(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    text = h.service.exporter.render().decode()
    assert ('tierwatch_alerts{alertname="UpsOnBattery",severity="critical",state="firing"} 1.0'
            in text)
    assert 'tierwatch_notifications_total{channel="webhook",result="sent"} 1.0' in text
    assert ('tierwatch_component_condition{component="ups",condition="on_battery",'
            'device="ups-a"} 1.0') in text
    assert 'subsystem="power"' in text and "tierwatch_device_info{" in text




class FakeTierCollector:
    """What the tier room's collector will look like to alerting: tierwatch_tier series."""

    def __init__(self) -> None:
        self.live = 3.0

    def collect(self):  # type: ignore[no-untyped-def]
        from prometheus_client.core import GaugeMetricFamily

        tier = GaugeMetricFamily("tierwatch_tier", "tier", labels=["subsystem", "kind"])
        tier.add_metric(["power", "design"], 3.0)
        tier.add_metric(["power", "live"], self.live)
        yield tier


async def test_series_other_rooms_register_feed_the_builtin_rules(h: Harness) -> None:
    tier = FakeTierCollector()
    h.service.metrics.register(tier)
    await h.tick()
    assert h.store.alerts() == []
    tier.live = 1.0  # UPS-B on bypass: the power subsystem is down to Tier I
    await h.tick(10)
    (pending,) = h.store.alerts()
    assert pending.alertname == "LiveTierBelowDesign" and pending.state == "pending"
    await h.tick(60)
    (firing,) = h.store.alerts()
    assert firing.state == "firing" and firing.labels["subsystem"] == "power"
    assert firing.annotations["summary"] == "power is at Tier 1 now, below its design tier"
    assert [r.kind for r in h.delivery.sent] == ["firing", "firing"]


async def test_losing_sight_of_a_device_does_not_resolve_its_alerts(h: Harness) -> None:
    from collector.snmp.poller import PollResult as Result

    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    assert len(h.delivery.sent) == 2
    for _ in range(3):  # the UPS's card stops answering (unreachable after 3 polls)
        h.service.state.update(Result("ups-a", h.clock.now, error="timeout",
                                      message="no answer"))
        await h.tick(30)
    (record,) = [r for r in h.store.alerts() if r.alertname == "UpsOnBattery"]
    assert record.state == "firing"  # held: nobody saw it come back on mains
    await h.tick(60)
    names = {r.alertname: r.state for r in h.store.alerts()}
    assert names == {"UpsOnBattery": "firing", "DeviceUnreachable": "firing"}
    assert [r.kind for r in h.delivery.sent].count("resolved") == 0

    h.ups("ups-a", Status.OK)  # it answers again, on mains: now it resolves
    h.service.state.update(Result("ups-a", h.clock.now, components=[
        ComponentStatus("ups", Status.OK, "ok")]))
    await h.tick(5)
    assert h.store.alerts() == []


async def test_a_restart_holds_alerts_until_their_device_answers(h: Harness) -> None:
    h.ups("ups-a", Status.DEGRADED, "on_battery")
    await h.tick()
    h.restart()
    from collector.snmp.poller import PollResult as Result

    h.service.state.devices["ups-a"].last_success_ts = None  # its first poll after the
    h.service.state.update(Result("ups-a", h.clock.now, error="timeout"))  # restart fails
    await h.tick(5)
    (record,) = h.store.alerts()
    assert record.state == "firing" and len(h.delivery.sent) == 2


async def test_a_silent_auto_profile_device_keeps_its_alert_across_a_restart(
        tmp_path: Path) -> None:
    # pdu-x has `profile: auto`, resolved to apc-pdu when it last answered: its
    # DeviceUnreachable carries subsystem "power" (tierwatch_device_info, from the profile's
    # name). tierwatch restarts while it is still silent, so `auto` cannot be resolved
    # again and its profiles are unknown. The restored alert must stay its one alert: no
    # second incident labelled subsystem "other", no second page; one resolution.
    auto = CONFIG.replace("devices:\n", "devices:\n  - {{id: pdu-x, name: PDU-X, address: "
                          "\"127.0.0.1:3\", credentials: v2, profile: auto}}\n")
    h = Harness(tmp_path, config=auto)

    def silent() -> None:
        for _ in range(3):  # snmp.unreachable_after
            h.service.state.update(PollResult("pdu-x", h.clock.now, error="timeout"))

    h.service.snmp.devices["pdu-x"].profiles = ["apc-pdu"]  # as the first poll resolved it
    silent()
    await h.tick()
    await h.tick(61)  # DeviceUnreachable: for 1m
    (record,) = h.store.alerts()
    assert (record.alertname, record.labels["subsystem"]) == ("DeviceUnreachable", "power")
    pages = [k for k, _, _ in h.delivery.kinds()]
    assert pages == ["firing", "firing"]  # webhook and e-mail of oncall
    h.restart()
    silent()
    await h.tick(5)
    await h.tick(61)
    assert [(r.alertname, r.labels["subsystem"], r.state)
            for r in h.store.alerts(states=None)] == [("DeviceUnreachable", "power", "firing")]
    h.service.state.update(PollResult("pdu-x", h.clock.now, components=[
        ComponentStatus("pdu", Status.OK, "ok")]))
    await h.tick(5)
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing", "resolved",
                                                     "resolved"]


async def test_a_takeover_on_a_mirrored_state_holds_alerts_until_the_device_answers(
        h: Harness) -> None:
    # UpsRuntimeLow reads a polled series (ups_battery_runtime_seconds < 600, for 1m). A pair
    # member taking over starts its alert engine on the standby's state, mirrored from the
    # store: ups-a's statuses and last answer are there, its series are not. Until the new
    # leader polls ups-a, the alert is held, not resolved (and so not paged again when the
    # poll brings the series back); then it resolves when the runtime is back above 600 s.
    def poll(runtime: float) -> None:
        h.service.state.update(PollResult("ups-a", h.clock.now, samples=[
            Sample("ups_battery_runtime_seconds", {"device": "ups-a"}, runtime, h.clock.now)],
            components=[ComponentStatus("ups", Status.OK, "ok")]))

    poll(300.0)
    await h.tick()
    await h.tick(61)
    (record,) = h.store.alerts()
    assert (record.alertname, record.state) == ("UpsRuntimeLow", "firing")
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing"]
    # the takeover: the mirrored state keeps the statuses and the time of the last answer
    h.service.state.devices["ups-a"].samples = []
    h.clock.now += 5
    taking_over = AlertsComponent(h.config.alerts, devices=lambda: list(h.service.directory))
    runtime = Runtime.for_tests(h.store, h.service.state, site=h.config.site,
                                metrics=h.service.metrics)
    taking_over.attach(runtime, deliver=h.delivery, clock=h.clock)
    h.alerts = taking_over
    await h.tick(1)
    assert [(r.alertname, r.state) for r in h.store.alerts(states=None)] == [
        ("UpsRuntimeLow", "firing")]
    poll(300.0)  # the new leader's first poll: still low, nothing new to page
    await h.tick(1)
    assert len(h.delivery.sent) == 2
    poll(1200.0)
    await h.tick(1)
    assert [k for k, _, _ in h.delivery.kinds()] == ["firing", "firing", "resolved",
                                                     "resolved"]


RANGE_RULE = """\
groups:
  - name: site
    rules:
      - alert: UpsLoadHighForLong
        expr: min_over_time(ups_output_load_ratio[2m]) > 0.8
        labels: {severity: warning, subsystem: power}
        annotations:
          summary: "{{ $labels.device }} above 80 % for 2 minutes"
          summary_vi: "{{ $labels.device }} trên 80 % suốt 2 phút"
          runbook: "Move load to the other UPS."
          runbook_vi: "Chuyển bớt tải sang UPS kia."
"""


async def test_a_range_rule_reads_the_history_of_the_polls(tmp_path: Path) -> None:
    rules = tmp_path / "site.rules.yml"
    rules.write_text(RANGE_RULE, encoding="utf-8")
    h = Harness(tmp_path, alertmanager=f"rule_files: ['{rules}']")  # a line under alerts:
    start = h.clock.now

    def poll(load: float) -> None:
        h.service.state.update(PollResult("ups-a", h.clock.now, samples=[
            Sample("ups_output_load_ratio", {"device": "ups-a"}, load, h.clock.now)],
            components=[ComponentStatus("ups", Status.OK, "ok")]))

    poll(0.5)  # then 90 %, polled every 30 s, the rules evaluated every 10 s
    while h.clock.now < start + 120:
        await h.tick(10)
        if (h.clock.now - start) % 30 == 0:
            poll(0.9)
        assert h.store.alerts() == []  # the 50 % at `start` is inside [now - 2m, now]
    # twelve evaluations have seen the polls at 0, 30, 60 and 90 s: one sample each
    assert h.alerts.history is not None and h.alerts.history.point_count() == 4
    await h.tick(10)  # [10 s, 130 s]: 90 % only
    (firing,) = h.store.alerts()
    assert firing.alertname == "UpsLoadHighForLong" and firing.state == "firing"
    assert firing.annotations["summary"] == "ups-a above 80 % for 2 minutes"
