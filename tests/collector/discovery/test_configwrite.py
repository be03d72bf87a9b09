"""`--write` edits the config's text where `devices:` ends: every other line stays byte for
byte (comments, flow mappings wrapped over lines, the sections after it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.discovery.configwrite import ConfigWriteError, add_devices, device_id
from collector.discovery.sweep import AddressResult
from tierwatch.config import parse


def found(host: str, name: str, **kw) -> AddressResult:
    return AddressResult(host, kw.pop("port", 161), "found", credential=kw.pop("cred", "sim"),
                         sys_name=name, sys_descr="Linux srv 6.1", vendor="Net-SNMP",
                         profiles=["host-resources", "if-mib"],
                         reasons={"if-mib": "sysObjectID x is under y"}, **kw)


def test_devices_go_where_the_list_ends_and_the_next_section_keeps_its_comment():
    text = Path("sim/demo.yaml").read_text(encoding="utf-8")
    new, ids = add_devices(text, [found("10.0.0.5", "srv-log-01"),
                                  found("10.0.0.6", "ups-a"),  # an id the file has
                                  found("10.0.0.7", "x", configured="core-1")])
    assert ids == ["srv-log-01", "ups-a-2"]
    old_lines, new_lines = text.splitlines(), new.splitlines()
    # the section after `devices:` in the demo config is `modbus:`, under its comment
    anchor = next(i for i, line in enumerate(old_lines)
                  if line.startswith("# Modbus TCP devices")) + 1
    inserted = new_lines[anchor - 1: anchor + 3]
    assert inserted[1] == ('  - {id: "srv-log-01", address: "10.0.0.5", credentials: "sim",'
                           ' profile: "auto"}')
    assert inserted[0].startswith("  # found by tierwatch discover: Linux srv 6.1")
    assert new_lines[:anchor - 1] == old_lines[:anchor - 1]
    assert new_lines[anchor + 3:] == old_lines[anchor - 1:]
    assert len(new_lines) == len(old_lines) + 4
    config = parse(new, Path("demo.yaml")).config
    assert [d.id for d in config.devices][-2:] == ["srv-log-01", "ups-a-2"]


def test_no_devices_section_gets_one_and_an_agent_cannot_inject_yaml():
    evil = found("10.0.0.5", "a\nsite: {name: pwned}", cred="campus")
    evil.sys_descr = "line one\n- {id: injected, address: 1.2.3.4, credentials: x}"
    new, ids = add_devices("site: {name: DC}\ncredentials:\n  campus: {version: 2c, "
                           "community: public}\n", [evil])
    assert ids == ["a-site:-name:-pwned"]
    config = parse(new, Path("t.yaml")).config
    assert config.site.name == "DC"
    assert [d.id for d in config.devices] == ["a-site:-name:-pwned"]


def test_a_one_line_devices_list_is_refused_not_mangled():
    with pytest.raises(ConfigWriteError, match=r"one \[\.\.\.\] list"):
        add_devices("devices: []\n", [found("10.0.0.5", "a")])


def test_ids_from_odd_names():
    assert device_id(found("10.0.0.5", ""), set()) == "dev-10.0.0.5"
    assert device_id(found("10.0.0.5", "Tủ R01 / PDU A"), set()) == "T-R01-PDU-A"
    assert device_id(found("fd00::5", "---"), set()) == "dev-fd00::5"
