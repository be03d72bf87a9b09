"""Every shipped profile against a recorded walk, the way `tierwatch profile test` runs it
(collector.profiletest: the walk file read, the profiles resolved, one offline poll).

The walks under tests/fixtures/walks/ were recorded from real devices (snmpsim-data, see the
README there); each expected value below was read off the walk by hand and converted with
the unit the vendor's MIB gives (the comment beside it says from what). Faults are OIDs laid
over the walk, as the device would answer them in that state. The profiles tested in their
own modules on the simulator's walks are listed in ELSEWHERE; the last test fails when a
shipped profile is in neither place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collector.profiles import SHIPPED
from collector.profiletest import ProfileRun, resolve, run_profiles
from collector.walkfile import Walk, read_walk
from tests.helpers import FIXTURES_DIR

WALKS = FIXTURES_DIR / "walks"
S = tuple[str, tuple[tuple[str, str], ...]]  # (metric, labels)


def s(name: str, **labels: str) -> S:
    return name, tuple(sorted(labels.items()))


# profile -> (walk, {sample: value}, {component: (status, {conditions})}, samples that must
# be absent)
CASES: dict[str, tuple[str, dict[S, float], dict[str, tuple[str, set[str]]], list[S]]] = {
    "huawei-ups": ("huawei-ups5000e.snmprec", {
        s("ups_input_volts", ups_device="1", phase="A"): 234.7,   # hwUpsInputVoltageA 2347, 0.1 V
        s("ups_input_volts", ups_device="1", phase="B"): 238.0,   # 2380
        s("ups_input_frequency_hertz", ups_device="1"): 50.0,     # 5000, 0.01 Hz
        s("ups_output_current_amperes", ups_device="1", phase="C"): 29.8,  # 298, 0.1 A
        s("ups_output_frequency_hertz", ups_device="1"): 49.99,   # 4999
        s("ups_output_power_watts", ups_device="1", phase="C"): 6000.0,  # 60, 0.1 kW
        s("ups_output_load_ratio", ups_device="1", phase="C"): 0.481,    # 481, 0.1 %
        s("ups_battery_volts", ups_device="1"): 538.5,            # 5385, 0.1 V
        s("ups_battery_runtime_seconds", ups_device="1"): 28080,  # hwUpsBatteryBackupTime, s
        s("ups_battery_charge_ratio", ups_device="1"): 1.0,       # 100 %
        s("ups_output_source", ups_device="1", state="normal"): 1,  # hwUpsDevicePowerSupplyMethod 3
        s("ups_output_source", ups_device="1", state="battery"): 0,
        s("ups_info", model="UPS5000-E", firmware="V100R001C10SPC600",
          serial="2102310NYJ10EB000045"): 1,
    }, {"ups 1": ("ok", set())}, [
        s("ups_battery_temperature_celsius", ups_device="1"),  # 4294967295: no sensor
        s("ups_ambient_temperature_celsius"),                  # 2147483647: no sensor
    ]),
    "ups-mib": ("eaton-93e-ups-mib.snmprec", {
        s("ups_battery_runtime_seconds"): 65520,       # upsEstimatedMinutesRemaining 1092 min
        s("ups_battery_charge_ratio"): 1.0,            # upsEstimatedChargeRemaining 100 %
        s("ups_battery_volts"): 521.0,                 # upsBatteryVoltage 5210, 0.1 V
        s("ups_battery_temperature_celsius"): 25,      # upsBatteryTemperature
        s("ups_output_source", state="normal"): 1,     # upsOutputSource 3
        s("ups_output_frequency_hertz"): 49.0,         # upsOutputFrequency 490, 0.1 Hz
        s("ups_output_volts", line="1"): 220,          # upsOutputVoltage, V
        s("ups_output_current_amperes", line="1"): 27.0,  # upsOutputCurrent 270, 0.1 A
        s("ups_output_power_watts", line="1"): 5100,   # upsOutputPower, W
        s("ups_output_load_ratio", line="1"): 0.21,    # upsOutputPercentLoad 21 %
        s("ups_input_volts", line="3"): 233,           # upsInputVoltage, V
        s("ups_input_frequency_hertz", line="1"): 50.0,  # 500, 0.1 Hz
    }, {"ups": ("ok", set())}, []),
    "fortigate": ("fortigate-3000d.snmprec", {
        s("fortigate_cpu_usage_ratio"): 0.05,          # fgSysCpuUsage 5 %
        s("fortigate_memory_usage_ratio"): 0.19,       # fgSysMemUsage 19 %
        s("fortigate_memory_capacity_bytes"): 67600654336,  # fgSysMemCapacity 66016264 KB
        s("fortigate_low_memory_usage_ratio"): 0.19,   # fgSysLowMemUsage 19 %
        s("fortigate_sessions"): 683825,               # fgSysSesCount
        s("fortigate_ipv6_sessions"): 2,               # fgSysSes6Count
        s("fortigate_ha_mode", state="activePassive"): 1,  # fgHaSystemMode 3
        s("fortigate_ha_mode", state="standalone"): 0,
        s("fortigate_ha_member_cpu_usage_ratio", ha_member="1", serial="FGT3KD3Z16800461",
          hostname="FGT3KD3Z16800461"): 0.05,
        s("fortigate_ha_member_memory_usage_ratio", ha_member="2", serial="FGT3KD3Z16800708",
          hostname="FGT3KD3Z16800461"): 0.16,          # fgHaStatsMemUsage.2 16 %
        s("fortigate_ha_member_sessions", ha_member="2", serial="FGT3KD3Z16800708",
          hostname="FGT3KD3Z16800461"): 163096,
        s("fortigate_ha_member_sync_status", ha_member="2", serial="FGT3KD3Z16800708",
          hostname="FGT3KD3Z16800461"): 1,             # synchronized
        s("fortigate_info", firmware="v5.4.5,build1138,170531 (GA)", ha_group="FG3000D"): 1,
    }, {"firewall": ("ok", set()), "ha member FGT3KD3Z16800461": ("ok", set()),
        "ha member FGT3KD3Z16800708": ("ok", set())}, []),
    "juniper": ("juniper-mx960.snmprec", {
        s("juniper_part_state", container="2", l1="1", l2="0", l3="0", part="PEM 0"): 2,
        s("juniper_part_temperature_celsius", container="2", l1="1", l2="0", l3="0",
          part="PEM 0"): 30,
        s("juniper_part_cpu_usage_ratio", container="9", l1="1", l2="0", l3="0",
          part="Routing Engine 0"): 0.54,              # jnxOperatingCPU 54 %
        s("juniper_part_buffer_usage_ratio", container="9", l1="1", l2="0", l3="0",
          part="Routing Engine 0"): 0.10,
        s("juniper_part_memory_bytes", container="9", l1="1", l2="0", l3="0",
          part="Routing Engine 0"): 16349 * 1048576,  # jnxOperatingMemory 16349 MB
        s("juniper_part_state", container="9", l1="2", l2="0", l3="0",
          part="Routing Engine 1"): 7,                 # standby
        s("juniper_part_temperature_celsius", container="7", l1="1", l2="0", l3="0",
          part="FPC: MPC Type 2 3D @ 0/*/*"): 20,
    }, {"PEM 0": ("ok", set()), "Routing Engine 1": ("ok", set()), "CB 2": ("ok", set())}, [
        s("juniper_part_memory_bytes", container="2", l1="1", l2="0", l3="0", part="PEM 0"),
    ]),
    "huawei-switch": ("huawei-s5720.snmprec", {
        s("huawei_entity_cpu_usage_ratio", ent_physical_index="67108873",
          entity="MPU Board 0"): 0.38,                 # hwEntityCpuUsage 38 %
        s("huawei_entity_cpu_threshold_ratio", ent_physical_index="67108873",
          entity="MPU Board 0"): 0.95,
        s("huawei_entity_memory_usage_ratio", ent_physical_index="67108873",
          entity="MPU Board 0"): 0.07,
        s("huawei_entity_memory_bytes", ent_physical_index="67108873",
          entity="MPU Board 0"): 1626341376,
        s("huawei_entity_temperature_celsius", ent_physical_index="67108873",
          entity="MPU Board 0"): 42,
        s("huawei_entity_temperature_threshold_celsius", ent_physical_index="67108873",
          entity="MPU Board 0"): 56,
        s("huawei_fan_state", slot="0", fan="7"): 1,   # normal
        s("huawei_fan_present", slot="0", fan="7"): 1,
    }, {"MPU Board 0": ("ok", set()), "fan 0/7": ("ok", set()),
        "POWER Card 0/5": ("ok", set())}, [
        s("huawei_entity_cpu_usage_ratio", ent_physical_index="67190797",
          entity="POWER Card 0/5"),                    # 0: no CPU on a power card
    ]),
    "cisco": ("cisco-c3750.snmprec", {
        s("cisco_cpu_usage_ratio", cpu="1"): 0.29,     # cpmCPUTotal5minRev 29 %
        s("cisco_memory_pool_used_bytes", pool_index="1", pool="Processor"): 33385580,
        s("cisco_memory_pool_free_bytes", pool_index="1", pool="Processor"): 46331200,
        s("cisco_envmon_fan_state", envmon_index="1004", fan="Switch#1, Fan#1"): 1,
        s("cisco_envmon_supply_state", envmon_index="1003",
          supply="Sw1, PS1 Normal, RPS NotExist"): 1,
    }, {"fan Switch#1, Fan#1": ("ok", set()),
        "power supply Sw1, PS1 Normal, RPS NotExist": ("ok", set())}, []),
    "cisco-entity-sensor": ("cisco-c3750.snmprec", {
        # 419, scale units(9), precision 1
        s("cisco_entity_sensor_celsius", ent_physical_index="1019",
          sensor="Gi1/0/1 Module Temperature Sensor"): 41.9,
        # 334, units(9), precision 2
        s("cisco_entity_sensor_dc_volts", ent_physical_index="1020",
          sensor="Gi1/0/1 Supply Voltage Sensor"): 3.34,
        # 195, milli(8), precision 1: 195 x 10^-3 / 10
        s("cisco_entity_sensor_amperes", ent_physical_index="1021",
          sensor="Gi1/0/1 Bias Current Sensor"): 0.0195,
    }, {"sensor Gi1/0/1 Module Temperature Sensor": ("ok", set())}, [
        # type 14 (dBm) has no base unit here: no sample of any name for the row
        s("cisco_entity_sensor_value", ent_physical_index="1022",
          sensor="Gi1/0/1 Transmit Power Sensor"),
    ]),
    "vertiv-crac": ("liebert-pex.snmprec", {
        s("crac_system_state", state="on"): 1,         # lgpEnvStateSystem 1
        s("crac_cooling_capacity_ratio"): 0.0,
        s("crac_fan_capacity_ratio"): 1.0,             # lgpEnvStateFanCapacity 100 %
        s("crac_temperature_celsius", row="1", point="control"): 23,
        s("crac_temperature_celsius", row="4", point="compressor_1"): 29,
        s("crac_temperature_high_threshold_celsius", row="1", point="control"): 30,
        s("crac_humidity_ratio", row="1", point="control"): 0.42,  # 42 % RH
        s("crac_humidity_high_threshold_ratio", row="1", point="control"): 0.8,
        s("crac_info", manufacturer="Liebert Corporation", model="Liebert PEX",
          firmware="PAL 1.04.026.STD"): 1,
    }, {"crac": ("ok", set()), "control temperature": ("ok", set())}, []),
    # --- walks written from the vendor's MIB (no recording of these models is to be had)
    "vertiv-ups": ("synthetic-vertiv-gxt5.snmprec", {
        s("ups_output_source", state="normal"): 1,     # lgpPwrStateUpsOutputSource 3
        s("ups_battery_runtime_seconds"): 1260,        # lgpPwrBatteryTimeRemaining 21 min
        s("ups_battery_charge_ratio"): 0.98,           # lgpPwrBatteryCapacity 98 %
        s("ups_line_volts", point_index="2", line="1", point="output"): 230,
        s("ups_line_load_ratio", point_index="2", line="1", point="output"): 0.61,
        s("ups_line_power_watts", point_index="1", line="1", point="input"): 6900,
        s("ups_info", manufacturer="Liebert Corporation", model="Liebert GXT5",
          firmware="3.1.0", serial="1907200123AFA37"): 1,
    }, {"ups": ("ok", set())}, []),
    "vertiv-pdu": ("synthetic-vertiv-mph2.snmprec", {
        s("pdu_phase_volts", pdu="1", source="1", phase="1"): 230.1,        # 2301, 0.1 V
        s("pdu_phase_current_amperes", pdu="1", source="1", phase="2"): 6.55,  # 655, 0.01 A
        s("pdu_phase_power_watts", pdu="1", source="1", phase="3"): 1337,
        s("pdu_phase_alarm_used_ratio", pdu="1", source="1", phase="1"): 0.383,  # 383, 0.1 %
        s("pdu_power_watts", pdu="1", source="1"): 4210,
        # 123456 x 0.1 kWh = 12345.6 kWh x 3.6 MJ
        s("pdu_energy_joules_total", pdu="1", source="1"): 44_444_160_000,
        s("pdu_branch_current_amperes", pdu="1", branch_index="1", branch="Branch A"): 6.12,
    }, {"phase 1": ("ok", set())}, []),
    "apc-galaxy": ("synthetic-apc-galaxy-vs.snmprec", {
        s("ups_phase_input_current_amperes", input="1", phase="1"): 26.5,   # 265, 0.1 A
        s("ups_phase_output_power_watts", output="1", phase="2"): 5710,
        s("ups_phase_output_load_ratio", output="1", phase="3"): 0.39,      # 39 %
        s("ups_phase_output_volts", output="1", phase="3"): 231,
        s("ups_battery_runtime_seconds"): 1620,       # upsAdvBatteryRunTimeRemaining 162000 ticks
        s("ups_output_source", state="normal"): 1,
    }, {"ups": ("ok", set()), "output phase 2": ("ok", set())}, [
        s("ups_phase_input_current_amperes", input="1", phase="2"),  # -1: unsupported
    ]),
    "riello-ups": ("synthetic-riello-mst80.snmprec", {
        s("ups_battery_runtime_seconds"): 2100,        # upsEstimatedMinutesRemaining 35
        s("ups_battery_volts"): 432.0,                 # upsBatteryVoltage 4320, 0.1 V
        s("ups_output_current_amperes", line="1"): 51.2,  # upsOutputCurrent 512, 0.1 A
        s("ups_output_load_ratio", line="1"): 0.44,
        s("ups_input_volts", line="2"): 231,
        s("ups_card_info", agent="NetMan 204 02.08.006"): 1,
    }, {"ups": ("ok", set())}, []),
    "netbotz": ("synthetic-netbotz-420.snmprec", {
        s("env_temperature_celsius", sensor_id="nbHawkEnc_0_TEMP",
          sensor="Nhiệt độ R05 cửa trước"): 23.4,       # tempSensorValue 234, 0.1 degC
        s("env_humidity_ratio", sensor_id="nbHawkEnc_0_HUMI", sensor="Humidity R05"): 0.452,
        s("env_dew_point_celsius", sensor_id="nbHawkEnc_0_DEWPT", sensor="Dew point R05"): 10.8,
        s("env_enclosure_status", enclosure_id="nbHawkEnc_1",
          enclosure="Sensor pod R05 top"): 2,          # normal
    }, {"sensor Temp R05 top": ("ok", set()),
        "enclosure Sensor pod R05 top": ("ok", set())}, []),
    "system": ("cisco-c3750.snmprec", {
        s("snmp_uptime_seconds"): 38969789.21,         # sysUpTime 3896978921 ticks
    }, {}, []),
    "if-mib": ("cisco-c3750.snmprec", {
        s("if_oper_status", if_index="10101", if_descr="GigabitEthernet1/0/1",
          if_name="Gi1/0/1", if_alias="DJ_200_POE"): 1,
        s("if_hc_in_octets_total", if_index="10101", if_descr="GigabitEthernet1/0/1",
          if_name="Gi1/0/1", if_alias="DJ_200_POE"): 4377757100764,
        s("if_speed_bytes", if_index="10101", if_descr="GigabitEthernet1/0/1",
          if_name="Gi1/0/1", if_alias="DJ_200_POE"): 125_000_000,  # ifHighSpeed 1000 Mb/s
    }, {}, []),
}

# profile -> (walk, {OID: value laid over it}, component, status, conditions)
FAULTS: list[tuple[str, str, dict[str, Any], str, str, set[str]]] = [
    ("huawei-ups", "on battery", {"1.3.6.1.4.1.2011.6.174.1.2.101.1.1.1": 4},
     "ups 1", "degraded", {"on_battery"}),
    ("huawei-ups", "battery low", {"1.3.6.1.4.1.2011.6.174.1.2.101.1.1.1": 4,
                                   "1.3.6.1.4.1.2011.6.174.1.2.101.1.3.1": 6,
                                   "1.3.6.1.4.1.2011.6.174.1.6.100.1.4.1": 240},
     "ups 1", "degraded", {"on_battery", "battery_low"}),
    ("huawei-ups", "no output", {"1.3.6.1.4.1.2011.6.174.1.2.101.1.1.1": 1},
     "ups 1", "failed", {"off"}),
    ("huawei-ups", "bypass", {"1.3.6.1.4.1.2011.6.174.1.2.101.1.1.1": 2},
     "ups 1", "degraded", {"bypass"}),
    ("ups-mib", "on battery", {"1.3.6.1.2.1.33.1.4.1.0": 5}, "ups", "degraded",
     {"on_battery"}),
    ("fortigate", "member out of sync", {"1.3.6.1.4.1.12356.101.13.2.1.1.12.2": 0},
     "ha member FGT3KD3Z16800708", "degraded", {"ha_out_of_sync"}),
    ("fortigate", "conserve mode", {"1.3.6.1.4.1.12356.101.4.1.4.0": 90},
     "firewall", "degraded", {"conserve_mode"}),
    ("juniper", "PEM down", {"1.3.6.1.4.1.2636.3.1.13.1.6.2.3.0.0": 6},
     "PEM 2", "degraded", {"part_down"}),
    ("huawei-switch", "board too hot", {"1.3.6.1.4.1.2011.5.25.31.1.1.1.1.11.67108873": 60},
     "MPU Board 0", "degraded", {"over_temperature"}),
    ("huawei-switch", "fan failed", {"1.3.6.1.4.1.2011.5.25.31.1.1.10.1.7.0.7": 2},
     "fan 0/7", "degraded", {"fan_failed"}),
    ("cisco", "power supply critical", {"1.3.6.1.4.1.9.9.13.1.5.1.3.1003": 3},
     "power supply Sw1, PS1 Normal, RPS NotExist", "degraded", {"psu_failed"}),
    ("vertiv-crac", "unit off", {"1.3.6.1.4.1.476.1.42.3.4.3.1.0": 2},
     "crac", "failed", {"off"}),
    ("vertiv-crac", "alarm", {"1.3.6.1.4.1.476.1.42.3.4.3.8.0": 1},
     "crac", "degraded", {"alarm"}),
    ("vertiv-crac", "room too hot", {"1.3.6.1.4.1.476.1.42.3.4.1.3.3.1.3.1": 31},
     "control temperature", "degraded", {"over_temperature"}),
]


def idx(text: str) -> str:
    """A DisplayString index as the agent encodes it: its length, then its characters."""
    return ".".join([str(len(text)), *(str(ord(c)) for c in text)])


NB = "1.3.6.1.4.1.5528.100"
FAULTS += [
    ("vertiv-ups", "on battery", {"1.3.6.1.4.1.476.1.42.3.5.3.55.0": 5}, "ups", "degraded",
     {"on_battery"}),
    ("vertiv-ups", "no output", {"1.3.6.1.4.1.476.1.42.3.5.3.55.0": 2}, "ups", "failed",
     {"off"}),
    ("vertiv-ups", "battery low", {"1.3.6.1.4.1.476.1.42.3.5.1.26.0": 3}, "ups", "degraded",
     {"battery_low"}),
    ("vertiv-pdu", "phase at its alarm", {"1.3.6.1.4.1.476.1.42.3.8.30.40.1.39.1.1.2": 1000},
     "phase 2", "failed", {"overload"}),
    ("apc-galaxy", "phase overloaded", {"1.3.6.1.4.1.318.1.1.1.9.3.3.1.10.1.2": 104},
     "output phase 2", "degraded", {"overload"}),
    ("apc-galaxy", "on battery", {"1.3.6.1.4.1.318.1.1.1.4.1.1.0": 3}, "ups", "degraded",
     {"on_battery"}),
    ("riello-ups", "on battery", {"1.3.6.1.2.1.33.1.4.1.0": 5}, "ups", "degraded",
     {"on_battery"}),
    ("netbotz", "rack warm", {f"{NB}.4.1.1.1.2.{idx('nbHawkEnc_1_TEMP')}": 290},
     "sensor Temp R05 top", "degraded", {"temp_out_of_recommended"}),
    ("netbotz", "sensor critical", {f"{NB}.4.1.1.1.3.{idx('nbHawkEnc_1_TEMP')}": 4},
     "sensor Temp R05 top", "failed", {"sensor_alarm"}),
    ("netbotz", "pod unplugged", {f"{NB}.2.1.1.2.{idx('nbHawkEnc_1')}": 0},
     "enclosure Sensor pod R05 top", "degraded", {"pod_disconnected"}),
]

# shipped profiles whose walk tests live in their own modules (the simulator's walks)
ELSEWHERE = {
    "apc-ups": "test_apc_ups.py", "apc-pdu": "test_apc_pdu.py", "apc-ats": "test_apc_ats.py",
    "eaton-ups": "test_eaton_ups.py", "entity-sensor": "test_entity_sensor.py",
    "geist-env": "test_geist_env.py", "host-resources": "test_host_resources.py",
    "juniper-dom": "test_optics_walks.py", "huawei-optics": "test_optics_walks.py",
    "lldp": "../../nethealth/test_lldp_walks.py",
}


async def run(profile: str, walk_file: str, overlay: dict[str, Any] | None = None
              ) -> ProfileRun:
    walk = read_walk(WALKS / walk_file)
    if overlay:
        missing = set(overlay) - set(walk.values)
        assert not missing, f"fault OIDs not in the walk: {missing}"
        walk = Walk({**walk.values, **overlay}, walk.types, walk.source, walk.format)
    profiles, _ = resolve([profile], walk)
    return await run_profiles(profiles, walk, device="dev", requested=[profile])


def samples_of(result: ProfileRun) -> dict[S, float]:
    out = {}
    for sample in result.result.samples:
        labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "device"))
        out[(sample.name, labels)] = sample.value
    return out


@pytest.mark.parametrize("profile", sorted(CASES))
async def test_recorded_walk_gives_the_values_read_off_it(profile):
    walk_file, expected, components, absent = CASES[profile]
    result = await run(profile, walk_file)
    assert result.result.error is None, result.result.message
    assert not result.failed, f"{profile} gave no sample"
    got = samples_of(result)
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != pytest.approx(v)}
    assert wrong == {}
    assert [k for k in absent if k in got] == []
    comps = {c.component: (str(c.status), set(c.conditions)) for c in result.result.components}
    assert {k: comps.get(k) for k in components} == components


@pytest.mark.parametrize("profile, fault, overlay, component, status, conditions", FAULTS,
                         ids=[f"{f[0]}: {f[1]}" for f in FAULTS])
async def test_status_rules_on_the_recorded_walk(profile, fault, overlay, component, status,
                                                 conditions):
    result = await run(profile, CASES[profile][0], overlay)
    comps = {c.component: c for c in result.result.components}
    assert str(comps[component].status) == status, comps[component]
    assert set(comps[component].conditions) == conditions


@pytest.mark.parametrize("walk_file, chosen", [
    ("huawei-ups5000e.snmprec", ["host-resources", "huawei-ups", "if-mib"]),  # by detect:
    ("liebert-pex.snmprec", ["vertiv-crac"]),                                  # by detect:
    ("fortigate-3000d.snmprec", ["fortigate"]),
    # if-mib and juniper-dom (its optics) claim Juniper's products too
    ("juniper-mx960.snmprec", ["if-mib", "juniper", "juniper-dom"]),
    ("huawei-s5720.snmprec", ["huawei-switch"]),
    ("cisco-c3750.snmprec", ["cisco", "entity-sensor", "if-mib"]),
    ("cisco-n5000.snmprec", ["cisco"]),
    ("synthetic-vertiv-gxt5.snmprec", ["vertiv-ups"]),                         # by detect:
    ("synthetic-vertiv-mph2.snmprec", ["vertiv-pdu"]),                         # by detect:
    ("synthetic-apc-galaxy-vs.snmprec", ["apc-galaxy"]),
    ("synthetic-riello-mst80.snmprec", ["riello-ups"]),
    ("synthetic-netbotz-420.snmprec", ["netbotz"]),
])
def test_auto_chooses_from_the_recording(walk_file, chosen):
    walk = read_walk(WALKS / walk_file)
    _, auto = resolve(["auto"], walk)
    assert auto is not None and auto.profiles == chosen


async def test_nexus_fru_power_and_fans():
    result = await run("cisco", "cisco-n5000.snmprec")
    got = samples_of(result)
    assert got[s("cisco_cpu_usage_ratio", cpu="1")] == 0.16
    assert got[s("cisco_cpu_memory_used_bytes", cpu="1")] == 2429964 * 1024  # kilo-bytes
    assert got[s("cisco_fru_power_state", ent_physical_index="470", fru="PowerSupply-1")] == 2
    assert got[s("cisco_fru_current_amperes", ent_physical_index="470",
                 fru="PowerSupply-1")] == 6500
    assert got[s("cisco_fan_tray_state", ent_physical_index="534", fan="FanModule-1")] == 2
    comps = {c.component: str(c.status) for c in result.result.components}
    assert comps["FRU PowerSupply-2"] == "ok" and comps["fan FanModule-1"] == "ok"


def test_every_shipped_profile_has_a_recorded_walk_test():
    shipped = {p.stem for p in SHIPPED.glob("*.yaml")}
    here = Path(__file__).parent
    covered = set(CASES) | {name for name, module in ELSEWHERE.items()
                            if name in (here / module).read_text(encoding="utf-8")}
    assert sorted(shipped - covered) == []
