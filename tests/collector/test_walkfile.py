"""Recorded walks read from files (collector/walkfile.py): both formats, the odd lines a
recording holds, and hostile files reported line by line, never fatal."""

from __future__ import annotations

import pytest

from collector.snmp.client import NO_SUCH_OBJECT
from collector.walkfile import (
    RecordedAgent,
    WalkFileError,
    group_oids,
    parse_walk,
    read_walk,
)
from tests.helpers.snmpd import run_snmpd, snmpd_available


def test_snmprec_tags_hex_and_snmpsim_variations():
    walk = parse_walk("\n".join([
        "#Fortinet-300D (a comment line as snmpsim-data writes them)",
        "1.3.6.1.2.1.1.1.0|4x|4c696e7578",          # "Linux"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10",
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1|64x|0a000001",  # IpAddress recorded as hex
        "1.3.6.1.2.1.2.2.1.10.1|65|4294967297",        # Counter32 wraps at 2^32
        "1.3.6.1.4.1.318.1.1.4.4.2.1.4.1|4:writecache|value=IBM Server 1 PS1",
        "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1|2:numeric|min=1,max=2,initial=2,wrap=1",
    ]))
    assert walk.format == "snmprec"
    assert walk.values == {
        "1.3.6.1.2.1.1.1.0": b"Linux",
        "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.8072.3.2.10",
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1": "10.0.0.1",
        "1.3.6.1.2.1.2.2.1.10.1": 1,
        "1.3.6.1.4.1.318.1.1.4.4.2.1.4.1": b"IBM Server 1 PS1",
        "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1": 2,
    }
    assert walk.types["1.3.6.1.2.1.2.2.1.10.1"] == "Counter32"
    assert walk.problems == []


def test_snmpwalk_output_with_and_without_options():
    text = "\n".join([
        '.1.3.6.1.2.1.1.1.0 = STRING: "Cisco IOS Software, C3560',
        'Technical Support: http://www.cisco.com/techsupport"',
        ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.9.1.617",
        ".1.3.6.1.2.1.1.3.0 = Timeticks: (12345) 0:02:03.45",
        "iso.3.6.1.2.1.2.2.1.8.1 = INTEGER: up(1)",
        ".1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 1A 2B 3C",
        "4D 5E ",
        ".1.3.6.1.2.1.2.2.1.10.1 = Counter32: 9",
        ".1.3.6.1.2.1.31.1.1.1.6.1 = Counter64: 18446744073709551615",
        ".1.3.6.1.2.1.4.20.1.1.10.0.0.1 = IpAddress: 10.0.0.1",
        '.1.3.6.1.2.1.1.4.0 = ""',
        ".1.3.6.1.2.1.1.9.0 = No Such Object available on this agent at this OID",
    ])
    walk = parse_walk(text)
    assert walk.format == "snmpwalk"
    assert walk.values == {
        "1.3.6.1.2.1.1.1.0": b"Cisco IOS Software, C3560\n"
                             b"Technical Support: http://www.cisco.com/techsupport",
        "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.9.1.617",
        "1.3.6.1.2.1.1.3.0": 12345,
        "1.3.6.1.2.1.2.2.1.8.1": 1,
        "1.3.6.1.2.1.2.2.1.6.1": bytes.fromhex("001A2B3C4D5E"),
        "1.3.6.1.2.1.2.2.1.10.1": 9,
        "1.3.6.1.2.1.31.1.1.1.6.1": 2**64 - 1,
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1": "10.0.0.1",
        "1.3.6.1.2.1.1.4.0": b"",
    }
    assert walk.problems == []


def test_unreadable_lines_are_listed_with_their_line_and_the_rest_is_kept():
    text = "\n".join([
        "1.3.6.1.2.1.1.5.0|4|ups-a",
        "1.3.6.1.2.1.1.7.0|2|seventy-two",     # not an integer
        "1.3.6.1.2.1.1.8.0|99|1",              # no such tag
        "\x00\xff garbage \x1b[2J",            # terminal escapes and binary
        "1.3.6.1.2.1.1.3.0|67|100",
    ])
    walk = parse_walk(text, "bad.snmprec")
    assert walk.values == {"1.3.6.1.2.1.1.5.0": b"ups-a", "1.3.6.1.2.1.1.3.0": 100}
    assert [p.split(":")[1] for p in walk.problems] == ["2", "3", "4"]
    assert walk.skipped == 3


