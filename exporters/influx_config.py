"""The `influx:` section of tierwatch.yaml: long-term history in InfluxDB (line protocol).

    influx:
      url: https://influxdb.example:8086   # absent: the exporter is off
      org: city-dc
      bucket: tierwatch
      token: ${INFLUX_TOKEN}               # an ${ENV} reference; never printed
      batch_size: 5000                     # points per write request
      flush_interval: 10s                  # a batch goes out at least this often
      timeout: 10s                         # one write request
      gzip: true
      tags: {site: cantho-dc}              # put on every point
      string_fields: true                  # false for VictoriaMetrics (stores strings as 0)
      write: {samples: true, statuses: true, tier: true}
      buffer:
        path: /var/lib/tierwatch/influx-buffer.sqlite
        max_size: 256MB                    # beyond it the oldest batches are dropped, counted
      retry: {initial: 1s, max: 5m}        # backoff while the database is unreachable

The config model imports nothing of influxdb-client: a config without `influx:` loads on
an install without the `influx` extra.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from tierwatch.core.configtypes import ENV_REF, ByteSize, Duration, Labels, Strict


class InfluxWrite(Strict):
    samples: bool = True  # every polled sample: measurement = metric name, field `value`
    statuses: bool = True  # component status changes: `tierwatch_component_status`
    tier: bool = True  # tier snapshots: `tierwatch_tier`, `tierwatch_readiness` ...


class InfluxBuffer(Strict):
    # a relative path is taken from the working directory (systemd: StateDirectory)
    path: Path = Path("tierwatch-influx-buffer.sqlite")
    max_size: ByteSize = 256 * 1024 * 1024


class InfluxRetry(Strict):
    initial: Duration = 1.0
    max: Duration = 300.0

    @model_validator(mode="after")
    def _order(self) -> InfluxRetry:
        if self.max < self.initial:
            raise ValueError("retry.max must be at least retry.initial")
        return self


class InfluxConfig(Strict):
    url: str | None = None
    org: str = ""
    bucket: str = ""
    token: SecretStr | None = None
    batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    flush_interval: Duration = 10.0
    timeout: Duration = 10.0
    gzip: bool = True
    tags: Labels = Field(default_factory=dict)
    string_fields: bool = True
    write: InfluxWrite = InfluxWrite()
    buffer: InfluxBuffer = InfluxBuffer()
    retry: InfluxRetry = InfluxRetry()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r}: the InfluxDB url is http(s)://HOST[:PORT]")
        if parts.username or parts.password:
            raise ValueError("credentials do not go in the url (use token)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _needs_org_and_bucket(self) -> InfluxConfig:
        if self.url is not None:
            missing = [k for k in ("org", "bucket") if not getattr(self, k)]
            if missing:
                raise ValueError(f"{' and '.join(missing)} must be set with url")
        return self

    @property
    def enabled(self) -> bool:
        return self.url is not None


def check_influx(config: Any) -> list[tuple[str, str]]:
    """Cross-checks of the influx section: its token's variable is set."""
    section: InfluxConfig = config.influx
    problems: list[tuple[str, str]] = []
    if section.enabled and section.token is not None:
        ref = ENV_REF.match(section.token.get_secret_value())
        if ref and ref.group(1) not in os.environ:
            problems.append(("influx.token", f"environment variable {ref.group(1)} is not set"))
    return problems


def influx_secret_warnings(config: Any) -> list[tuple[str, str]]:
    section: InfluxConfig = config.influx
    out: list[tuple[str, str]] = []
    token = section.token
    if not section.enabled or token is None:
        return out
    if not ENV_REF.match(token.get_secret_value()):
        out.append(("influx.token", "secret written literally in the file; prefer ${ENV_VAR}"))
    if section.url is not None and section.url.startswith("http://") and not _loopback(
            section.url):
        out.append(("influx.token", "sent over plain http, the token crosses the network in "
                                    "clear (use https)"))
    return out


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")
