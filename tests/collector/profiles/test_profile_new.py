"""`tierwatch profile new`: a draft profile from a MIB compiled with pysmi, from files on
this machine only (the IETF base modules tierwatch ships, Debian's Net-SNMP MIBs in
/usr/share/snmp/mibs), then `profile test` of the draft against a walk recorded from a real
snmpd, which implements UCD-SNMP-MIB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.mibdraft import SYSTEM_MIBS, MibError, mib_dirs, new_profile, unit_of
from collector.profiles import load_profile_file
from tests.helpers.snmpd import run_snmpd, snmpd_available
from tierwatch.cli import app

needs_ucd = pytest.mark.skipif(not (SYSTEM_MIBS / "UCD-SNMP-MIB.txt").exists(),
                               reason="Debian's libsnmp-base (UCD-SNMP-MIB) not installed")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("units, description, syntax, suffix, scale", [
    ("kB", "", "Integer32", "bytes", 1024),
    ("percent", "", "Gauge32", "ratio", 0.01),
    (".1 percent", "", "Integer32", "ratio", 0.001),
    ("0.1 Amp-AC-RMS", "", "Unsigned32", "amperes", 0.1),
    ("0.01 Amps-AC-RMS", "", "Unsigned32", "amperes", 0.01),
    (".1 degrees Celsius", "", "Integer32", "celsius", 0.1),
    ("minutes", "", "Integer32", "seconds", 60),
    ("0.1 Kilowatt-Hour", "", "Unsigned32", "joules", 360000),
    ("kVA", "", "Integer32", "volt_amperes", 1000),
    (None, "The temperature measured by the sensor in tenths of a degree Celsius.",
     "Integer32", "celsius", 0.1),
    (None, "The output current in 0.1 amperes drawn by the load", "INTEGER", "amperes", 0.1),
    (None, "", "TimeTicks", "seconds", 0.01),
])
def test_units_become_base_units(units, description, syntax, suffix, scale):
    unit, source = unit_of(units, description, syntax)
    assert unit is not None and (unit.suffix, unit.scale) == (suffix, scale), source


def test_a_unit_tierwatch_does_not_know_is_left_to_a_person():
    unit, source = unit_of("Sessions Per Second", "", "Gauge32")
    assert unit is None and "not a unit tierwatch converts" in source


@needs_ucd
def test_draft_from_debians_ucd_snmp_mib_loads(tmp_path):
    draft = new_profile("UCD-SNMP-MIB", ["laTable"], ["memory"], mib_dirs())
    path = tmp_path / f"{draft.name}.yaml"
    path.write_text(draft.text(), encoding="utf-8")
    d = load_profile_file(path).definition
    assert d.name == "ucd-snmp-mib"
    scalars = {m.name: m for m in d.scalars}
    total = scalars["ucd_mem_total_real_bytes"]   # memTotalReal, UNITS "kB"
    assert (total.oid, total.scale, total.type) == ("1.3.6.1.4.1.2021.4.5.0", 1024, "gauge")
    # CounterBasedGauge64 is a gauge in a Counter64: not a counter
    assert scalars["ucd_mem_total_real_x_bytes"].type == "gauge"
    [table] = d.tables
    assert [p.label for p in table.index] == ["la_index"]
    assert [lab.oid for lab in table.labels] == ["1.3.6.1.4.1.2021.10.1.2"]   # laNames
    metrics = {m.name: m for m in table.metrics}
    assert metrics["ucd_la_error_flag"].enum == {0: "noError", 1: "error"}  # UCDErrorFlag TC
    assert metrics["ucd_la_load_int"].oid == "1.3.6.1.4.1.2021.10.1.5"
    assert "# unit: the MIB states none" in draft.text()  # laLoadInt has no UNITS


@pytest.mark.integration
@needs_ucd
@pytest.mark.skipif(not snmpd_available(), reason="snmpd not installed")
def test_draft_against_a_walk_of_a_real_snmpd(tmp_path):
    with run_snmpd(tmp_path, extra_config=["load 12 10 5"]) as agent:
        walk = agent.cli("snmpbulkwalk", "-v2c", "-c", "public", "-On",
                         oids=["1.3.6.1.4.1.2021.10"])
        walk += agent.cli("snmpbulkwalk", "-v2c", "-c", "public", "-On",
                          oids=["1.3.6.1.4.1.2021.4"])
    walk_file = tmp_path / "snmpd-ucd.txt"
    walk_file.write_text(walk, encoding="utf-8")
    draft = tmp_path / "ucd-snmp-mib.yaml"
    made = invoke("profile", "new", "--mib", "UCD-SNMP-MIB", "--table", "laTable",
                  "--object", "memory", "-o", str(draft))
    assert made.exit_code == 0, made.output
    tested = invoke("profile", "test", str(draft), "--walk", str(walk_file), "--json")
    assert tested.exit_code == 0, tested.output
    body = json.loads(tested.output)
    samples = {(s["name"], tuple(sorted((k, v) for k, v in s["labels"].items()
                                        if k != "device"))): s["value"]
               for s in body["samples"]}
    # snmpd reads memTotalReal from /proc/meminfo's MemTotal (kB); the draft scales kB to bytes
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    mem_total_kb = int(meminfo["MemTotal"].split()[0])
    assert samples[("ucd_mem_total_real_bytes", ())] == mem_total_kb * 1024
    # the load-average rows are named as snmpd names them; the "load 12 10 5" thresholds
    # are not crossed on a test machine, so the flag reads noError
    loads = {dict(labels)["la_names"] for (name, labels) in samples if name == "ucd_la_load_int"}
    assert loads == {"Load-1", "Load-5", "Load-15"}
    assert samples[("ucd_la_error_flag", (("la_index", "1"), ("la_names", "Load-1")))] in (0, 1)
    assert body["status"] == "ok"


def test_a_missing_import_names_the_module_and_the_file(tmp_path):
    (tmp_path / "FOO-MIB.txt").write_text(
        "FOO-MIB DEFINITIONS ::= BEGIN\nIMPORTS\n"
        "  enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI\n"
        "  barThing FROM NOPE-MIB;\n"
        "foo OBJECT IDENTIFIER ::= { enterprises 99999 }\nEND\n")
    result = invoke("profile", "new", "--mib", "FOO-MIB", "--object", "foo",
                    "--mib-dir", str(tmp_path))
    assert result.exit_code == 2
    assert (f"NOPE-MIB is imported by FOO-MIB ({tmp_path / 'FOO-MIB.txt'}) but no file in "
            f"{tmp_path}") in result.output


def test_a_broken_mib_names_its_file_and_line(tmp_path):
    (tmp_path / "BAR-MIB.txt").write_text(
        "BAR-MIB DEFINITIONS ::= BEGIN\nIMPORTS\n"
        "  enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI;\n"
        "bar OBJECT IDENTIFIER ::= { enterprises 99998 }\n"
        "barValue OBJECT-TYPE\n  SYNTAX Integer32\n  MAX-ACCESS read-only\n"
        "  STATUS current\n  DESCRIPTION \"x\"\n  ::= { bar 1 \nEND\n")
    with pytest.raises(MibError, match=r"BAR-MIB \(.*BAR-MIB.txt\) does not compile: .*line 11"):
        new_profile("BAR-MIB", [], ["barValue"], mib_dirs([tmp_path]))


def test_an_unknown_table_lists_the_tables_there_are():
    if not (SYSTEM_MIBS / "UCD-SNMP-MIB.txt").exists():
        pytest.skip("no UCD-SNMP-MIB")
    with pytest.raises(MibError, match=r"has no object 'noSuchTable'.*laTable"):
        new_profile("UCD-SNMP-MIB", ["noSuchTable"], [], mib_dirs())
