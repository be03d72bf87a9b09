"""/metrics: the live state in the Prometheus text format.

Two parts, one response:

* the state's series: every device's samples and tierwatch's own per-device series (up,
  device and component status, poll self-metrics), by `StateRenderer`
  (exporters/state_exposition.py): text templates kept while a device's series stay the
  same, filled with the values on each scrape; a removed device's series vanish;
* whatever the rooms register on the runtime's `MetricsRegistry` (tier, traps, alerts, the
  SNMP engine ...): client_python custom collectors, which read their state afresh on every
  scrape.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from exporters.state_exposition import StateRenderer
from tierwatch.core.runtime import MetricsRegistry
from tierwatch.core.state import State
from tierwatch.core.version import __version__

__all__ = ["CONTENT_TYPE", "MetricsExporter"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def build_info() -> Metric:
    build = InfoMetricFamily("tierwatch_build", "tierwatch version")
    build.add_metric([], {"version": __version__})
    return build


class BuildCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield build_info()


class MetricsExporter:
    """What /metrics serves.

    The state's series (device samples and tierwatch's per-device self-metrics, the bulk of
    the answer) are rendered by `StateRenderer` (exporters/state_exposition.py). Everything
    registered on `metrics` goes through client_python's `generate_latest`.
    `device_series=False` leaves the state's series out (the tier instance of a sharded
    site: the shards serve them).
    """

    def __init__(self, state: State, metrics: MetricsRegistry | None = None,
                 device_series: bool = True) -> None:
        self.state = state
        self.device_series = device_series
        self.metrics = metrics if metrics is not None else MetricsRegistry()
        self.metrics.register(BuildCollector())
        self._devices = StateRenderer()

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def render_parts(self) -> list[bytes]:
        """The answer in parts, to be sent one after another: the state's series (tens of
        megabytes at a thousand devices, not worth a copy) and the registry's."""
        if not self.device_series:
            return [generate_latest(self.registry)]
        return [self._devices.render(self.state.devices), generate_latest(self.registry)]

    def render(self) -> bytes:
        return b"".join(self.render_parts())
