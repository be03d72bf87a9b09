"""The `nethealth:` section of tierwatch.yaml: link load, errors and LLDP (docs/network-health.md).

    nethealth:
      max_gap: 10m          # the longest interval between two polls a rate is taken over
      thresholds:           # per interface or per site; the alert rules' defaults elsewhere
        - {labels: {district: ninh-kieu}, utilisation: 0.7}
        - {device: core-1, if_name: Gi1/0/15, utilisation: 0.6, errors_per_second: 0.5}
      lldp:
        names:              # the names a device goes by in its neighbours' LLDP (sysName,
          core-1: [core-1.cantho.gov.vn]   # chassis id); its own LLDP answer and its id count too

Which links to check comes from the topology: a `fed_from` entry with a `port` is checked on
the feeder's device (tier/topology.py `port_bindings`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field, field_validator, model_validator

from tierwatch.core.configtypes import Duration, Strict, check_label_names

THRESHOLD_KEYS = ("utilisation", "errors_per_second", "discards_per_second")


class ThresholdOverride(Strict):
    """Thresholds for the interfaces this entry selects: every interface of `device` (and
    `if_name`, when given), or of every device whose config labels include `labels`. Where
    several entries select an interface, the last one to set a threshold wins."""

    device: str | None = None
    if_name: str | None = Field(default=None, min_length=1, max_length=255)
    labels: dict[str, str] = Field(default_factory=dict)
    utilisation: float | None = Field(default=None, gt=0.0, le=10.0)
    errors_per_second: float | None = Field(default=None, ge=0.0)
    discards_per_second: float | None = Field(default=None, ge=0.0)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_label_names(value)

    @model_validator(mode="after")
    def _selects_and_sets(self) -> ThresholdOverride:
        if self.device is None and not self.labels and self.if_name is None:
            raise ValueError("select interfaces with device, if_name or labels")
        if all(getattr(self, key) is None for key in THRESHOLD_KEYS):
            raise ValueError(f"set at least one of {', '.join(THRESHOLD_KEYS)}")
        return self

    def selects(self, labels: Mapping[str, str]) -> bool:
        if self.device is not None and labels.get("device") != self.device:
            return False
        if self.if_name is not None and labels.get("if_name") != self.if_name:
            return False
        return all(labels.get(k) == v for k, v in self.labels.items())


class LldpConfig(Strict):
    # device id -> the names its neighbours' LLDP may report it by (sysName, chassis id)
    names: dict[str, list[str]] = Field(default_factory=dict)
    # neighbours kept per device (each poll's rows beyond it are refused and counted)
    max_neighbours: int = Field(default=1024, ge=1, le=100000)


class NetHealthConfig(Strict):
    enabled: bool = True
    max_gap: Duration = 600.0
    thresholds: list[ThresholdOverride] = Field(default_factory=list)
    lldp: LldpConfig = LldpConfig()

    def thresholds_for(self, labels: Mapping[str, str]) -> dict[str, float]:
        """The thresholds the entries set for an interface with these labels."""
        found: dict[str, float] = {}
        for entry in self.thresholds:
            if entry.selects(labels):
                for key in THRESHOLD_KEYS:
                    value = getattr(entry, key)
                    if value is not None:
                        found[key] = value
        return found


def check_nethealth(config: NetHealthConfig, device_ids: set[str]) -> list[tuple[str, str]]:
    """References to devices that are not configured."""
    problems = []
    for i, entry in enumerate(config.thresholds):
        if entry.device is not None and entry.device not in device_ids:
            problems.append((f"nethealth.thresholds[{i}].device",
                             f"unknown device {entry.device!r}"))
    for device in config.lldp.names:
        if device not in device_ids:
            problems.append((f"nethealth.lldp.names.{device}", f"unknown device {device!r}"))
    return problems
