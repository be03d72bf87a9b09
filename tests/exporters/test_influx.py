"""The InfluxDB exporter: line protocol, the disk buffer, and what each server answer does.

The exporter talks real HTTP (influxdb-client) to a loopback server that answers with
scripted statuses (tests/helpers/http_sink.py); the real-database test is
tests/exporters/test_influx_victoriametrics.py.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporters.influx import ExportMetrics, InfluxExporter, InfluxSender, classify_status
from exporters.influx_buffer import DiskBuffer
from exporters.influx_config import InfluxConfig
from exporters.lineprotocol import LineEncoder
from exporters.prometheus import MetricsExporter
from tests.helpers import FIXTURES_DIR
from tests.helpers.http_sink import run_sink
from tier.graph import compile_topology
from tier.score import score
from tier.status import NodeStatus
from tierwatch.config import ConfigError, load, parse
from tierwatch.core.model import ComponentStatus, PollResult, Sample, Status, StatusChange
from tierwatch.core.runtime import Runtime
from tierwatch.core.state import State

FIXTURES = FIXTURES_DIR / "topologies"
TOKEN = "s3cr3t-influx-token-value"


# --------------------------------------------------------------------------- line protocol


@pytest.mark.parametrize(("labels", "tags"), [
    ({"device": "ups-a"}, ",device=ups-a"),
    ({"z": "1", "a": "2"}, ",a=2,z=1"),  # sorted by key
    ({"room": "phòng máy 1"}, ",room=phòng\\ máy\\ 1"),
    ({"if_alias": "a,b=c"}, ",if_alias=a\\,b\\=c"),
    ({"path": "C:\\dir\\"}, ",path=C:\\\\dir\\\\"),  # a trailing backslash cannot eat a comma
    ({"if_alias": ""}, ""),  # line protocol has no empty tag: left out
    ({"descr": "two\nlines"}, ",descr=two\\ lines"),
])
def test_sample_tags_are_escaped_sorted_and_never_empty(labels: dict[str, str],
                                                        tags: str) -> None:
    lines, skipped = LineEncoder().samples([Sample("m", labels, 1.5, 100.25)], 0)
    assert lines == [f"m{tags} value=1.5 100250"]
    assert skipped == 0


def test_values_stay_floats_and_non_finite_values_are_counted() -> None:
    samples = [Sample("a", {}, 12.0, 1), Sample("b", {}, math.nan, 1),
               Sample("c", {}, math.inf, 1), Sample("d", {}, 1e20, 1)]
    lines, skipped = LineEncoder().samples(samples, 0)
    assert lines == ["a value=12 1000", "d value=1e+20 1000"]  # no `i`: the field is a float
    assert skipped == 2


def test_a_sample_without_a_time_takes_the_poll_time_and_global_tags_yield_to_labels() -> None:
    enc = LineEncoder({"site": "cantho", "device": "never"})
    lines, _ = enc.samples([Sample("m", {"device": "ups-a"}, 1, 0.0)], default_ts=7.5)
    assert lines == ["m,device=ups-a,site=cantho value=1 7500"]


def test_status_change_point() -> None:
    change = StatusChange("ups-a", "ups", Status.OK, Status.DEGRADED, 'on "battery"', 10.0)
    assert LineEncoder().status_change(change) == (
        'tierwatch_component_status,component=ups,device=ups-a,status=degraded '
        'code=2i,reason="on \\"battery\\"" 10000')
    # VictoriaMetrics stores string fields as 0: they can be turned off
    assert LineEncoder(string_fields=False).status_change(change).split(" ")[1] == "code=2i"


def test_tier_snapshot_points() -> None:
    topo = compile_topology(load(FIXTURES / "example2.yaml").topology)
    snap = score(topo, {"UPS-B": NodeStatus.BYPASS})
    lines = LineEncoder().snapshot(snap, 1.0)
    by_measurement: dict[str, list[str]] = {}
    for line in lines:
        by_measurement.setdefault(line.split(",")[0].split(" ")[0], []).append(line)
    assert "tierwatch_tier,subsystem=power design=3i,live=1i 1000" in lines
    assert "tierwatch_tier,subsystem=site design=3i,live=1i 1000" in lines
    (readiness,) = by_measurement["tierwatch_readiness"]
    assert readiness.startswith(f"tierwatch_readiness score={snap.score!r}".replace(".0 ", " "))
    ups = next(line for line in by_measurement["tierwatch_capacity"] if "group=ups" in line)
    assert "spare=0i" in ups and 'label="N"' in ups
    (sub,) = by_measurement["tierwatch_subsystem"]
    assert "maintainability_failures=3i" in sub


# --------------------------------------------------------------------------- disk buffer


def test_buffer_survives_a_reopen_and_keeps_order(tmp_path: Path) -> None:
    buf = DiskBuffer(tmp_path / "b.sqlite", 10_000_000)
    buf.append(["a value=1 1", "a value=2 2"])
    buf.append(["b value=3 3"])
    buf.close()
    buf = DiskBuffer(tmp_path / "b.sqlite", 10_000_000)
    assert (buf.batches, buf.points) == (2, 3)
    first = buf.oldest()
    assert first is not None and first.lines == ["a value=1 1", "a value=2 2"]
    buf.remove(first)
    buf.remove(first)  # twice is harmless: counted once
    assert (buf.batches, buf.points) == (1, 1)


def test_buffer_drops_the_oldest_batches_to_stay_within_its_bound(tmp_path: Path) -> None:
    # incompressible lines, so the sizes are predictable
    import secrets

    def batch(n: int) -> list[str]:
        return [f"m,k={secrets.token_hex(40)} value={i} {i}" for i in range(n)]

    probe = DiskBuffer(tmp_path / "probe.sqlite", 10_000_000)
    probe.append(batch(10))
    one = probe.bytes
    buf = DiskBuffer(tmp_path / "b.sqlite", int(one * 3.5))
    dropped = [buf.append(batch(10)) for _ in range(5)]
    assert dropped == [0, 0, 0, 10, 10]
    assert buf.points == 30 and buf.bytes <= buf.max_bytes
    assert buf.append(batch(100)) == 100  # bigger than the whole buffer: refused, counted
    assert buf.points == 30


def test_a_damaged_buffer_file_is_set_aside_not_fatal(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "b.sqlite"
    path.write_bytes(b"this is not an sqlite database" * 200)
    buf = DiskBuffer(path, 1_000_000)
    assert buf.points == 0
    assert list(tmp_path.glob("b.sqlite.damaged-*"))
    assert "damaged" in caplog.text
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM batches").fetchone() == (0,)


# --------------------------------------------------------------------------- the exporter


def section(url: str, tmp: Path, **extra: object) -> InfluxConfig:
    return InfluxConfig.model_validate({
        "url": url, "org": "city", "bucket": "tw", "token": TOKEN, "batch_size": 3,
        "flush_interval": "1h", "retry": {"initial": "10ms", "max": "20ms"},
        "buffer": {"path": str(tmp / "buffer.sqlite")}, **extra})


def result(device: str, ts: float, n: int = 2) -> PollResult:
    return PollResult(device, ts, samples=[
        Sample("ups_output_load_ratio", {"device": device, "phase": str(i)}, i / 10, ts)
        for i in range(n)])


def metric(ex: InfluxExporter, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(
            b"".join(_render(ex)).decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def _render(ex: InfluxExporter) -> list[bytes]:
    from prometheus_client import CollectorRegistry, generate_latest

    reg = CollectorRegistry(auto_describe=False)
    reg.register(ExportMetrics(ex))
    return [generate_latest(reg)]


async def test_points_go_out_gzipped_with_token_org_bucket_and_ms_precision(
        tmp_path: Path) -> None:
    with run_sink() as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            ex.on_result(result("ups-a", 100.0))
            ex.on_changes([StatusChange("ups-a", "ups", None, Status.OK, "ok", 100.0)])
            await ex.flush()
        finally:
            await ex.stop()
    (req,) = sink.requests
    assert req.path == "/api/v2/write"
    assert req.query["org"] == ["city"] and req.query["bucket"] == ["tw"]
    assert req.query["precision"] == ["ms"]
    assert req.headers["Authorization"] == f"Token {TOKEN}"
    assert req.headers["Content-Encoding"] == "gzip"
    assert sink.accepted_lines() == [
        "ups_output_load_ratio,device=ups-a,phase=0 value=0 100000",
        "ups_output_load_ratio,device=ups-a,phase=1 value=0.1 100000",
        'tierwatch_component_status,component=ups,device=ups-a,status=ok code=0i,reason="ok" '
        "100000"]
    assert ex.counters.written == 3 and ex.counters.errors == 0


async def test_a_5xx_keeps_the_batch_and_the_retry_delivers_it(tmp_path: Path) -> None:
    with run_sink([503, 500, (429, {"Retry-After": "0"})]) as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            ex.on_result(result("ups-a", 1.0, n=3))
            for _ in range(50):
                await ex.flush()
                if ex.counters.written:
                    break
                await _sleep(0.02)
        finally:
            await ex.stop()
    assert sink.answers[:4] == [503, 500, 429, 204]
    assert len(sink.accepted_lines()) == 3
    assert ex.counters.errors == 3 and ex.counters.written == 3
    assert ex.counters.dropped == {"buffer_full": 0, "rejected": 0, "not_finite": 0}


async def test_a_400_drops_the_batch_and_counts_it_then_writing_goes_on(tmp_path: Path) -> None:
    with run_sink([400]) as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            ex.on_result(result("ups-a", 1.0, n=3))  # one full batch: refused
            await ex.flush()
            ex.on_result(result("ups-a", 2.0, n=2))
            await ex.flush()
        finally:
            await ex.stop()
    assert sink.answers == [400, 204]
    assert ex.counters.dropped is not None and ex.counters.dropped["rejected"] == 3
    assert ex.counters.written == 2 and ex.counters.errors == 1
    assert metric(ex, "tierwatch_export_dropped_total", reason="rejected") == 3
    assert metric(ex, "tierwatch_export_errors_total", exporter="influx") == 1


async def test_a_413_splits_the_batch(tmp_path: Path) -> None:
    with run_sink([413]) as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            ex.on_result(result("ups-a", 1.0, n=3))
            await ex.flush()
        finally:
            await ex.stop()
    assert sink.answers == [413, 204, 204]
    assert sorted(sink.accepted_lines()) == sorted(
        line for req in sink.requests[:1] for line in req.body.decode().split("\n"))


async def test_a_wrong_token_keeps_the_data_and_never_shows_the_token(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with run_sink(default=401) as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests())
        try:
            ex.on_result(result("ups-a", 1.0))
            await ex.flush()
            assert ex.buffered_points == 2  # kept: a token can be fixed, data not re-made
            assert "401" in ex.counters.last_error
        finally:
            await ex.stop()
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(InfluxSender(section(sink.url, tmp_path)))


async def test_unreachable_database_keeps_points_on_disk_across_a_restart(
        tmp_path: Path) -> None:
    from tests.helpers.procs import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    ex = InfluxExporter(section(dead, tmp_path))
    await ex.start(Runtime.for_tests())
    ex.on_result(result("ups-a", 1.0, n=2))
    ex.on_result(result("ups-a", 2.0, n=2))
    await ex.flush()
    assert ex.counters.errors >= 1
    assert metric(ex, "tierwatch_export_buffered_points") == 4
    await ex.stop()

    with run_sink() as sink:
        again = InfluxExporter(section(sink.url, tmp_path))
        await again.start(Runtime.for_tests())
        try:
            assert again.buffered_points == 4
            await again.flush()
        finally:
            await again.stop()
    assert len(sink.accepted_lines()) == 4
    assert again.buffered_points == 0


async def test_buffer_full_during_an_outage_is_counted_in_the_self_metrics(
        tmp_path: Path) -> None:
    from tests.helpers.procs import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    ex = InfluxExporter(section(dead, tmp_path, buffer={
        "path": str(tmp_path / "small.sqlite"), "max_size": 600}))
    await ex.start(Runtime.for_tests())
    try:
        for i in range(40):
            ex.on_result(PollResult("d", float(i), samples=[
                Sample(f"metric_{i}_{j}", {"device": f"dev-{i}-{j}"}, i * 1.1 + j, float(i))
                for j in range(3)]))
            await ex.flush()
        dropped = metric(ex, "tierwatch_export_dropped_total", reason="buffer_full")
        assert dropped and dropped > 0
        assert ex.buffer is not None and ex.buffer.bytes <= 600
        assert dropped + ex.buffered_points == 120  # every point is written, kept or counted
    finally:
        await ex.stop()


async def test_polls_flow_in_through_the_state(tmp_path: Path) -> None:
    state = State(["ups-a"])
    with run_sink() as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests(state=state))  # it subscribes to the state
        try:
            state.update(result("ups-a", 5.0))
            await ex.flush()
        finally:
            await ex.stop()
    lines = sink.accepted_lines()
    assert sum(line.startswith("ups_output_load_ratio,") for line in lines) == 2
    assert any(line.startswith("tierwatch_component_status,component=device,device=ups-a,"
                               "status=ok") for line in lines)


async def test_samples_a_room_derives_from_a_poll_are_written_too(tmp_path: Path) -> None:
    """Interface rates join the device's series through State.add_samples after the poll is
    folded in; the database gets them as it gets the poll's own, at the poll's time, and
    not when `write.samples` is off."""
    rate = Sample("if_traffic_bytes_per_second",
                  {"device": "core-1", "if_name": "Gi1/0/15", "direction": "in"}, 15625000.0,
                  60.0)
    for samples_on, expected in ((True, 1), (False, 0)):
        state = State(["core-1"])
        with run_sink() as sink:
            ex = InfluxExporter(section(sink.url, tmp_path / str(samples_on),
                                        write={"samples": samples_on, "statuses": False}))
            await ex.start(Runtime.for_tests(state=state))
            try:
                state.update(result("core-1", 60.0))
                state.add_samples("core-1", [rate], {})
                await ex.flush()
            finally:
                await ex.stop()
        lines = sink.accepted_lines()
        derived = [line for line in lines if line.startswith("if_traffic")]
        assert derived == [
            "if_traffic_bytes_per_second,device=core-1,direction=in,if_name=Gi1/0/15 "
            "value=15625000 60000"][:expected]
        assert sum(line.startswith("ups_output_load_ratio,") for line in lines) == 2 * expected


def test_self_metrics_names_in_the_exporter() -> None:
    ex = InfluxExporter(InfluxConfig())
    reg = MetricsExporter(State())
    reg.metrics.register(ExportMetrics(ex))
    text = reg.render().decode()
    for name in ("tierwatch_export_points_total", "tierwatch_export_errors_total",
                 "tierwatch_export_dropped_total", "tierwatch_export_buffered_points",
                 "tierwatch_export_buffer_bytes", "tierwatch_export_buffer_limit_bytes"):
        assert f"\n{name}{{" in text, name


@pytest.mark.parametrize(("status", "retryable"), [
    (500, True), (502, True), (503, True), (429, True), (401, True), (403, True), (404, True),
    (400, False), (422, False), (413, False)])
def test_which_answers_are_retried(status: int, retryable: bool) -> None:
    assert classify_status(status).retryable is retryable


# --------------------------------------------------------------------------- config


def test_config_section(monkeypatch: pytest.MonkeyPatch) -> None:
    text = """
