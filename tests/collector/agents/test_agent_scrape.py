"""Scraping one host agent over HTTP: good answers, and every bad one counted by reason."""

from __future__ import annotations

import pytest

from collector.agents.profile import AgentPlan
from collector.agents.profiles import load_agent_profiles
from collector.agents.scrape import AgentTarget, open_client, scrape
from tests.helpers import FIXTURES_DIR
from tests.helpers.http_agents import serve
from tests.helpers.procs import free_port

SERVER = (FIXTURES_DIR / "agents"
          / "node-exporter-1.5-server.prom").read_bytes()
PLAN = AgentPlan(load_agent_profiles(["node-exporter"]))


async def run(url: str, timeout: float = 2.0, max_body: int = 1_000_000):  # type: ignore[no-untyped-def]
    async with open_client() as client:
        return await scrape("srv1", client, AgentTarget(url, timeout, max_body), PLAN,
                            {"device": "srv1", "room": "A"}, now=5.0)


@pytest.mark.parametrize("mode", ["ok", "gzip"])
async def test_a_good_answer_becomes_samples_and_statuses(mode: str) -> None:
    async with serve(mode, SERVER) as agent:
        out = await run(agent.url)
    r = out.result
    assert r.ok, r.message
    assert r.ts == 5.0 and r.duration > 0
    cpus = [s for s in r.samples if s.name == "host_cpus"]
    assert [(dict(s.labels), s.value) for s in cpus] == [({"device": "srv1", "room": "A"}, 4.0)]
    assert {c.component for c in r.components} >= {"host", "filesystem /", "power supplies"}
    assert r.roles == {"boot_time": 1.7e9}
    assert r.metadata["host_cpu_seconds_total"].type == "counter"
    # the agent's HELP text is kept when the profile gives none ... but ours wins here
    assert r.metadata["host_memory_size_bytes"].help == "Memory installed (MemTotal)"
    assert out.body_bytes == len(SERVER)
    assert out.series_scraped == SERVER.count(b"\nnode_")
    assert out.series_kept == len(r.samples)


async def test_openmetrics_answers_are_parsed_by_the_openmetrics_parser() -> None:
    body = (b"# TYPE node_load1 gauge\nnode_load1 0.5\n"
            b"# TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes 8\n# EOF\n")
    async with serve("openmetrics", body) as agent:
        out = await run(agent.url)
        # only the OpenMetrics parser insists on the closing `# EOF`
        agent.body = body.replace(b"# EOF\n", b"")
        truncated = await run(agent.url)
    assert truncated.result.error == "parse"
    assert out.result.ok, out.result.message
    assert {s.name: s.value for s in out.result.samples}["host_load1"] == 0.5


@pytest.mark.parametrize(("mode", "reason"), [
    ("html", "not_metrics"),
    ("http_500", "http_status"),
    ("garbage", "parse"),
    ("huge", "too_large"),
    ("silent", "timeout"),
    ("not_http", "protocol"),
])
async def test_bad_answers_are_errors_with_a_reason(mode: str, reason: str) -> None:
    async with serve(mode) as agent:
        out = await run(agent.url, timeout=1.0, max_body=200_000)
    r = out.result
    assert (r.ok, r.error) == (False, reason), r.message
    assert r.samples == [] and r.components == []
    assert r.message
    if mode == "huge":
        assert out.body_bytes == 0  # abandoned, not buffered


async def test_nothing_listening_is_a_connect_error() -> None:
    out = await run(f"http://127.0.0.1:{free_port()}/metrics")
    assert out.result.error == "connect"


async def test_an_empty_body_or_an_unknown_agent_is_no_data() -> None:
    async with serve("ok", b"") as agent:
        assert (await run(agent.url)).result.error == "no_data"
        agent.body = b"# TYPE go_goroutines gauge\ngo_goroutines 7\n"
        out = await run(agent.url)
    assert out.result.error == "no_data"
    assert "wrong profile" in out.result.message


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async with serve("ok", SERVER) as agent:
        out = await run(agent.url, max_body=1000)
    assert out.result.error == "too_large"
    assert str(len(SERVER)) in out.result.message


async def test_a_large_body_is_parsed_off_the_loop_with_the_same_answer() -> None:
    filler = b"".join(b'node_filler{n="%d"} 1\n' % i for i in range(5000))  # > 64 KiB
    async with serve("ok", SERVER + filler) as agent:
        out = await run(agent.url)
    assert out.result.ok
    assert out.series_scraped == SERVER.count(b"\nnode_") + 5000
    async with serve("ok", SERVER) as agent:
        small = await run(agent.url)
    assert sorted((s.name, tuple(s.labels.items()), s.value) for s in out.result.samples) == \
        sorted((s.name, tuple(s.labels.items()), s.value) for s in small.result.samples)


def test_a_target_repr_never_shows_its_headers() -> None:
    target = AgentTarget("http://h:9100/metrics", headers={"Authorization": "Bearer s3cr3t"})
    assert "s3cr3t" not in repr(target)
