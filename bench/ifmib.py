"""One IF-MIB walk, written for both peers: snmp_exporter's `if_mib` module and a tierwatch
profile, generated from the same column list so both read exactly the same objects.

The column list mirrors the `if_mib` module of snmp_exporter 0.21's generated snmp.yml (walk
`interfaces` and `ifXTable`, get sysUpTime; ifDescr, ifName and ifAlias as label lookups on
every interface series; ifType as EnumAsInfo; ifPhysAddress as PhysAddress48). Debian
ships no snmp.yml (its README.Debian says why), so the bench writes this one.

tierwatch's profile asks for the same varbinds: every column of ifTable and ifXTable as a
walked column, sysUpTime and ifNumber by GET (snmp_exporter gets ifNumber inside its walk
of `interfaces`). ifPhysAddress becomes a row label (tierwatch has no per-row info
series), ifSpecific (an OID) is walked but gives no sample, and the interface table keeps
if-mib's status rule (admin up and oper down -> the port failed): work snmp_exporter does
not do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3"
IF_NUMBER = "1.3.6.1.2.1.2.1"

# (snmp_exporter name, tierwatch name, OID, kind) for every column. kind: counter, gauge,
# label (a lookup / row label), enum_info (ifType), phys (ifPhysAddress), oid (ifSpecific).
COLUMNS: list[tuple[str, str, str, str]] = [
    ("ifIndex", "if_index", f"{IF_ENTRY}.1", "gauge"),
    ("ifDescr", "if_descr", f"{IF_ENTRY}.2", "label"),
    ("ifType", "if_type", f"{IF_ENTRY}.3", "enum_info"),
    ("ifMtu", "if_mtu_bytes", f"{IF_ENTRY}.4", "gauge"),
    ("ifSpeed", "if_speed_bits_per_second", f"{IF_ENTRY}.5", "gauge"),
    ("ifPhysAddress", "if_phys_address", f"{IF_ENTRY}.6", "phys"),
    ("ifAdminStatus", "if_admin_status", f"{IF_ENTRY}.7", "gauge"),
    ("ifOperStatus", "if_oper_status", f"{IF_ENTRY}.8", "gauge"),
    ("ifLastChange", "if_last_change_ticks", f"{IF_ENTRY}.9", "gauge"),
    ("ifInOctets", "if_in_octets_total", f"{IF_ENTRY}.10", "counter"),
    ("ifInUcastPkts", "if_in_ucast_pkts_total", f"{IF_ENTRY}.11", "counter"),
    ("ifInNUcastPkts", "if_in_nucast_pkts_total", f"{IF_ENTRY}.12", "counter"),
    ("ifInDiscards", "if_in_discards_total", f"{IF_ENTRY}.13", "counter"),
    ("ifInErrors", "if_in_errors_total", f"{IF_ENTRY}.14", "counter"),
    ("ifInUnknownProtos", "if_in_unknown_protos_total", f"{IF_ENTRY}.15", "counter"),
    ("ifOutOctets", "if_out_octets_total", f"{IF_ENTRY}.16", "counter"),
    ("ifOutUcastPkts", "if_out_ucast_pkts_total", f"{IF_ENTRY}.17", "counter"),
    ("ifOutNUcastPkts", "if_out_nucast_pkts_total", f"{IF_ENTRY}.18", "counter"),
    ("ifOutDiscards", "if_out_discards_total", f"{IF_ENTRY}.19", "counter"),
    ("ifOutErrors", "if_out_errors_total", f"{IF_ENTRY}.20", "counter"),
    ("ifOutQLen", "if_out_qlen", f"{IF_ENTRY}.21", "gauge"),
    ("ifSpecific", "if_specific", f"{IF_ENTRY}.22", "oid"),
    ("ifName", "if_name", f"{IFX_ENTRY}.1", "label"),
    ("ifInMulticastPkts", "if_in_multicast_pkts_total", f"{IFX_ENTRY}.2", "counter"),
    ("ifInBroadcastPkts", "if_in_broadcast_pkts_total", f"{IFX_ENTRY}.3", "counter"),
    ("ifOutMulticastPkts", "if_out_multicast_pkts_total", f"{IFX_ENTRY}.4", "counter"),
    ("ifOutBroadcastPkts", "if_out_broadcast_pkts_total", f"{IFX_ENTRY}.5", "counter"),
    ("ifHCInOctets", "if_hc_in_octets_total", f"{IFX_ENTRY}.6", "counter"),
    ("ifHCInUcastPkts", "if_hc_in_ucast_pkts_total", f"{IFX_ENTRY}.7", "counter"),
    ("ifHCInMulticastPkts", "if_hc_in_multicast_pkts_total", f"{IFX_ENTRY}.8", "counter"),
    ("ifHCInBroadcastPkts", "if_hc_in_broadcast_pkts_total", f"{IFX_ENTRY}.9", "counter"),
    ("ifHCOutOctets", "if_hc_out_octets_total", f"{IFX_ENTRY}.10", "counter"),
    ("ifHCOutUcastPkts", "if_hc_out_ucast_pkts_total", f"{IFX_ENTRY}.11", "counter"),
    ("ifHCOutMulticastPkts", "if_hc_out_multicast_pkts_total", f"{IFX_ENTRY}.12", "counter"),
    ("ifHCOutBroadcastPkts", "if_hc_out_broadcast_pkts_total", f"{IFX_ENTRY}.13", "counter"),
    ("ifLinkUpDownTrapEnable", "if_link_up_down_trap_enable", f"{IFX_ENTRY}.14", "gauge"),
    ("ifHighSpeed", "if_high_speed_mbps", f"{IFX_ENTRY}.15", "gauge"),
    ("ifPromiscuousMode", "if_promiscuous_mode", f"{IFX_ENTRY}.16", "gauge"),
    ("ifConnectorPresent", "if_connector_present", f"{IFX_ENTRY}.17", "gauge"),
    ("ifAlias", "if_alias", f"{IFX_ENTRY}.18", "label"),
    ("ifCounterDiscontinuityTime", "if_counter_discontinuity_ticks", f"{IFX_ENTRY}.19", "gauge"),
]

ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
               7: "lowerLayerDown"}
IF_TYPE = {1: "other", 6: "ethernetCsmacd", 24: "softwareLoopback", 53: "propVirtual",
           131: "tunnel", 135: "l2vlan", 161: "ieee8023adLag"}
PROFILE_NAME = "bench-if-mib"


# --------------------------------------------------------------------------- snmp_exporter


def _lookups() -> list[dict[str, Any]]:
    return [{"labels": ["ifIndex"], "labelname": name, "oid": oid, "type": "DisplayString"}
            for name, _, oid, kind in sorted(COLUMNS, key=lambda c: c[0]) if kind == "label"]


def snmp_exporter_config(community: str, user: Any) -> dict[str, Any]:
    """snmp_exporter 0.21's config: module `if_mib` (v2c) and `if_mib_v3` (authPriv)."""
    metrics: list[dict[str, Any]] = [
        {"name": "sysUpTime", "oid": SYS_UPTIME, "type": "gauge",
         "help": "Time since the agent started (hundredths of a second)"},
        {"name": "ifNumber", "oid": IF_NUMBER, "type": "gauge", "help": "Interfaces"},
    ]
    for name, _, oid, kind in COLUMNS:
        if kind == "label":
            continue
        metric: dict[str, Any] = {
            "name": name, "oid": oid,
            "type": {"enum_info": "EnumAsInfo", "phys": "PhysAddress48",
                     "oid": "OctetString"}.get(kind, kind),
            "help": f"{name} - {oid}",
            "indexes": [{"labelname": "ifIndex", "type": "gauge"}],
            "lookups": _lookups(),
        }
        if kind == "enum_info":
            metric["enum_values"] = IF_TYPE
        elif name == "ifAdminStatus":
            metric["enum_values"] = ADMIN_STATUS
        elif name == "ifOperStatus":
            metric["enum_values"] = OPER_STATUS
        metrics.append(metric)
    module = {"walk": ["1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"], "get": [f"{SYS_UPTIME}.0"],
              "metrics": metrics, "max_repetitions": 25, "retries": 1, "timeout": "2s"}
    v2c = {**module, "version": 2, "auth": {"community": community}}
    v3 = {**module, "version": 3, "auth": {
        "username": user.name, "security_level": "authPriv", "password": user.auth_password,
        "auth_protocol": user.auth, "priv_protocol": user.priv,
        "priv_password": user.priv_password}}
    return {"if_mib": v2c, "if_mib_v3": v3}


