"""Ranges as people write them, and vendors by enterprise number."""

from __future__ import annotations

import pytest

from collector.discovery.enterprises import vendor
from collector.discovery.targets import TargetError, expand


def test_a_prefix_is_its_hosts_without_network_and_broadcast():
    swept = expand(["10.10.0.0/22"])
    assert len(swept) == 1022
    assert swept[0] == ("10.10.0.1", 161) and swept[-1] == ("10.10.3.254", 161)
    assert expand(["10.0.0.8/31"]) == [("10.0.0.8", 161), ("10.0.0.9", 161)]  # RFC 3021


def test_ranges_ports_ipv6_and_each_address_once():
    assert expand(["10.0.0.1-3", "10.0.0.2", "10.0.0.9:1161", "[fd00::5]:1161",
                   "10.0.0.250-10.0.1.1"], default_port=162) == [
        ("10.0.0.1", 162), ("10.0.0.2", 162), ("10.0.0.3", 162), ("10.0.0.9", 1161),
        ("fd00::5", 1161), ("10.0.0.250", 162), ("10.0.0.251", 162), ("10.0.0.252", 162),
        ("10.0.0.253", 162), ("10.0.0.254", 162), ("10.0.0.255", 162), ("10.0.1.0", 162),
        ("10.0.1.1", 162)]


@pytest.mark.parametrize("spec, words", [
    ("10.0.0.0/33", "10.0.0.0/33"),
    ("10.0.0.9-10.0.0.1", "ends before"),
    ("ups-a.example", "not an address"),
    ("10.0.0.1:99999", "bad port"),
    ("10.0.0.0/8", "more than 65536"),
])
def test_what_cannot_be_swept_is_refused(spec, words):
    with pytest.raises(TargetError, match=words):
        expand([spec])


def test_vendors_by_enterprise_number():
    assert vendor("1.3.6.1.4.1.2011.2.23.276") == "Huawei (enterprise 2011)"
    assert vendor("1.3.6.1.4.1.40614") == "enterprise 40614 (not in tierwatch's table)"
    assert vendor("1.3.6.1.2.1.1") == "not an enterprise OID"
    assert vendor("") == "no sysObjectID"