def test_symbolic_oids_say_how_to_record():
    walk = parse_walk('.1.3.6.1.2.1.1.5.0 = STRING: "a"\n'
                      'SNMPv2-MIB::sysName.0 = STRING: "b"\n')
    assert walk.values == {"1.3.6.1.2.1.1.5.0": b"a"}
    assert "snmpwalk -On" in walk.problems[0]


def test_a_file_that_is_no_walk_or_too_large_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text("hello\nworld\n")
    with pytest.raises(WalkFileError, match="neither"):
        read_walk(tmp_path / "x.txt")
    (tmp_path / "big.snmprec").write_text("1.3.6.1.2.1.1.5.0|4|" + "a" * 2000)
    with pytest.raises(WalkFileError, match="more than the 1000"):
        read_walk(tmp_path / "big.snmprec", max_bytes=1000)
    with pytest.raises(WalkFileError):
        read_walk(tmp_path / "missing.snmprec")


async def test_recorded_agent_answers_and_remembers_what_was_read():
    walk = parse_walk("\n".join([
        "1.3.6.1.2.1.1.5.0|4|a",
        "1.3.6.1.2.1.2.2.1.2.1|4|lo",
        "1.3.6.1.2.1.2.2.1.2.2|4|eth0",
        "1.3.6.1.2.1.2.2.1.3.1|2|24",
        "1.3.6.1.2.1.2.2.1.20|2|1",      # not under 2.2.1.2 although it sorts after it
    ]))
    agent = RecordedAgent(walk)
    got = await agent.get(["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0"])
    assert got == {"1.3.6.1.2.1.1.5.0": b"a", "1.3.6.1.2.1.1.6.0": NO_SUCH_OBJECT}
    walked = await agent.walk(["1.3.6.1.2.1.2.2.1.2"])
    assert walked == {"1.3.6.1.2.1.2.2.1.2": [("1", b"lo"), ("2", b"eth0")]}
    assert agent.unread() == ["1.3.6.1.2.1.2.2.1.3.1", "1.3.6.1.2.1.2.2.1.20"]


def test_unread_oids_are_grouped_by_column_then_coarser():
    oids = [f"1.3.6.1.2.1.2.2.1.{col}.{row}" for col in (2, 3) for row in (1, 2, 3)]
    assert group_oids(oids) == [("1.3.6.1.2.1.2.2.1.2", 3), ("1.3.6.1.2.1.2.2.1.3", 3)]
    assert group_oids(oids, max_groups=1) == [("1.3.6.1.2.1.2.2.1", 6)]


@pytest.mark.integration
@pytest.mark.skipif(not snmpd_available(), reason="snmpd not installed")
def test_a_walk_recorded_from_snmpd_reads_as_snmpget_sees_it(tmp_path):
    """snmpbulkwalk's own output (default options, numeric OIDs) of a real agent, read back:
    every value equals what snmpget -Ox -Ot answers for the same OID."""
    with run_snmpd(tmp_path, extra_config=["sysName tw-walk-test",
                                           'sysLocation Phòng máy 1']) as agent:
        out = agent.cli("snmpbulkwalk", "-v2c", "-c", "public", "-On", oids=["1.3.6.1.2.1.1"])
        walk = parse_walk(out)
        assert walk.problems == []
        assert walk.values["1.3.6.1.2.1.1.5.0"] == b"tw-walk-test"
        assert walk.values["1.3.6.1.2.1.1.6.0"] == "Phòng máy 1".encode()
        assert walk.values["1.3.6.1.2.1.1.2.0"] == "1.3.6.1.4.1.8072.3.2.10"
        checked = [oid for oid in walk.values if oid != "1.3.6.1.2.1.1.3.0"]  # uptime moves
        for oid, value, _ in agent.get_cli(checked, "2c"):
            assert walk.values[oid] == value, oid
