"""How many poll workers, and which devices each polls (collector/snmp/workershare.py):
stable, independent of the config's order, and balanced within one device's load."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from collector.config import DeviceConfig, SnmpConfig
from collector.snmp.workershare import (
    AUTO_MIN_POLLS_PER_S,
    split_devices,
    worker_count,
)
from tierwatch.config import ConfigError, parse


def _devices(n: int, interval: float | None = None, prefix: str = "d") -> list[DeviceConfig]:
    return [DeviceConfig(id=f"{prefix}{i:04d}", address=f"10.0.{i // 250}.{i % 250 + 1}",
                         credentials="c", profile=["if-mib"], interval=interval)
            for i in range(n)]


def _ids(shares: list[list[DeviceConfig]]) -> list[set[str]]:
    return [{d.id for d in share} for share in shares]


def test_the_split_is_the_same_every_time_and_in_any_order() -> None:
    snmp, devices = SnmpConfig(), _devices(300)
    first = _ids(split_devices(snmp, devices, 3))
    shuffled = list(devices)
    random.Random(7).shuffle(shuffled)
    assert _ids(split_devices(snmp, shuffled, 3)) == first
    assert _ids(split_devices(snmp, devices, 3)) == first
    # every device in exactly one share, each share in the config's order
    assert sorted(i for share in first for i in share) == [d.id for d in devices]
    for share in split_devices(snmp, devices, 3):
        assert [d.id for d in share] == sorted(d.id for d in share)


@pytest.mark.parametrize(("n", "workers", "sizes"), [
    # one interval for all: the shares differ by at most one device
    (100, 2, [50, 50]),
    (100, 3, [33, 33, 34]),
    (7, 4, [1, 2, 2, 2]),
    (1, 2, [0, 1]),
])
def test_equal_devices_are_dealt_evenly(n: int, workers: int, sizes: list[int]) -> None:
    shares = split_devices(SnmpConfig(), _devices(n), workers)
    assert sorted(len(s) for s in shares) == sizes


def test_the_shares_load_differs_by_at_most_one_device_s_load() -> None:
    # 10 devices polled every second (1 poll/s each) and 90 every 30 s (1/30 poll/s each):
    # 10 + 3 = 13 polls/s in all. Each device goes to a least loaded worker, so the two
    # loads differ by at most the largest single load, 1 poll/s: each is 6.5 +/- 0.5, in
    # [6, 7]
    snmp = SnmpConfig()
    devices = _devices(10, interval=1.0, prefix="fast") + _devices(90, interval=30.0)
    loads = [sum(1.0 / (d.interval or 30.0) for d in share)
             for share in split_devices(snmp, devices, 2)]
    assert sum(loads) == pytest.approx(13.0)
    assert all(6.0 - 1e-9 <= load <= 7.0 + 1e-9 for load in loads), loads


def test_workers_auto_starts_them_only_when_worth_it() -> None:
    auto = SnmpConfig()
    # AUTO_MIN_POLLS_PER_S is 50: 1,500 devices every 30 s offer exactly that
    assert AUTO_MIN_POLLS_PER_S == 50.0
    assert worker_count(auto, _devices(1500), cores=2) == 2
    assert worker_count(auto, _devices(1499), cores=2) == 1  # 49.97 polls/s
    assert worker_count(auto, _devices(1500), cores=1) == 1  # one core: nothing to gain
    assert worker_count(auto, _devices(60, interval=1.0), cores=4) == 4  # 60 polls/s
    assert worker_count(auto, _devices(3, interval=1.0), cores=2) == 1  # 3 polls/s
    assert worker_count(auto, [], cores=8) == 1


@pytest.mark.parametrize(("workers", "devices", "want"), [(1, 100, 1), (2, 100, 2),
                                                         (4, 3, 3), (2, 0, 1)])
def test_a_number_of_workers_is_taken_as_written(workers: int, devices: int,
                                                 want: int) -> None:
    # never more workers than devices, never workers for no device
    snmp = SnmpConfig.model_validate({"workers": workers})
    assert worker_count(snmp, _devices(devices), cores=1) == want


@pytest.mark.parametrize("value", ["0", "65", "two", "1.5", "true", "-1"])
def test_a_bad_workers_value_names_its_key(value: str) -> None:
    text = f"site: {{name: t}}\nsnmp:\n  workers: {value}\n"
    with pytest.raises(ConfigError) as err:
        parse(text, Path("tw.yaml"))
    assert any(p.startswith("tw.yaml:3: snmp.workers: workers must be auto or a whole "
                            "number from 1 to 64") for p in err.value.problems), \
        err.value.problems


@pytest.mark.parametrize(("value", "want"), [("auto", "auto"), ("Auto", "auto"), ("1", 1),
                                             ("2", 2), ("64", 64)])
def test_good_workers_values_load(value: str, want: object) -> None:
    text = f"site: {{name: t}}\nsnmp:\n  workers: {value}\n"
    assert parse(text, Path("tw.yaml")).config.snmp.workers == want
