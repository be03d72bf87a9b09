"""The JSON API's resources: what each answers, pages, filters and bad input."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from api.main import set_context
from tests.helpers.api import Api
from tests.report.seed import at
from tierwatch.core.ha import HaConfig, Leadership
from tierwatch.core.model import Sample, Status
from tierwatch.core.store.ha import Lease
from tierwatch.core.store.schema import alerts


def test_unknown_device_is_404_json(open_api: Api) -> None:
    response = open_api.client.get("/api/v1/devices/no-such-ups")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": 404, "message": "no device 'no-such-ups'"}


def test_unknown_path_is_404_json(open_api: Api) -> None:
    response = open_api.client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["status"] == 404


def test_device_list_pages_and_filters(open_api: Api) -> None:
    open_api.poll("ups-a")
    open_api.poll("ups-b", Status.FAILED, frozenset({"bypass"}))
    whole = open_api.client.get("/api/v1/devices").json()
    assert whole["total"] == 3 and [d["id"] for d in whole["items"]] == ["ups-a", "ups-b",
                                                                         "env-1"]
    page = open_api.client.get("/api/v1/devices?limit=1&offset=1").json()
    assert page == {**page, "total": 3, "limit": 1, "offset": 1}
    assert [d["id"] for d in page["items"]] == ["ups-b"]
    failed = open_api.client.get("/api/v1/devices?status=failed").json()
    assert [(d["id"], d["conditions"]) for d in failed["items"]] == [("ups-b", ["bypass"])]
    assert open_api.client.get("/api/v1/devices?limit=0").status_code == 422
    assert open_api.client.get("/api/v1/devices?status=broken").status_code == 422


def test_device_detail_has_components_and_latest_samples(open_api: Api) -> None:
    samples = [Sample("ups_battery_charge_ratio", {"device": "ups-a"}, 0.97, at(5)),
               Sample("ups_output_load_ratio", {"device": "ups-a"}, math.nan, at(5))]
    open_api.poll("ups-a", Status.DEGRADED, frozenset({"on_battery"}), ts=at(5),
                  samples=samples, reason="on battery")
    detail = open_api.client.get("/api/v1/devices/ups-a").json()
    assert (detail["status"], detail["kind"], detail["profiles"]) == ("degraded", "snmp",
                                                                      ["apc-ups"])
    assert detail["components"] == [{"device": "ups-a", "component": "ups",
                                     "status": "degraded", "reason": "on battery",
                                     "conditions": ["on_battery"]}]
    assert [(s["name"], s["value"]) for s in detail["samples"]] == [
        ("ups_battery_charge_ratio", 0.97), ("ups_output_load_ratio", None)]  # NaN is null
    assert detail["polling"]["polls"] == 1 and detail["last_poll"] == at(5)


def test_components_filtered_by_device_and_status(open_api: Api) -> None:
    open_api.poll("ups-a")
    open_api.poll("env-1", Status.DEGRADED, frozenset({"temp_out_of_recommended"}),
                  component="sensor Inlet")
    found = open_api.client.get("/api/v1/components?status=degraded").json()
    assert [(c["device"], c["component"]) for c in found["items"]] == [
        ("env-1", "sensor Inlet")]
    assert open_api.client.get("/api/v1/components?device=ups-a").json()["total"] == 1


def test_topology_with_live_statuses(open_api: Api) -> None:
    open_api.poll("ups-b", Status.FAILED, frozenset({"bypass"}))
    power = open_api.client.get("/api/v1/topology").json()["subsystems"]["power"]
    nodes = {n["id"]: n for n in power["nodes"]}
    assert nodes["UPS-B"]["status"] == "bypass" and nodes["UPS-B"]["device"] == "ups-b"
    assert nodes["UPS-A"]["status"] == "pending"  # ups-a has not been polled
    assert nodes["G1"]["status"] == "ok"  # not bound to a device
    # no port declared on a power feed: nothing for LLDP to check, counted as declared
    assert nodes["R1"]["fed_from"] == [
        {"id": "PDU-A", "mode": "auto", "port": None, "lldp": None, "counted": True},
        {"id": "PDU-B", "mode": "auto", "port": None, "lldp": None, "counted": True}]
    assert nodes["R1"]["lldp"] is None
    assert power["groups"] == [{"id": "generator", "demand": 120.0, "demand_exact": "120"}]
    assert (nodes["UPS-B"]["capacity"], nodes["UPS-B"]["capacity_exact"]) == (100.0, "100")
    assert (nodes["R1"]["demand_exact"], nodes["R1"]["capacity_exact"]) == ("40", None)


@pytest.mark.parametrize(("query", "subjects"), [
    ("month=2026-10", ["R1", "R7"]),
    ("month=2026-10&scope=power", ["R1", "R7"]),
    ("month=2026-10&scope=cooling", []),
    ("month=2026-10&scope=load:R7", ["R7"]),
    ("month=2026-09", []),
    ("start=2026-10-03T00:00:00%2B07:00&end=2026-10-04T00:00:00%2B07:00", ["R7"]),
])
def test_outages_by_scope_and_period(open_api: Api, query: str, subjects: list[str]) -> None:
    found = open_api.client.get(f"/api/v1/outages?{query}").json()
    assert [o["subject"] for o in found["items"]] == subjects


def test_outage_fields(open_api: Api) -> None:
    (r1,) = open_api.client.get("/api/v1/outages?month=2026-10&scope=load:R1").json()["items"]
    assert (r1["start"], r1["end"], r1["duration"], r1["planned"], r1["maintenance_id"]) == (
        at(10, 22), at(10, 22, 2), 120.0, True, 1)


@pytest.mark.parametrize("query", [
    "month=2026-13", "month=26-10", "month=0000-01", "scope=rack:R7", "scope=load:",
    "month=2026-10&start=1", "start=yesterday", "start=2026-10-01T00:00:00",
    "start=1000&end=10", "start=1e300",
])
def test_outages_bad_input_is_422(open_api: Api, query: str) -> None:
    response = open_api.client.get(f"/api/v1/outages?{query}")
    assert response.status_code == 422, query
    assert response.json()["status"] == 422 and response.json()["message"]


def test_maintenance_book_list_remove(open_api: Api) -> None:
    operator = open_api.auth("operator")
    booked = open_api.client.post("/api/v1/maintenance", headers=operator, json={
        "title": "Bảo dưỡng UPS-B", "start": "2026-12-05 22:00", "end": "2026-12-06T02:00",
        "scope": {"devices": ["UPS-B"], "components": ["PDU-B"]}, "recurrence": "monthly",
        "comment": "nhà cung cấp đến lúc 21:30"})
    assert booked.status_code == 201, booked.text
    window = booked.json()
    assert window["start_local"] == "2026-12-05T22:00:00+07:00"  # site time without offset
    assert window["scope"] == {"devices": ["ups-b"], "components": ["PDU-B"]}  # name -> id
    assert window["created_by"] == "operator-person"
    listed = open_api.client.get("/api/v1/maintenance").json()
    assert [w["title"] for w in listed["items"]] == ["Bảo dưỡng UPS-B", "Thay PDU-B"]
    gone = open_api.client.delete(f"/api/v1/maintenance/{window['id']}", headers=operator)
    assert gone.status_code == 204
    assert open_api.client.get("/api/v1/maintenance").json()["total"] == 1
    with_deleted = open_api.client.get("/api/v1/maintenance?deleted=true").json()
    assert with_deleted["total"] == 2
    again = open_api.client.delete(f"/api/v1/maintenance/{window['id']}", headers=operator)
    assert again.status_code == 404 and "no maintenance window" in again.json()["message"]


@pytest.mark.parametrize(("change", "message"), [
    ({"end": "2026-12-01T21:00:00+07:00"}, "must end after it starts"),
    ({"scope": {}}, "needs a scope"),
    ({"scope": {"devices": ["ups-z"]}}, "unknown devices: ups-z"),
    ({"scope": {"components": ["PDU-Z"]}}, "unknown components: PDU-Z"),
    ({"scope": {"subsystems": ["water"]}}, "subsystems"),
    ({"until": "2027-01-01T00:00:00+07:00"}, "recurring windows only"),
    ({"start": "tomorrow"}, "body.start"),
    ({"start": "2026-13-45T99:00"}, "is not a time"),
    ({"title": ""}, "title"),
    ({"extra": 1}, "extra"),
])
def test_maintenance_bad_input_is_422(open_api: Api, change: dict[str, object],
                                      message: str) -> None:
    body = {"title": "x", "start": "2026-12-01T22:00:00+07:00",
            "end": "2026-12-01T23:00:00+07:00", "scope": {"devices": ["ups-b"]}, **change}
    response = open_api.client.post("/api/v1/maintenance", json=body,
                                    headers=open_api.auth("operator"))
    assert response.status_code == 422
    assert message in response.text


def _alert(api: Api, name: str, state: str, since: float, **extra: object) -> int:
    """An alert as the engine (alerts/component.py) leaves it in the store."""
    with api.store.engine.begin() as conn:
        result = conn.execute(insert(alerts).values(
            fingerprint=f"{name.lower():0<16}"[:16], alertname=name, severity="critical",
            labels=json.dumps({"device": "ups-b", "alertname": name}),
            annotations=json.dumps({"summary": f"{name} on ups-b"}), state=state,
            value=1.0, active_since=since, fired_ts=since, **extra))
        return int(result.inserted_primary_key[0])


def test_alerts_list_and_acknowledge(open_api: Api) -> None:
    firing = _alert(open_api, "UpsOnBypass", "firing", at(15, 8))
    _alert(open_api, "UpsOnBattery", "resolved", at(3, 10), resolved_ts=at(3, 10, 5))
    active = open_api.client.get("/api/v1/alerts").json()
    assert [(a["name"], a["state"], a["summary"]) for a in active["items"]] == [
        ("UpsOnBypass", "firing", "UpsOnBypass on ups-b")]
    assert open_api.client.get("/api/v1/alerts?state=all").json()["total"] == 2
    acked = open_api.client.post(f"/api/v1/alerts/{firing}/ack", headers=open_api.auth(
        "operator"), json={"comment": "đang thay bo mạch bypass"})
    assert acked.status_code == 200, acked.text
    ack = acked.json()["ack"]
    assert (ack["by"], ack["comment"]) == ("operator-person", "đang thay bo mạch bypass")
    assert ack["until"] == pytest.approx(ack["ts"] + 24 * 3600)  # alerts.ack_for
    (stored,) = open_api.store.alerts()
    assert stored.acked_by == "operator-person"
    by_fingerprint = open_api.client.post("/api/v1/alerts/upsonbypass00000/ack", json={},
                                          headers=open_api.auth("operator"))
    assert by_fingerprint.status_code == 200 and by_fingerprint.json()["id"] == firing


# `%` and `_` are SQL LIKE's wildcards: as a reference they must name nothing, as must a
# prefix of a fingerprint (a reference is an id or a whole fingerprint, never a pattern)
@pytest.mark.parametrize("ref", ["%25", "_", "%25%25", "________________", "upsonbypass",
                                 "upsonbypass0000", "upsonbypass%25", "UPSONBYPASS00000",
                                 "upsonbypass000000"])
def test_alert_refs_are_matched_exactly(open_api: Api, ref: str) -> None:
    firing = _alert(open_api, "UpsOnBypass", "firing", at(15, 8))  # fingerprint upsonbypass00000
    answer = open_api.client.post(f"/api/v1/alerts/{ref}/ack", json={},
                                  headers=open_api.auth("operator"))
    assert answer.status_code == 404, answer.text
    assert answer.json()["message"].startswith("no alert with fingerprint ")
    stored = open_api.store.alert(firing)
    assert stored is not None and stored.acked is None  # nothing was acknowledged
    exact = open_api.client.post("/api/v1/alerts/upsonbypass00000/ack", json={},
                                 headers=open_api.auth("operator"))
    assert exact.status_code == 200 and exact.json()["id"] == firing


def test_alerts_ack_bad_refs(open_api: Api) -> None:
    resolved = _alert(open_api, "UpsOnBattery", "resolved", at(3, 10), resolved_ts=at(3, 11))
    operator = open_api.auth("operator")
    missing = open_api.client.post("/api/v1/alerts/999/ack", json={}, headers=operator)
    assert missing.status_code == 404 and missing.json()["message"] == "no alert with id 999"
    done = open_api.client.post(f"/api/v1/alerts/{resolved}/ack", json={}, headers=operator)
    assert done.status_code == 409 and "already resolved" in done.json()["message"]


def test_reports_generate_list_download(open_api: Api) -> None:
    made = open_api.client.post("/api/v1/reports", headers=open_api.auth("admin"), json={
        "month": "2026-10", "languages": ["vi", "en"], "formats": ["json", "html"]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["has_data"] is True and body["failures"] == []
    assert sorted((f["lang"], f["format"]) for f in body["files"]) == [
        ("en", "html"), ("en", "json"), ("vi", "html"), ("vi", "json")]
    listed = open_api.client.get("/api/v1/reports?month=2026-10&limit=3").json()
    assert listed["total"] == 4 and len(listed["items"]) == 3
    one = next(f for f in body["files"] if (f["lang"], f["format"]) == ("vi", "json"))
    got = open_api.client.get(one["download"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert "attachment" in got.headers["content-disposition"]
    assert json.loads(got.content)["summary"]["availability"]["downtime_s"] == 420.0
    html = next(f for f in body["files"] if (f["lang"], f["format"]) == ("en", "html"))
    page = open_api.client.get(html["download"])
    assert page.headers["content-type"].startswith("text/html")
    assert "Monthly Tier III readiness report" in page.text
    # generating again replaces the month's files rather than piling them up
    open_api.client.post("/api/v1/reports", headers=open_api.auth("admin"),
                         json={"month": "2026-10", "languages": ["vi"], "formats": ["json"]})
    assert open_api.client.get("/api/v1/reports").json()["total"] == 4


def test_reports_bad_input(open_api: Api) -> None:
    admin = open_api.auth("admin")
    for month in ("2026-13", "2026-1", "10-2026"):
        response = open_api.client.post("/api/v1/reports", headers=admin, json={"month": month})
        assert response.status_code == 422, month
    future = open_api.client.post("/api/v1/reports", headers=admin, json={"month": "2099-01"})
    assert future.status_code == 422 and "has not begun" in future.json()["message"]
    assert open_api.client.get("/api/v1/reports/77").status_code == 404
    assert open_api.client.get("/api/v1/reports/77/download").json()["status"] == 404
    assert open_api.client.get("/api/v1/reports?month=2026-1").status_code == 422


def test_a_month_with_no_data_is_reported_as_such(open_api: Api) -> None:
    made = open_api.client.post("/api/v1/reports", headers=open_api.auth("admin"),
                                json={"month": "2026-07", "formats": ["json"],
                                      "languages": ["en"]})
    assert made.status_code == 201 and made.json()["has_data"] is False
    report = json.loads(open_api.client.get(made.json()["files"][0]["download"]).content)
    assert report["summary"]["availability"] is None
    assert report["coverage"]["unmonitored"][0]["reason"] == "no_record"


def test_readyz_follows_the_first_poll_round(open_api: Api) -> None:
    assert open_api.client.get("/readyz").status_code == 503
    for device in ("ups-a", "ups-b"):
        open_api.poll(device)
    assert open_api.client.get("/readyz").json() == {"status": "starting", "devices": 3,
                                                     "polled": 2}
    open_api.poll("env-1")
    assert open_api.client.get("/readyz").status_code == 200


def test_reports_by_email_through_the_api(tmp_path: Path) -> None:
    from tests.helpers.api import api_context, demo_like_config
    from tests.helpers.smtp import smtp_server
    from tests.report import seed

    with smtp_server(tmp_path) as smtp:
        config = demo_like_config(
            tmp_path, api={"read_auth": "open"},
            reports={"dir": str(tmp_path / "reports"), "email": ["giam-doc@cantho.example.vn"]},
            alerts={"smtp": {"host": "127.0.0.1", "port": smtp.port, "username": "tierwatch",
                             "password": "s3cret-pass", "from": "tierwatch@cantho.example.vn",
                             "ca_file": str(smtp.ca_file)}})
        for api in api_context(config, seed.seed):
            admin = api.auth("admin")
            sent = api.client.post("/api/v1/reports", headers=admin, json={
                "month": "2026-10", "languages": ["en"], "formats": ["html"], "email": True})
            assert sent.status_code == 201, sent.text
            assert (sent.json()["emailed"], sent.json()["email_error"]) == (True, None)
            (mail,) = smtp.wait_for_messages(1, 10)
            assert mail.recipients == ["giam-doc@cantho.example.vn"]
            assert [p.get_filename() for p in mail.message.iter_attachments()] == [
                "tierwatch-report-2026-10-en.html"]
            # a JSON boolean only: 1 is not "yes"
            assert api.client.post("/api/v1/reports", headers=admin, json={
                "month": "2026-10", "email": 1}).status_code == 422


def test_reports_email_needs_smtp(open_api: Api) -> None:
    refused = open_api.client.post("/api/v1/reports", headers=open_api.auth("admin"),
                                   json={"month": "2026-10", "email": True})
    assert refused.status_code == 422 and "reports.email" in refused.json()["message"]


def test_an_instance_in_no_pair_says_so_and_is_not_fenced(open_api: Api) -> None:
    response = open_api.client.get("/api/v1/ha")
    assert response.status_code == 200
    assert response.json()["enabled"] is False and response.json()["role"] == "single"
    assert "x-tierwatch-role" not in response.headers  # only a pair member's answers say it
    assert open_api.store.fence is None  # its writes are plain transactions


def test_a_standby_answers_reads_and_refuses_writes_naming_the_leader(open_api: Api) -> None:
    """The middleware of api/standby.py, with a member that has read the lease: tw-a leads
    under token 7 (what GET /api/v1/ha and the 503 say is that row)."""
    member = Leadership(open_api.store.engine, "main",
                        HaConfig(enabled=True, instance="tw-b"),
                        on_lead=_nothing_to_start, on_standby=_nothing_to_stop)
    member.lease = Lease("main", "tw-a", 7, acquired=100.0, expires=2e9, now=1e9)
    app = cast(FastAPI, open_api.client.app)
    set_context(app, dataclasses.replace(app.state.context, ha=member))
    windows = len(open_api.store.maintenance())
    read = open_api.client.get("/api/v1/devices")
    assert read.status_code == 200 and read.headers["x-tierwatch-role"] == "standby"
    ha = open_api.client.get("/api/v1/ha").json()
    assert (ha["role"], ha["holder"], ha["token"], ha["since"]) == ("standby", "tw-a", 7, 100.0)
    write = open_api.client.post("/api/v1/maintenance", json={},
                                 headers=open_api.auth("operator"))
    assert write.status_code == 503 and write.headers["retry-after"] == "5"
    assert write.json()["message"] == (
        "this instance (tw-b) is the standby of an active/standby pair and writes nothing; "
        "the leader is tw-a (lease token 7): send writes there")
    # a what-if only computes: it is not refused as a write (whatever the route says)
    whatif = open_api.client.post("/api/v1/whatif", json={})
    assert "standby" not in whatif.text
    assert len(open_api.store.maintenance()) == windows  # the refused booking is not there


async def _nothing_to_start(token: int) -> None:
    return None


async def _nothing_to_stop() -> None:
    return None
