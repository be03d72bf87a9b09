"""Delivery: what a notification looks like on the wire, and the three ways it leaves.

* Alertmanager, v2 API (`POST /api/v2/alerts`), when the site runs one: Alertmanager routes,
  groups, repeats and silences. Posting the same label set again is idempotent there, so
  firing alerts are simply re-sent while they fire.
* A webhook: JSON in Alertmanager's webhook shape (version 4), so whatever already reads
  Alertmanager's webhooks (chat bridges, ticketing) reads tierwatch's. Every request carries
  an `Idempotency-Key` header, the same on every retry of one notification.
* E-mail over SMTP (STARTTLS or TLS, with authentication), English then Vietnamese.

Payloads are built when a notification is queued and stored as they are sent, so a retry
after a restart sends exactly the message that was queued.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from alerts.config import AlertmanagerConfig, SmtpConfig, WebhookConfig
from alerts.engine import Alert, Notice
from alerts.matchers import Matcher
from tierwatch.core.configtypes import reveal

ZERO_TIME = "0001-01-01T00:00:00Z"  # what Alertmanager writes for "no end yet"


class DeliveryError(Exception):
    """A notification was not accepted. `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def iso(ts: float | None) -> str:
    if ts is None:
        return ZERO_TIME
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _http_error(exc: Exception, what: str) -> DeliveryError:
    return DeliveryError(f"{what}: {type(exc).__name__}: {exc}".rstrip(": "), retry=True)


def _check_status(response: httpx.Response, what: str) -> None:
    if response.status_code < 300:
        return
    body = response.text[:200].strip()
    # 4xx (but timeouts and rate limits) will fail again the same way: not retried
    retry = response.status_code >= 500 or response.status_code in (408, 425, 429)
    raise DeliveryError(f"{what}: HTTP {response.status_code} {body}".strip(), retry=retry)


# --------------------------------------------------------------------------- payloads


def alert_labels(alert: Alert, notice: Notice) -> dict[str, str]:
    labels = dict(alert.labels)
    if notice in (Notice.ESCALATION, Notice.ESCALATION_RESOLVED):
        labels["escalated"] = "true"
    return labels


def alertmanager_alert(alert: Alert, notice: Notice, external_url: str) -> dict[str, Any]:
    """One alert for POST /api/v2/alerts. A firing alert's endsAt is filled in when sent."""
    resolved = notice in (Notice.RESOLVED, Notice.ESCALATION_RESOLVED)
    return {
        "labels": alert_labels(alert, notice),
        "annotations": dict(alert.annotations),
        "startsAt": iso(alert.fired_at or alert.active_since),
        "endsAt": iso(alert.resolved_at) if resolved else None,
        "generatorURL": external_url,
    }


def webhook_message(alert: Alert, notice: Notice, receiver: str, external_url: str
                    ) -> dict[str, Any]:
    """Alertmanager's webhook message (version 4) for one alert."""
    resolved = notice in (Notice.RESOLVED, Notice.ESCALATION_RESOLVED)
    status = "resolved" if resolved else "firing"
    labels = alert_labels(alert, notice)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alert.name}", fingerprint="{alert.fingerprint}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {"alertname": alert.name},
        "commonLabels": labels,
        "commonAnnotations": dict(alert.annotations),
        "externalURL": external_url,
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": dict(alert.annotations),
            "startsAt": iso(alert.fired_at or alert.active_since),
            "endsAt": iso(alert.resolved_at) if resolved else ZERO_TIME,
            "generatorURL": external_url,
            "fingerprint": alert.fingerprint,
        }],
    }


_SUBJECT_TAG = {
    Notice.FIRING: "FIRING", Notice.REPEAT: "FIRING", Notice.ESCALATION: "ESCALATED",
    Notice.RESOLVED: "RESOLVED", Notice.ESCALATION_RESOLVED: "RESOLVED",
}
_VI_STATE = {
    Notice.FIRING: "ĐANG CẢNH BÁO", Notice.REPEAT: "VẪN CẢNH BÁO",
    Notice.ESCALATION: "CHUYỂN CẤP (chưa ai xác nhận)", Notice.RESOLVED: "ĐÃ HẾT",
    Notice.ESCALATION_RESOLVED: "ĐÃ HẾT",
}


def email_message(alert: Alert, notice: Notice, to: Sequence[str], tz: str,
                  external_url: str) -> dict[str, Any]:
    """Subject, text body and recipients of an e-mail (English first, then Vietnamese)."""
    zone = ZoneInfo(tz)

    def local(ts: float | None) -> str:
        if ts is None:
            return "-"
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    a = alert.annotations
    severity = alert.severity or "-"
    tag = _SUBJECT_TAG[notice]
    subject = f"[{tag}:{severity}] {alert.name}: {a.get('summary', '')}".strip()
    lines = [
        f"{tag}: {a.get('summary', alert.name)}",
        f"Runbook: {a.get('runbook', '-')}",
        f"Since: {local(alert.fired_at or alert.active_since)}",
    ]
    if notice in (Notice.RESOLVED, Notice.ESCALATION_RESOLVED):
        lines.append(f"Resolved: {local(alert.resolved_at)}")
    if notice == Notice.ESCALATION:
        lines.append("Nobody has acknowledged this alert: it is escalated to you.")
    lines += [
        "",
        f"{_VI_STATE[notice]}: {a.get('summary_vi', a.get('summary', alert.name))}",
        f"Hướng xử lý: {a.get('runbook_vi', a.get('runbook', '-'))}",
        f"Từ lúc: {local(alert.fired_at or alert.active_since)}",
    ]
    if notice in (Notice.RESOLVED, Notice.ESCALATION_RESOLVED):
        lines.append(f"Kết thúc: {local(alert.resolved_at)}")
    if notice == Notice.ESCALATION:
        lines.append("Chưa ai xác nhận cảnh báo này nên nó được chuyển lên cho anh/chị.")
    lines += ["", "Labels:"]
    lines += [f"  {k}={v}" for k, v in sorted(alert.labels.items())]
    lines += [f"Fingerprint: {alert.fingerprint}"]
    if external_url:
        lines.append(external_url)
    lines.append("Acknowledge / xác nhận: tierwatch alerts ack "
                 f"{alert.id if alert.id is not None else alert.fingerprint} --by <name>")
    return {"to": list(to), "subject": subject, "body": "\n".join(lines) + "\n"}


# --------------------------------------------------------------------------- senders


class AlertmanagerClient:
    """The parts of Alertmanager's v2 API tierwatch uses: alerts and silences."""

    def __init__(self, config: AlertmanagerConfig,
                 client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.url = config.url
        self._client = client or httpx.AsyncClient(timeout=config.timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def post_alerts(self, alerts: Sequence[Mapping[str, Any]], now: float) -> None:
        hold = 4 * self.config.resend_every  # Alertmanager resolves it if we fall silent
        body = []
        for item in alerts:
            alert = dict(item)
            if alert.get("endsAt") is None:
                alert["endsAt"] = iso(now + hold)
            body.append(alert)
        try:
            response = await self._client.post(f"{self.url}/api/v2/alerts", json=body)
        except httpx.HTTPError as exc:
            raise _http_error(exc, "alertmanager") from None
        _check_status(response, "alertmanager")

    async def create_silence(self, matchers: Sequence[Matcher], starts: float, ends: float,
                             created_by: str, comment: str) -> str:
        body = {"matchers": [m.to_alertmanager() for m in matchers], "startsAt": iso(starts),
                "endsAt": iso(ends), "createdBy": created_by or "tierwatch",
                "comment": comment or "tierwatch"}
        try:
            response = await self._client.post(f"{self.url}/api/v2/silences", json=body)
        except httpx.HTTPError as exc:
            raise _http_error(exc, "alertmanager silence") from None
        _check_status(response, "alertmanager silence")
        return str(response.json()["silenceID"])

    async def expire_silence(self, silence_id: str) -> None:
        try:
            response = await self._client.delete(f"{self.url}/api/v2/silence/{silence_id}")
        except httpx.HTTPError as exc:
            raise _http_error(exc, "alertmanager silence") from None
        if response.status_code == 404:
            return  # gone already (expired, or Alertmanager lost its state)
        _check_status(response, "alertmanager silence")


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient()

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, config: WebhookConfig, payload: Mapping[str, Any], key: str) -> None:
        headers = {name: reveal(value) for name, value in config.headers.items()}
        headers["Idempotency-Key"] = key
        try:
            response = await self._client.post(config.url, json=payload, headers=headers,
                                               timeout=config.timeout)
        except httpx.HTTPError as exc:
            raise _http_error(exc, "webhook") from None
        _check_status(response, "webhook")


class EmailSender:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: Mapping[str, Any], key: str) -> None:
        await asyncio.to_thread(self._send, message, key)

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.ca_file is not None:
            context.load_verify_locations(cafile=str(self.config.ca_file))
        return context

    def _send(self, message: Mapping[str, Any], key: str) -> None:
        c = self.config
        mail = EmailMessage()
        mail["From"] = c.from_
        mail["To"] = ", ".join(message["to"])
        mail["Subject"] = message["subject"]
        mail["Date"] = formatdate(localtime=False)
        domain = c.from_.rpartition("@")[2] or "tierwatch"
        # the same Message-ID on every retry: mail systems can drop the repeat
        mail["Message-ID"] = make_msgid(idstring=key, domain=domain)
        mail["X-Tierwatch-Key"] = key
        mail.set_content(message["body"], charset="utf-8")
        # (filename, "type/subtype", bytes): the monthly report sends its PDFs this way
        for filename, media, data in message.get("attachments", ()):
            maintype, _, subtype = media.partition(";")[0].partition("/")
            if maintype == "text":  # declared UTF-8, or mail readers guess (and garble Vietnamese)
                mail.add_attachment(data.decode("utf-8"), subtype=subtype, charset="utf-8",
                                    filename=filename)
            else:
                mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        try:
            if c.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                smtp.ehlo()
                if c.tls == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if c.username is not None:
                    smtp.login(c.username, reveal(c.password))
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"smtp: authentication refused ({exc.smtp_code})",
                                retry=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"smtp: recipients refused: {', '.join(exc.recipients)}",
                                retry=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}",
                                retry=exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None
