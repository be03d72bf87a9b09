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

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from tierwatch.core.configtypes import IN_CLEAR, ByteSize, Duration, Labels, Strict, sent_in_clear


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


def influx_warnings(section: InfluxConfig) -> list[tuple[str, str]]:
    """A token that would cross the network in clear."""
    if section.enabled and section.token is not None and section.url is not None \
            and sent_in_clear(section.url):
        return [("influx.token", IN_CLEAR)]
    return []
