"""host-resources (with if-mib) replayed on the simulator's Linux server walk
(sim/data/net-snmp-linux.snmprec).

The walk is synthetic, written from the HOST-RESOURCES-MIB definitions the way Net-SNMP
fills them, not captured from a host; every expected value below is worked out by hand:
hrStorageSize/Used x hrStorageAllocationUnits bytes, hrMemorySize in KiB.
"""

from __future__ import annotations

from tests.helpers.recorded import poll_model
from tests.helpers.samples import matching, sample_value

MODEL = "net-snmp-linux"


async def test_storage_in_bytes():
    result = await poll_model(MODEL, ["host-resources"])
    s = result.samples
    root = {"hr_storage_descr": "/"}
    assert sample_value(s, "host_storage_size_bytes", root) == 24674867 * 4096
    assert sample_value(s, "host_storage_used_bytes", root) == 38_429_130_752  # 9382112 x 4096
    assert sample_value(s, "host_storage_used_bytes", {"hr_storage_descr": "/boot"}) == 98234 * 1024
    ram = {"hr_storage_descr": "Physical memory"}
    assert sample_value(s, "host_storage_size_bytes", ram) == 67_423_363_072  # 65843128 KiB
    assert sample_value(s, "host_storage_allocation_failures_total", root) == 0
    types = {
        x.labels["hr_storage_descr"]: x.labels["hr_storage_type"]
        for x in matching(s, "host_storage_size_bytes")
    }
    assert types["/"] == "fixedDisk"
    assert types["Physical memory"] == "ram"
    assert types["Swap space"] == "virtualMemory"
    assert types["Cached memory"] == "other"
    assert len(types) == 9


async def test_system_figures():
    result = await poll_model(MODEL, ["host-resources"])
    s = result.samples
    assert sample_value(s, "host_processes") == 312
    assert sample_value(s, "host_users") == 2
    assert sample_value(s, "host_processes_max") == 0
    assert sample_value(s, "host_memory_size_bytes") == 65843128 * 1024
    assert sample_value(s, "snmp_host_uptime_seconds") == 3456794.0  # 345679400 TimeTicks


async def test_processor_load_as_ratio():
    result = await poll_model(MODEL, ["host-resources"])
    loads = {
        x.labels["hr_device_index"]: x.value
        for x in matching(result.samples, "host_processor_load_ratio")
    }
    assert loads == {"196608": 0.23, "196609": 0.31, "196610": 0.18, "196611": 0.27}
    cpu = matching(result.samples, "host_processor_load_ratio")[0]
    assert cpu.labels["hr_device_descr"].startswith("GenuineIntel: Intel(R) Xeon(R) Silver 4214R")
