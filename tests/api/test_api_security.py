"""Who may do what: every write needs a bearer token with a role; reads need one unless
`api.read_auth: open`; tokens are kept hashed; secrets never leave; bodies are limited;
CORS is off unless configured."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from api.tokens import create_token, revoke
from tests.helpers.api import NOW, Api, api_context, demo_like_config
from tierwatch.config import Config
from tierwatch.core.store.schema import alerts, api_tokens

MAINTENANCE = {"title": "Thay ắc quy", "start": "2026-12-01T22:00:00+07:00",
               "end": "2026-12-01T23:00:00+07:00", "scope": {"devices": ["ups-b"]}}

# every write route, the least role it needs, and a body that would be accepted
WRITES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/maintenance", "operator", MAINTENANCE),
    ("DELETE", "/api/v1/maintenance/1", "operator", None),
    ("POST", "/api/v1/alerts/1/ack", "operator", {"comment": "đang xử lý"}),
    ("POST", "/api/v1/reports", "admin", {"month": "2026-10", "formats": ["json"]}),
    ("POST", "/api/v1/tokens", "admin", {"name": "grafana", "role": "viewer"}),
    ("DELETE", "/api/v1/tokens/0123abcd", "admin", None),
    # refused as outside snmp.discovery.allow (empty here) once past the guard: no packet
    ("POST", "/api/v1/discover", "admin", {"targets": ["192.0.2.1"]}),
]


# POSTs that change nothing: a question with a body, answered to anyone who may read
QUESTIONS = {("POST", "/api/v1/whatif")}


def _call(api: Api, method: str, path: str, body: dict[str, Any] | None,
          headers: dict[str, str] | None = None) -> Any:
    return api.client.request(method, path, json=body, headers=headers or {})


def test_the_table_covers_every_write_route(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    routes = {(m.upper(), path) for path, ops in paths.items() for m in ops
              if m in ("post", "delete", "put", "patch")}
    routes -= QUESTIONS
    tested = {(m, p.replace("/1/ack", "/{ref}/ack").replace("/maintenance/1",
                                                           "/maintenance/{window_id}")
               .replace("/0123abcd", "/{key}")) for m, p, _, _ in WRITES}
    assert routes == tested


@pytest.mark.parametrize(("method", "path", "role", "body"), WRITES)
def test_a_write_without_a_token_is_401(api: Api, method: str, path: str, role: str,
                                        body: dict[str, Any] | None) -> None:
    response = _call(api, method, path, body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401 and role in response.json()["message"]
    bogus = _call(api, method, path, body, {"Authorization": "Bearer tw_00000000_" + "x" * 43})
    assert bogus.status_code == 401


@pytest.mark.parametrize(("method", "path", "role", "body"), WRITES)
def test_a_write_with_too_weak_a_role_is_403(api: Api, method: str, path: str, role: str,
                                             body: dict[str, Any] | None) -> None:
    weaker = ["viewer"] if role == "operator" else ["viewer", "operator"]
    for held in weaker:
        response = _call(api, method, path, body, api.auth(held))
        assert response.status_code == 403, held
        assert response.json()["message"] == f"this needs the {role} role; the token has {held}"


# what each write answers when it is allowed and its target exists
SUCCESS = {"/api/v1/maintenance": 201, "/api/v1/maintenance/1": 204,
           "/api/v1/alerts/1/ack": 200, "/api/v1/reports": 201, "/api/v1/tokens": 201,
           "/api/v1/tokens/0123abcd": 204,
           # past the guard, the room refuses a target outside snmp.discovery.allow
           "/api/v1/discover": 400}


def _target(api: Api, path: str, n: int) -> str:
    """The path with a target of its own that exists (a window, an alert, a token)."""
    if path == "/api/v1/maintenance/1":
        window = api.store.add_maintenance("Bảo trì", NOW + 3600, NOW + 7200,
                                           {"devices": ["ups-b"]}, "test", NOW)
        return f"/api/v1/maintenance/{window}"
    if path == "/api/v1/alerts/1/ack":
        with api.store.engine.begin() as conn:
            made = conn.execute(insert(alerts).values(
                fingerprint=f"{n:016d}", alertname="UpsOnBypass", severity="critical",
                labels=json.dumps({"device": "ups-b", "n": str(n)}), annotations="{}",
                state="firing", value=1.0, active_since=NOW - 60, fired_ts=NOW - 60))
        return f"/api/v1/alerts/{made.inserted_primary_key[0]}/ack"
    if path == "/api/v1/tokens/0123abcd":
        info, _ = create_token(api.store, f"doomed-{n}", "viewer", NOW)
        return f"/api/v1/tokens/{info.key}"
    return path


@pytest.mark.parametrize(("method", "path", "role", "body"), WRITES)
def test_a_write_with_the_role_is_done(api: Api, method: str, path: str, role: str,
                                       body: dict[str, Any] | None) -> None:
    for n, held in enumerate([role, "admin"]):  # admin may do everything
        response = _call(api, method, _target(api, path, n), body, api.auth(held))
        assert response.status_code == SUCCESS[path], (held, response.text)


def test_a_cookie_never_authorizes_a_write(api: Api) -> None:
    api.client.cookies.set("tierwatch_token", api.tokens["admin"])
    assert api.client.post("/api/v1/maintenance", json=MAINTENANCE).status_code == 401
    assert api.client.get("/api/v1/devices").status_code == 200  # it does read


READS = ["/api/v1/devices", "/api/v1/devices/ups-a", "/api/v1/components",
         "/api/v1/topology", "/api/v1/outages", "/api/v1/alerts", "/api/v1/maintenance",
         "/api/v1/reports", "/api/v1/availability?month=2026-10"]


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_token_by_default(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 401
    assert api.client.get(path, headers=api.auth("viewer")).status_code == 200


def test_the_live_tier_and_whatif_need_a_token_to_read(api: Api) -> None:
    # not started here: the live engine has not scored yet, so 503 once past the guard
    assert api.client.get("/api/v1/tier").status_code == 401
    assert api.client.get("/api/v1/tier", headers=api.auth("viewer")).status_code == 503
    question = {"remove": ["UPS-A"]}
    assert api.client.post("/api/v1/whatif", json=question).status_code == 401
    assert api.client.post("/api/v1/whatif", json=question,
                           headers=api.auth("viewer")).status_code == 503


@pytest.mark.parametrize("path", READS)
def test_reads_are_open_when_configured(open_api: Api, path: str) -> None:
    assert open_api.client.get(path).status_code == 200
    assert open_api.client.post("/api/v1/maintenance", json=MAINTENANCE).status_code == 401


def test_health_and_docs_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/openapi.json").status_code == 200
    assert api.client.get("/metrics").status_code == 200


def test_revoked_and_expired_tokens_are_refused(api: Api) -> None:
    made = time.time() - 120
    info, token = create_token(api.store, "short", "viewer", made, expires=made + 60)
    assert api.client.get("/api/v1/devices", headers={
        "Authorization": f"Bearer {token}"}).status_code == 401
    info, token = create_token(api.store, "later", "viewer", NOW)
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/devices", headers=headers).status_code == 200
    assert revoke(api.store, info.key, NOW) is not None
    assert api.client.get("/api/v1/devices", headers=headers).status_code == 401


def test_tokens_are_kept_hashed_and_never_shown_again(api: Api) -> None:
    created = api.client.post("/api/v1/tokens", json={"name": "grafana", "role": "viewer"},
                              headers=api.auth("admin"))
    assert created.status_code == 201
    token = created.json()["token"]
    with api.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(api_tokens))]
    stored = json.dumps(rows)
    for plain in [token, *api.tokens.values()]:
        assert plain not in stored
        secret = plain.split("_", 2)[2]  # tw_<key>_<secret>; the secret may hold "_" too
        assert secret not in stored
    listed = api.client.get("/api/v1/tokens", headers=api.auth("admin")).text
    assert token not in listed and "digest" not in listed
    assert api.client.get("/api/v1/devices",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    key = created.json()["info"]["key"]
    assert api.client.delete(f"/api/v1/tokens/{key}", headers=api.auth("admin")
                             ).status_code == 204
    assert api.client.get("/api/v1/devices",
                          headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_no_secret_in_any_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_TEST_AUTH", "s3cr3t-auth-key-9")
    monkeypatch.setenv("TW_TEST_PRIV", "s3cr3t-priv-key-9")
    cfg = demo_like_config(tmp_path, api={"read_auth": "open"})
    data = cfg.model_dump(mode="json", exclude={"source"})
    data["credentials"] = {
        "c": {"version": "2c", "community": "literal-community-9"},
        "v3": {"version": "3", "user": "ops", "auth_protocol": "SHA",
               "auth_key": "${TW_TEST_AUTH}", "priv_protocol": "AES",
               "priv_key": "${TW_TEST_PRIV}"}}
    data["devices"][0]["credentials"] = "v3"
    secrets = ["literal-community-9", os.environ["TW_TEST_AUTH"], os.environ["TW_TEST_PRIV"],
               "TW_TEST_AUTH"]
    for api in api_context(Config.model_validate(data)):
        for device in ("ups-a", "ups-b", "env-1"):
            api.poll(device)
        api.client.post("/api/v1/reports", json={"month": "2026-10", "formats": ["json"]},
                        headers=api.auth("admin"))
        pages = ["/", "/openapi.json", "/metrics", "/readyz", *READS, "/api/v1/reports/1",
                 "/api/v1/reports/1/download", "/api/v1/tokens"]
        for path in pages:
            response = api.client.get(path, headers=api.auth("admin"))
            assert response.status_code == 200, path
            for secret in secrets:
                assert secret not in response.text, (path, secret)
            for token in api.tokens.values():
                assert token not in response.text, path


def test_bodies_are_size_limited(tmp_path: Path) -> None:
    cfg = demo_like_config(tmp_path, api={"max_body": "2KB"})
    for api in api_context(cfg):
        big = {**MAINTENANCE, "comment": "x" * 3000}
        response = api.client.post("/api/v1/maintenance", json=big, headers=api.auth("admin"))
        assert response.status_code == 413
        assert response.json() == {"status": 413,
                                   "message": "request body larger than 2000 bytes"}
        chunked = api.client.post("/api/v1/maintenance", content=iter([b"{" * 1500] * 2),
                                  headers={**api.auth("admin"),
                                           "content-type": "application/json"})
        assert chunked.status_code == 413  # no Content-Length: counted as it comes
        small = api.client.post("/api/v1/maintenance", json=MAINTENANCE,
                                headers=api.auth("admin"))
        assert small.status_code == 201


def test_cors_is_off_by_default(api: Api) -> None:
    response = api.client.options("/api/v1/devices", headers={
        "Origin": "https://grafana.example.vn", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers
    response = api.client.get("/api/v1/devices", headers={
        **api.auth("viewer"), "Origin": "https://grafana.example.vn"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_for_configured_origins(tmp_path: Path) -> None:
    cfg = demo_like_config(tmp_path, api={"cors_origins": ["https://grafana.example.vn"]})
    for api in api_context(cfg):
        ok = api.client.options("/api/v1/devices", headers={
            "Origin": "https://grafana.example.vn", "Access-Control-Request-Method": "GET"})
        assert ok.headers["access-control-allow-origin"] == "https://grafana.example.vn"
        other = api.client.options("/api/v1/devices", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in other.headers


def test_a_bad_origin_in_the_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        demo_like_config(tmp_path, api={"cors_origins": ["grafana.example.vn/x"]})


def test_an_admin_cannot_revoke_the_token_it_uses(api: Api) -> None:
    own = api.tokens["admin"].split("_", 2)[1]  # tw_<key>_<secret>
    response = api.client.delete(f"/api/v1/tokens/{own}", headers=api.auth("admin"))
    assert response.status_code == 409
    assert "the token the request uses" in response.json()["message"]
    assert api.client.get("/api/v1/tokens", headers=api.auth("admin")).status_code == 200


def test_before_the_store_opens_a_request_without_a_token_is_still_401(api: Api) -> None:
    """No token, no cookie: refused for that, whatever the store; a token needs the store
    to be checked, so it waits (503)."""
    store, api.service.store = api.service.store, None
    try:
        assert api.client.get("/api/v1/devices").status_code == 401
        assert api.client.post("/api/v1/maintenance", json=MAINTENANCE).status_code == 401
        assert api.client.get("/api/v1/devices", headers=api.auth("viewer")).status_code == 503
    finally:
        api.service.store = store


def test_a_dependency_for_an_unknown_role_is_refused_when_routes_are_defined() -> None:
    from api.security import require

    with pytest.raises(ValueError, match="root"):
        require("root")
    assert callable(require("admin"))
