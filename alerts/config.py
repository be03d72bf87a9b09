"""The `alerts:` section of tierwatch.yaml: rules, receivers, escalation.

    alerts:
      evaluate_every: 5s
      alertmanager: {url: "http://127.0.0.1:9093"}     # when a site runs one; else:
      receivers:
        - {name: oncall, webhook: {url: "https://chat.example/hook"},
           email: {to: [truc-ca@example.vn]}}
        - {name: duty-manager, email: {to: [truong-ca@example.vn]}}
      receiver: oncall                                  # default receiver
      routes: [{matchers: ['subsystem="network"'], receiver: netops}]
      escalation: {after: 15m, receiver: duty-manager}  # unacknowledged critical alerts
      smtp: {host: mail.example.vn, port: 587, username: tierwatch,
             password: "${SMTP_PASSWORD}", from: tierwatch@example.vn}

With `alertmanager` set, tierwatch sends its alerts there (Alertmanager routes, groups and
repeats them; tierwatch escalates with an `escalated="true"` copy and silences what is
acknowledged or under maintenance); without it, tierwatch delivers to the receivers itself.
Traps are the collector's (`traps:`, collector/traps/config.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from tierwatch.core.configtypes import Duration, Interval, Strict

SHIPPED_RULES_DIR = Path(__file__).resolve().parent / "rules"
# the shipped alerts (Prometheus format, also evaluated by Prometheus) and the inhibition
# rules (Alertmanager's format); alerts/rules.py loads both
SHIPPED_RULE_FILES = (SHIPPED_RULES_DIR / "tierwatch.rules.yml",
                      SHIPPED_RULES_DIR / "tierwatch.inhibit.yml")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class WebhookConfig(Strict):
    url: str
    timeout: Duration = 5.0
    # extra request headers (an Authorization token, ...): secrets, ${ENV} refs welcome
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value


class EmailConfig(Strict):
    to: list[str] = Field(min_length=1)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


class ReceiverConfig(Strict):
    name: str = Field(pattern=_NAME)
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None

    @model_validator(mode="after")
    def _something(self) -> ReceiverConfig:
        if self.webhook is None and self.email is None:
            raise ValueError("a receiver needs a webhook, an email, or both")
        return self


class SmtpConfig(Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded with STARTTLS (port 587); ssl: TLS from the start
    # (port 465); none: no TLS (only for a relay on the same host)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(alias="from")
    ca_file: Path | None = None  # trust this CA (a site's own) besides the system's
    timeout: Duration = 10.0

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


class RouteConfig(Strict):
    matchers: list[str] = Field(min_length=1)
    receiver: str


class EscalationConfig(Strict):
    after: Duration
    receiver: str
    severities: list[Literal["critical", "warning", "info"]] = Field(
        default_factory=lambda: ["critical"])  # type: ignore[arg-type]


class AlertmanagerConfig(Strict):
    url: str
    # firing alerts are re-sent this often (Alertmanager forgets an alert not re-sent)
    resend_every: Duration = 60.0
    timeout: Duration = 5.0
    # create silences for maintenance windows and acknowledgements
    silences: bool = True

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class DeliveryConfig(Strict):
    retry_initial: Duration = 2.0  # first retry after this, doubling each time
    retry_max: Duration = 300.0
    give_up_after: Duration = 86400.0  # then the notification is dead (counted, logged)
    keep_sent_for: Duration = 7 * 86400.0


class AlertsConfig(Strict):
    enabled: bool = True
    evaluate_every: Interval = 5.0
    # rule files the built-in engine evaluates (Prometheus format; Alertmanager's format for
    # inhibit_rules); relative paths are taken from the working directory
    rule_files: list[Path] = Field(default_factory=lambda: list(SHIPPED_RULE_FILES))
    external_url: str = ""  # the link notifications carry (the status page)
    alertmanager: AlertmanagerConfig | None = None
    receivers: list[ReceiverConfig] = Field(default_factory=list)
    receiver: str | None = None  # default receiver (the first one if not given)
    routes: list[RouteConfig] = Field(default_factory=list)
    repeat_every: Duration = 4 * 3600.0  # unacknowledged firing alerts re-notify this often
    escalation: EscalationConfig | None = None
    ack_for: Duration = 24 * 3600.0  # an acknowledgement lapses after this (re-notifies)
    smtp: SmtpConfig | None = None
    delivery: DeliveryConfig = DeliveryConfig()
    # device id -> subsystem (power, cooling, network) where the profiles do not tell
    device_subsystems: dict[str, str] = Field(default_factory=dict)

    def default_receiver(self) -> str | None:
        if self.receiver:
            return self.receiver
        return self.receivers[0].name if self.receivers else None

    def receiver_config(self, name: str) -> ReceiverConfig | None:
        return next((r for r in self.receivers if r.name == name), None)


def check_alerts(a: AlertsConfig, device_ids: Collection[str],
                 profile_dirs: Sequence[Path] = ()) -> list[tuple[str, str]]:
    """References within `alerts:` and to the devices, and the rule files' contents."""
    from alerts.matchers import Matcher, MatcherError
    from alerts.rules import RuleError, load_rule_files

    problems: list[tuple[str, str]] = []
    names = [r.name for r in a.receivers]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append((f"alerts.receivers[{i}].name", f"duplicate receiver {name!r}"))
    known = ", ".join(names) or "none defined"

    def receiver_ref(key: str, name: str) -> None:
        if name not in names:
            problems.append((key, f"unknown receiver {name!r} (known: {known})"))

    if a.receiver:
        receiver_ref("alerts.receiver", a.receiver)
    for i, route in enumerate(a.routes):
        receiver_ref(f"alerts.routes[{i}].receiver", route.receiver)
        for j, text in enumerate(route.matchers):
            try:
                Matcher.parse(text)
            except MatcherError as exc:
                problems.append((f"alerts.routes[{i}].matchers[{j}]", str(exc)))
    if a.escalation and a.alertmanager is None:  # with Alertmanager, its routes decide
        receiver_ref("alerts.escalation.receiver", a.escalation.receiver)
    if any(r.email for r in a.receivers) and a.smtp is None:
        problems.append(("alerts.smtp", "receivers with email need an smtp section"))
    for device_id in a.device_subsystems:
        if device_id not in device_ids:
            problems.append((f"alerts.device_subsystems.{device_id}",
                             f"unknown device {device_id!r}"))
    if a.enabled:
        try:
            load_rule_files(a.rule_files, profile_dirs)
        except RuleError as exc:
            for line in exc.problems:
                problems.append(("alerts.rule_files", line))
    return problems


def rule_file_warnings(a: AlertsConfig) -> list[tuple[str, str]]:
    """Rule files in the deprecated YAML condition language: loaded this release, named."""
    from alerts.rules import DEPRECATION, deprecated_rule_files

    if not a.enabled:
        return []
    return [("alerts.rule_files", f"{path}: {DEPRECATION}")
            for path in deprecated_rule_files(a.rule_files)]