site: {name: t}
influx:
  url: https://influx.example:8086/
  org: city
  bucket: tw
  token: ${TW_INFLUX_TOKEN}
  buffer: {max_size: 64MB}
  tags: {site: cantho}
"""
    monkeypatch.setenv("TW_INFLUX_TOKEN", TOKEN)
    result = parse(text)
    section = result.config.influx
    assert section.url == "https://influx.example:8086" and section.buffer.max_size == 64_000_000
    assert result.warnings == []
    assert TOKEN not in repr(result.config) and "TW_INFLUX_TOKEN" not in repr(section)

    monkeypatch.delenv("TW_INFLUX_TOKEN")
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert any("influx.token: environment variable TW_INFLUX_TOKEN is not set" in p
               for p in err.value.problems)


@pytest.mark.parametrize(("body", "message"), [
    ("url: ftp://x", "influx.url: 'ftp://x': the InfluxDB url is http(s)://HOST[:PORT]"),
    ("url: http://x:8086", "influx: org and bucket must be set with url"),
    ("url: http://x\n  org: o\n  bucket: b\n  buffer: {max_size: 0}",
     "influx.buffer.max_size: must be more than 0"),
    ("url: http://x\n  org: o\n  bucket: b\n  retry: {initial: 1m, max: 1s}",
     "influx.retry: retry.max must be at least retry.initial"),
    ("url: http://x\n  org: o\n  bucket: b\n  bukcet: c", "influx.bukcet: unknown key"),
])
def test_config_errors_name_the_key(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(f"site: {{name: t}}\ninflux:\n  {body}\n")
    assert any(message in p for p in err.value.problems), err.value.problems


def test_a_literal_token_over_plain_http_warns() -> None:
    result = parse("site: {name: t}\ninflux: {url: 'http://10.0.0.5:8086', org: o, bucket: b, "
                   f"token: {TOKEN}}}\n")
    text = "\n".join(result.warnings)
    assert "influx.token: secret written literally" in text and "plain http" in text
    assert TOKEN not in text


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_statuses_known_before_the_exporter_started_are_written(tmp_path: Path) -> None:
    state = State(["ups-a", "ups-b"])
    state.update(PollResult("ups-a", 5.0, components=[
        ComponentStatus("ups", Status.DEGRADED, "on battery")]))

    with run_sink() as sink:
        ex = InfluxExporter(section(sink.url, tmp_path))
        await ex.start(Runtime.for_tests(state=state))
        try:
            await ex.flush()
        finally:
            await ex.stop()
    status_lines = sorted(line.split(" ")[0] for line in sink.accepted_lines()
                          if line.startswith("tierwatch_component_status,"))
    assert status_lines == [  # ups-b has not been polled: nothing to say about it yet
        "tierwatch_component_status,component=device,device=ups-a,status=degraded",
        "tierwatch_component_status,component=ups,device=ups-a,status=degraded"]
