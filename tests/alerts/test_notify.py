"""Delivery over loopback: e-mail with STARTTLS and auth, the webhook, Alertmanager's API shape.
Which failures are retried and which are not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from alerts.config import AlertmanagerConfig, SmtpConfig, WebhookConfig
from alerts.engine import Alert, AlertState, Notice, fingerprint
from alerts.notify import (
    AlertmanagerClient,
    DeliveryError,
    EmailSender,
    WebhookSender,
    alertmanager_alert,
    email_message,
    webhook_message,
)
from tests.helpers.procs import free_port
from tests.helpers.smtp import smtp_server
from tests.helpers.webhook import webhook_receiver

LABELS = {"alertname": "UpsOnBattery", "device": "ups-a", "severity": "critical",
          "subsystem": "power"}
ALERT = Alert(fingerprint(LABELS), "UpsOnBattery", LABELS,
              {"summary": "ups-a is on battery", "summary_vi": "ups-a đang chạy bằng ắc quy",
               "runbook": "Check the generators.", "runbook_vi": "Kiểm tra máy phát."},
              AlertState.FIRING, 1.0, 1_800_000_000.0, fired_at=1_800_000_000.0, id=42)


def _smtp(port: int, ca: Path, password: str = "s3cret-pass") -> SmtpConfig:
    return SmtpConfig.model_validate({"host": "127.0.0.1", "port": port, "tls": "starttls",
                                      "username": "tierwatch", "password": password,
                                      "from": "tierwatch@example.vn", "ca_file": ca,
                                      "timeout": 5})


async def test_email_goes_out_over_starttls_with_auth_in_both_languages(tmp_path: Path) -> None:
    message = email_message(ALERT, Notice.FIRING, ["truc-ca@example.vn"], "Asia/Ho_Chi_Minh",
                            "http://tierwatch.example.vn/")
    with smtp_server(tmp_path) as smtp:
        await EmailSender(_smtp(smtp.port, smtp.ca_file)).send(message, "tierwatch-key-1")
        (mail,) = smtp.wait_for_messages(1, 5)
    assert mail.tls and mail.user == "tierwatch"
    assert mail.recipients == ["truc-ca@example.vn"]
    assert mail.subject == "[FIRING:critical] UpsOnBattery: ups-a is on battery"
    text = mail.text
    assert "FIRING: ups-a is on battery" in text and "Runbook: Check the generators." in text
    assert "ĐANG CẢNH BÁO: ups-a đang chạy bằng ắc quy" in text
    assert "Hướng xử lý: Kiểm tra máy phát." in text
    assert "2027-01-15 15:00:00" in text  # site time (UTC+7)
    assert "tierwatch alerts ack 42" in text
    assert "tierwatch-key-1" in mail.message["Message-ID"]


async def test_email_with_a_wrong_password_is_not_retried(tmp_path: Path) -> None:
    message = email_message(ALERT, Notice.FIRING, ["a@example.vn"], "UTC", "")
    with smtp_server(tmp_path) as smtp:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(_smtp(smtp.port, smtp.ca_file, "wrong")).send(message, "k")
        assert smtp.auth_failures >= 1 and smtp.messages == []
    assert caught.value.retry is False and "wrong" not in str(caught.value)


async def test_email_to_a_server_that_is_down_is_retried(tmp_path: Path) -> None:
    message = email_message(ALERT, Notice.FIRING, ["a@example.vn"], "UTC", "")
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(_smtp(free_port(), tmp_path / "none.pem")).send(message, "k")
    assert caught.value.retry is True


async def test_webhook_carries_alertmanager_s_shape_and_an_idempotency_key() -> None:
    payload = webhook_message(ALERT, Notice.FIRING, "oncall", "http://tw/")
    with webhook_receiver() as hook:
        config = WebhookConfig(url=hook.url, headers={"Authorization": SecretStr("Bearer t0k")})
        sender = WebhookSender()
        await sender.send(config, payload, "tierwatch-abc")
        await sender.close()
        (got,) = hook.received
    assert got.headers["Idempotency-Key"] == "tierwatch-abc"
    assert got.headers["Authorization"] == "Bearer t0k"
    body = got.body
    assert {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
            "commonLabels", "commonAnnotations", "externalURL", "alerts"} <= set(body)
    assert body["version"] == "4" and body["status"] == "firing"
    (alert,) = body["alerts"]
    assert alert["labels"] == LABELS and alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["fingerprint"] == ALERT.fingerprint


async def test_webhook_errors_say_whether_to_retry() -> None:
    payload = webhook_message(ALERT, Notice.FIRING, "oncall", "")
    sender = WebhookSender()
    with webhook_receiver() as hook:
        config = WebhookConfig(url=hook.url)
        hook.status = 503
        with pytest.raises(DeliveryError) as unavailable:
            await sender.send(config, payload, "k")
        hook.status = 400
        with pytest.raises(DeliveryError) as bad:
            await sender.send(config, payload, "k")
    with pytest.raises(DeliveryError) as down:
        await sender.send(WebhookConfig(url=f"http://127.0.0.1:{free_port()}/x"), payload, "k")
    await sender.close()
    assert (unavailable.value.retry, bad.value.retry, down.value.retry) == (True, False, True)


async def test_alertmanager_alert_gets_its_end_when_sent_not_when_queued() -> None:
    firing = alertmanager_alert(ALERT, Notice.FIRING, "")
    assert firing["endsAt"] is None  # queued without an end: filled in at send time
    with webhook_receiver() as fake_am:
        client = AlertmanagerClient(AlertmanagerConfig(url=fake_am.url, resend_every=60))
        sent_at = time.time()
        await client.post_alerts([firing], sent_at)
        await client.close()
        (got,) = fake_am.received
    assert got.path == "/hook/api/v2/alerts"
    (alert,) = got.body
    from datetime import datetime
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00")).timestamp()
    assert abs(ends - (sent_at + 240)) < 1
    resolved = alertmanager_alert(
        Alert(**{**ALERT.__dict__, "state": AlertState.RESOLVED, "resolved_at": 1.8e9 + 60}),
        Notice.RESOLVED, "")
    assert resolved["endsAt"] == "2027-01-15T08:01:00.000Z"
    escalated = alertmanager_alert(ALERT, Notice.ESCALATION, "")
    assert escalated["labels"] == {**LABELS, "escalated": "true"}
