"""What the API reads and acts through: handed to `create_app` by the wiring, never the
Service itself. The store opens when the service starts, after the app exists: read it
through `store()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alerts.component import AlertsComponent
from collector.directory import DeviceDirectory
from collector.discovery.component import Discovery
from exporters.prometheus import MetricsExporter
from livetier.engine import LiveTier
from nethealth.component import NetHealth
from nethealth.shared import SharedVerdicts
from power.component import PowerComponent
from report.config import Mailer, ReportSettings
from services.component import ServicesComponent
from tierwatch.config import Config
from tierwatch.core.ha import Leadership
from tierwatch.core.state import State
from tierwatch.core.store import Store


@dataclass(frozen=True)
class ApiContext:
    config: Config
    state: State
    exporter: MetricsExporter
    devices: DeviceDirectory
    reports: ReportSettings
    store: Callable[[], Store | None]
    ready: Callable[[], bool]
    live: LiveTier | None = None  # the live Tier engine, where this instance runs it
    alerts: AlertsComponent | None = None  # the built-in alert engine, when it runs
    mailer: Mailer | None = None  # for reports e-mailed on demand
    services: ServicesComponent | None = None  # the e-government service checks
    # the LLDP checks: the network health room where it runs, else (the tier instance of a
    # sharded site) the shards' verdicts read from the store
    network: NetHealth | SharedVerdicts | None = None
    power: PowerComponent | None = None  # fuel, PUE, feed headroom, forecast (power:)
    discovery: Discovery | None = None  # sweeps (POST /api/v1/discover), where this polls
    ha: Leadership | None = None  # this member's part in an active/standby pair, if any