# --------------------------------------------------------------------------- tierwatch


def tierwatch_profile() -> dict[str, Any]:
    labels: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for name, tw_name, oid, kind in COLUMNS:
        if kind == "label":
            labels.append({"label": tw_name, "oid": oid})
        elif kind == "phys":
            labels.append({"label": tw_name, "oid": oid, "format": "hex"})
        else:
            metric: dict[str, Any] = {"name": tw_name, "oid": oid, "help": f"{name} ({oid})"}
            if kind == "counter":
                metric["type"] = "counter"
            if name == "ifAdminStatus":
                metric["enum"] = ADMIN_STATUS
            elif name == "ifOperStatus":
                metric["enum"] = OPER_STATUS
            metrics.append(metric)
    return {
        "name": PROFILE_NAME,
        "description": "The bench's IF-MIB walk: every ifTable and ifXTable column",
        "scalars": [
            {"name": "snmp_uptime_seconds", "oid": f"{SYS_UPTIME}.0", "scale": 0.01,
             "role": "uptime", "help": "Time since the agent started (sysUpTime)"},
            {"name": "if_number", "oid": f"{IF_NUMBER}.0", "help": "Interfaces (ifNumber)"},
        ],
        "tables": [{
            "name": "interfaces",
            "index": [{"label": "if_index"}],
            "labels": labels,
            "metrics": metrics,
            "component": "port {if_name}",
            "rollup": False,
            "status": [{
                "when": {"all": [{"metric": "if_admin_status", "in": ["up"]},
                                 {"metric": "if_oper_status",
                                  "in": ["down", "lowerLayerDown", "notPresent"]}]},
                "status": "failed", "condition": "link_down",
                "reason": "port {if_name} is down (admin up)",
            }],
        }],
    }


def write_files(directory: Path, community: str, user: Any) -> tuple[Path, Path]:
    """Write snmp.yml and profiles/bench-if-mib.yaml; return (snmp.yml, profile dir)."""
    profiles = directory / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    header = "# Written by bench/ifmib.py for one bench run.\n"
    (profiles / f"{PROFILE_NAME}.yaml").write_text(
        header + yaml.safe_dump(tierwatch_profile(), sort_keys=False))
    snmp_yml = directory / "snmp.yml"
    snmp_yml.write_text(header + yaml.safe_dump(snmp_exporter_config(community, user),
                                                sort_keys=False))
    return snmp_yml, profiles
