"""Every metric name tierwatch exposes, so a rule naming anything else is refused at load.

Three sources:

* device metrics, from the profiles (shipped ones and the config's profile_dirs): each
  scalar, table column and info metric a profile defines;
* tierwatch's own series (the state collector, the alerting and trap collectors);
* series other rooms publish (the live tier, probes), listed here with where they come
  from. An entry marked `pending` is documented but not exposed yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MetricInfo:
    name: str
    labels: frozenset[str]  # labels always present (device metrics also carry config labels)
    source: str  # profile:<name> | tierwatch | room:<room>
    pending: bool = False  # documented, but not exposed by main yet


def _m(name: str, labels: Iterable[str], source: str, pending: bool = False) -> MetricInfo:
    return MetricInfo(name, frozenset(labels), source, pending)


TIERWATCH_METRICS: tuple[MetricInfo, ...] = (
    # exporters/prometheus.py StateCollector
    _m("tierwatch_device_up", ["device"], "tierwatch"),
    _m("tierwatch_device_status", ["device", "status"], "tierwatch"),
    _m("tierwatch_component_status", ["device", "component", "status"], "tierwatch"),
    _m("tierwatch_poll_duration_seconds", ["device"], "tierwatch"),
    _m("tierwatch_device_last_poll_timestamp_seconds", ["device"], "tierwatch"),
    _m("tierwatch_polls_total", ["device"], "tierwatch"),
    _m("tierwatch_poll_errors_total", ["device", "reason"], "tierwatch"),
    _m("tierwatch_polls_skipped_total", ["device"], "tierwatch"),
    _m("tierwatch_varbinds_total", ["device"], "tierwatch"),
    _m("tierwatch_device_reboots_total", ["device"], "tierwatch"),
    _m("tierwatch_build_info", ["version"], "tierwatch"),
    # alerts/metrics.py
    _m("tierwatch_component_condition", ["device", "component", "condition"], "tierwatch"),
    _m("tierwatch_device_info", ["device", "name", "kind", "subsystem"], "tierwatch"),
    _m("tierwatch_alerts", ["alertname", "severity", "state"], "tierwatch"),
    _m("tierwatch_notifications_total", ["channel", "result"], "tierwatch"),
    _m("tierwatch_notification_queue", ["state"], "tierwatch"),
    _m("tierwatch_notification_oldest_pending_seconds", [], "tierwatch"),
    _m("tierwatch_alert_evaluations_total", ["result"], "tierwatch"),
    _m("tierwatch_alert_evaluation_duration_seconds", [], "tierwatch"),
    _m("tierwatch_maintenance_active", [], "tierwatch"),
    # collector/traps/component.py
    _m("tierwatch_traps_total", ["result"], "tierwatch"),
    _m("tierwatch_traps_dropped_total", ["reason"], "tierwatch"),
    _m("tierwatch_trap_informs_answered_total", [], "tierwatch"),
    _m("tierwatch_traps_held_down_total", [], "tierwatch"),
    _m("tierwatch_trap_store_errors_total", [], "tierwatch"),
    _m("tierwatch_trap_queue", [], "tierwatch"),
    _m("tierwatch_trap_sources_tracked", [], "tierwatch"),
    # the live tier (livetier/metrics.py): scoring of the topology, availability
    _m("tierwatch_tier", ["subsystem", "kind"], "tier"),
    _m("tierwatch_readiness_score", [], "tier"),
    _m("tierwatch_capacity_required_units", ["subsystem", "group"], "tier"),
    _m("tierwatch_capacity_spare_units", ["subsystem", "group"], "tier"),
    _m("tierwatch_load_paths", ["subsystem", "load", "mode"], "tier"),
    _m("tierwatch_load_served", ["subsystem", "load"], "tier"),
    _m("tierwatch_spof", ["subsystem", "node", "kind"], "tier"),
    _m("tierwatch_maintainability_failures", ["subsystem"], "tier"),
    _m("tierwatch_tier_unverified_link", ["subsystem", "from", "to"], "tier"),
    _m("tierwatch_availability_ratio", ["scope", "window"], "tier"),
    _m("tierwatch_downtime_budget_remaining_seconds", ["scope", "window"], "tier"),
    _m("tierwatch_tier_rescores_total", [], "tier"),
    # maintenance against redundancy (livetier/maintenance_guard.py)
    _m("tierwatch_maintenance_load_at_risk", ["window", "title", "load"], "tier"),
    _m("tierwatch_maintenance_tier_after", ["window"], "tier"),
    # the power room (power/): fuel, PUE, feed headroom, forecast
    _m("tierwatch_fuel_autonomy_hours", ["scope"], "power"),
    _m("tierwatch_fuel_liters", ["scope"], "power"),
    _m("tierwatch_pue", ["window", "category"], "power"),
    _m("tierwatch_facility_power_watts", [], "power"),
    _m("tierwatch_it_power_watts", [], "power"),
    _m("tierwatch_feed_headroom_amperes", ["rack", "survivor", "phase"], "power"),
    _m("tierwatch_feed_hidden_spof", ["rack"], "power"),
    _m("tierwatch_tier_score_duration_seconds", [], "tier"),
    _m("tierwatch_tier_snapshot_timestamp_seconds", [], "tier"),
    _m("tierwatch_tier_pending_nodes", [], "tier"),
    # exporters/prometheus.py: the native SNMP engine's datagrams
    _m("tierwatch_snmp_datagrams_sent_total", [], "tierwatch"),
    _m("tierwatch_snmp_datagrams_received_total", [], "tierwatch"),
    _m("tierwatch_snmp_send_errors_total", [], "tierwatch"),
    _m("tierwatch_snmp_dropped_total", ["reason"], "tierwatch"),
    # nethealth: interface rates derived from the counters (device series, nethealth/
    # traffic.py), thresholds set in nethealth.thresholds, the LLDP checks (nethealth/lldp.py)
    *(_m(n, ["device", "if_index", "direction"], "nethealth") for n in (
        "if_traffic_bytes_per_second", "if_utilisation_ratio", "if_errors_per_second",
        "if_discards_per_second")),
    *(_m(n, ["device", "if_index"], "nethealth") for n in (
        "if_utilisation_threshold_ratio", "if_errors_threshold_per_second",
        "if_discards_threshold_per_second")),
    _m("tierwatch_interface_rates_skipped_total", ["device", "reason"], "nethealth"),
    _m("tierwatch_interfaces_measured", ["device"], "nethealth"),
    _m("tierwatch_lldp_link_status", ["subsystem", "from", "to", "device", "port", "status"],
       "nethealth"),
    _m("tierwatch_lldp_unexpected_neighbours", ["device", "port"], "nethealth"),
    _m("tierwatch_lldp_neighbours", ["device"], "nethealth"),
    _m("tierwatch_lldp_refused_total", ["device", "reason"], "nethealth"),
    _m("tierwatch_lldp_store_errors_total", [], "nethealth"),
    _m("tierwatch_lldp_shared_reads_total", [], "nethealth"),  # the tier instance's reads
    _m("tierwatch_lldp_shared_read_errors_total", [], "nethealth"),
    # probes (collector/probes/component.py): links and agency sites, per check
    *(_m(n, ["device", "check", "method", "target"], "probes") for n in (
        "probe_success", "probe_rtt_seconds", "probe_rtt_mean_seconds",
        "probe_jitter_seconds", "probe_loss_ratio", "probe_window_attempts")),
    # e-government services (services/metrics.py)
    _m("tierwatch_service_up", ["service"], "services"),
    _m("tierwatch_service_at_risk", ["service"], "services"),
    _m("tierwatch_service_state", ["service", "state"], "services"),
    _m("tierwatch_service_target", ["service"], "services"),
    _m("tierwatch_service_availability", ["service", "window"], "services"),
    _m("tierwatch_agency_service_reachable", ["agency", "service"], "services"),
    _m("tierwatch_service_check_success", ["service", "check", "source"], "services"),
    _m("tierwatch_service_check_duration_seconds", ["service", "check", "source", "phase"],
       "services"),
    _m("tierwatch_service_check_status_code", ["service", "check", "source"], "services"),
    _m("tierwatch_service_certificate_expiry_timestamp_seconds",
       ["service", "check", "endpoint", "subject", "issuer"], "services"),
    _m("tierwatch_service_certificate_days_left", ["service", "check", "endpoint", "subject"],
       "services"),
    _m("tierwatch_service_certificate_valid", ["service", "check", "endpoint"], "services"),
    _m("tierwatch_service_checks_total", ["kind", "result"], "services"),
    _m("tierwatch_service_check_refused_total", ["kind", "reason"], "services"),
)


def profile_metrics(profile_dirs: Iterable[Path] = ()) -> dict[str, MetricInfo]:
    """Metric names the profiles define (device metrics), with their fixed labels."""
    from collector.profiles import known_profiles, load_profile_file

    found: dict[str, MetricInfo] = {}
    for name, path in known_profiles(profile_dirs).items():
        d = load_profile_file(path).definition
        source = f"profile:{name}"
        for metric in d.scalars:
            labels = {"device"} | ({"state"} if metric.enum_as == "state_set" else set())
            found.setdefault(metric.name, _m(metric.name, labels, source))
        for info in d.info:
            found.setdefault(info.name, _m(info.name, {"device", *info.labels}, source))
        for table in d.tables:
            row = {"device"} | {p.label for p in table.index} | {lab.label for lab in table.labels}
            for metric in table.metrics:
                labels = row | ({"state"} if metric.enum_as == "state_set" else set())
                labels |= set(metric.labels)
                # a name_by metric's rows are named per type (cisco_entity_sensor_dbm ...)
                names = metric.all_names() if metric.name_by else [metric.name]
                for name in names:
                    found.setdefault(name, _m(name, labels, source))
    return found


def agent_profile_metrics() -> dict[str, MetricInfo]:
    """host_* series the shipped agent profiles keep (collector/agents/profiles)."""
    import yaml

    from collector.agents.profiles import known_agent_profiles

    found: dict[str, MetricInfo] = {}
    for path in sorted(known_agent_profiles().values()):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("metrics", "derived"):
            for item in data.get(key) or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    found.setdefault(item["name"], _m(item["name"], ["device"],
                                                      f"agent-profile:{path.stem}"))
    return found


def known_metrics(profile_dirs: Iterable[Path] = (), include_pending: bool = True
                  ) -> dict[str, MetricInfo]:
    """Name -> MetricInfo for every metric a rule may name.

    A profile defining a name documented as pending makes it current (the room landed)."""
    out: dict[str, MetricInfo] = {}
    profiles = profile_metrics(profile_dirs)
    for info in TIERWATCH_METRICS:
        if info.pending and info.name in profiles:
            continue
        if info.pending and not include_pending:
            continue
        out[info.name] = info
    for name, info in profiles.items():
        out.setdefault(name, info)
    for name, info in agent_profile_metrics().items():
        out.setdefault(name, info)
    return out
