"""The `reports:` section of tierwatch.yaml: where monthly reports go and when they are made.

    reports:
      dir: reports                 # relative to the config file's directory
      schedule: true               # the 1st of each month at 06:00 site time, for the month before
      languages: [vi, en]
      formats: [pdf, html, json]   # pdf needs WeasyPrint (tierwatch[report])
      environment_devices: [env-1, env-2]   # whose sensors measure rack inlets (default:
                                            # devices that ever reported a temperature band)
      email: [giam-doc@example.vn]          # sent the month's files (PDF, else HTML) through
                                            # alerts.smtp when the scheduled report is made
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field

from tier.availability import MIN_COVERAGE
from tier.topology import TopologyConfig
from tierwatch.core.configtypes import SiteConfig, Strict
from tierwatch.core.store import Store

Language = Literal["vi", "en"]
Format = Literal["pdf", "html", "json"]


class ReportsConfig(Strict):
    dir: Path = Path("reports")
    schedule: bool = True
    languages: tuple[Language, ...] = Field(default=("vi", "en"), min_length=1)
    formats: tuple[Format, ...] = Field(default=("pdf", "html", "json"), min_length=1)
    environment_devices: tuple[str, ...] | None = None
    email: tuple[str, ...] = ()

    def directory(self, config_source: Path | None) -> Path:
        """The reports directory, a relative one taken from the config file's directory."""
        if self.dir.is_absolute() or config_source is None:
            return self.dir
        return config_source.parent / self.dir


def check_reports(reports: ReportsConfig, device_ids: set[str], smtp: object | None
                  ) -> list[tuple[str, str]]:
    problems = []
    if reports.email and smtp is None:
        problems.append(("reports.email", "e-mailing reports needs an alerts.smtp section"))
    for i, address in enumerate(reports.email):
        if "@" not in address.strip("@"):
            problems.append((f"reports.email[{i}]", f"{address!r} is not an e-mail address"))
    for i, device in enumerate(reports.environment_devices or ()):
        if device not in device_ids:
            problems.append((f"reports.environment_devices[{i}]", f"unknown device {device!r}"))
    return problems


class Mailer(Protocol):
    """Sends one e-mail (to, subject, body, attachments); `key` makes a retry idempotent."""

    def send(self, message: dict[str, Any], key: str) -> Awaitable[None]: ...


@dataclass(frozen=True)
class ReportSettings:
    """What the report room needs from the rest of the configuration, gathered once by the
    wiring: the site, its topology, the `reports:` section and where files go, the
    availability target, and each device's profiles (environment devices are found by
    their profile)."""

    site: SiteConfig
    topology: TopologyConfig
    reports: ReportsConfig
    directory: Path
    target: float
    min_coverage: float = MIN_COVERAGE  # below this share monitored, no verdict
    device_profiles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # the power chain's month (PUE, fuel, hidden SPOFs, forecast) and the one-line diagram:
    # functions the wiring hands over from the power room (None: no `power:` section)
    power: Callable[[Store, float, float], Mapping[str, Any]] | None = None
    diagram: Callable[[str], str | None] | None = None  # lang -> SVG
