"""`tierwatch profile test PROFILE --walk FILE`: what a person sees when running a profile
against a recorded walk offline (the simulator's Eaton 9PX walk, sim/data/eaton-9px.snmprec;
expected values worked out by hand from that file and XUPS-MIB's units)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tierwatch.cli import app

WALK = "sim/data/eaton-9px.snmprec"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_samples_statuses_and_what_was_not_read():
    result = invoke("profile", "test", "eaton-ups", "--walk", WALK)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"walk: {WALK} (snmprec, 41 OIDs)"
    assert "profiles: system, eaton-ups" in lines
    assert "status: ok" in lines
    assert "  [ok] ups" in lines
    assert "  ups_output_load_ratio{} 0.38" in lines          # xupsOutputLoad 38 %
    assert "  ups_input_frequency_hertz{} 50" in lines        # xupsInputFrequency 500 tenths
    assert '  ups_output_volts{line="1"} 230' in lines
    unread = lines[lines.index(next(x for x in lines if x.startswith("not read:"))) + 1:]
    # sysContact, sysServices, xupsBatteryLastReplacedDate: in the walk, in no profile
    assert "  1.3.6.1.2.1.1.4  (1 OID)" in unread
    assert "  1.3.6.1.2.1.1.7  (1 OID)" in unread
    assert "  1.3.6.1.4.1.534.1.2.6  (1 OID)" in unread
    assert not any(x.startswith("  1.3.6.1.4.1.534.1.4.1 ") for x in unread)  # load: read


def test_auto_chooses_as_for_a_live_device_and_json_says_why():
    result = invoke("profile", "test", "auto", "--walk", WALK, "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["profiles"] == ["system", "eaton-ups"]
    assert body["auto"] == {"eaton-ups": "sysObjectID 1.3.6.1.4.1.534.1 is under "
                                         "1.3.6.1.4.1.534.1"}
    assert body["status"] == "ok"
    assert {"name": "ups_battery_runtime_seconds", "labels": {"device": "eaton-9px"},
            "value": 1980} in body["samples"]
    assert body["unread"]["oids"] > 0


def test_a_profile_that_finds_nothing_fails_the_command():
    result = invoke("profile", "test", "apc-ats", "--walk", WALK)
    assert result.exit_code == 1
    assert "no samples from: apc-ats" in result.output.splitlines()


def test_a_draft_profile_file_runs_with_its_includes(tmp_path):
    draft = tmp_path / "my-ups.yaml"
    draft.write_text("""name: my-ups
description: draft
include: [system]
scalars:
  - name: ups_battery_volts
    oid: 1.3.6.1.4.1.534.1.2.2.0
    help: Battery voltage (xupsBatVoltage)
""")
    result = invoke("profile", "test", str(draft), "--walk", WALK)
    assert result.exit_code == 0, result.output
    assert "profiles: system, my-ups" in result.output
    assert "  ups_battery_volts{} 72" in result.output.splitlines()


def test_unknown_profile_and_bad_walk_are_errors_not_tracebacks(tmp_path):
    result = invoke("profile", "test", "no-such-profile", "--walk", WALK)
    assert result.exit_code == 2
    assert "unknown profile 'no-such-profile'" in result.output
    (tmp_path / "junk").write_bytes(b"\x00\x01garbage")
    result = invoke("profile", "test", "system", "--walk", str(tmp_path / "junk"))
    assert result.exit_code == 2
    assert "neither .snmprec" in result.output
