"""/metrics over real HTTP (uvicorn on a free loopback port): the answer is sent in pieces
(the state's series a mebibyte at a time, then the registry's), and what arrives is the
whole exposition, exactly, with a Content-Length that says so."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from api.main import create_app
from tierwatch.config import parse
from tierwatch.core.model import MetricMeta, PollResult, Sample
from tierwatch.httpserver import HttpServer
from tierwatch.service import Service

DEVICES = 200
PORTS = 48


def service_with_samples() -> Service:
    lines = ["site: {name: t}", "credentials: {c: {version: 2c, community: public}}",
             "devices:"]
    lines += [f"  - {{id: sw{n:03d}, address: '127.0.0.1:{1000 + n}', credentials: c, "
              f"profile: if-mib}}" for n in range(DEVICES)]
    service = Service(parse("\n".join(lines) + "\n").config)
    meta = {"if_hc_in_octets_total": MetricMeta("counter", "Octets in"),
            "if_oper_status": MetricMeta("gauge", "Oper status")}
    for n in range(DEVICES):
        samples = []
        for port in range(1, PORTS + 1):
            labels = {"device": f"sw{n:03d}", "if_index": str(port),
                      "if_alias": f"tầng {port % 7} — phòng máy chủ {'x' * 40}"}
            samples += [Sample("if_hc_in_octets_total", labels, port * 10**12 + n, 1.0),
                        Sample("if_oper_status", labels, 1 + port % 2, 1.0)]
        service.state.update(PollResult(f"sw{n:03d}", 1.0, 0.05, samples, metadata=meta,
                                        varbinds=len(samples)))
    return service


def fetch(url: str) -> tuple[int, str | None, bytes]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.headers.get("Content-Length"), answer.read()


async def test_metrics_arrives_whole_in_pieces() -> None:
    service = service_with_samples()
    server = HttpServer(create_app(service.api_context()), "127.0.0.1:0")
    await server.start()
    try:
        status, length, body = await asyncio.to_thread(fetch, f"{server.url}/metrics")
    finally:
        await server.stop()
    assert status == 200
    assert len(body) > 2 * (1 << 20)  # more than two pieces of the state's series
    assert length == str(len(body))
    # nothing changed in between: the same bytes the exporter renders in one piece
    assert body == service.exporter.render()
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    octets = families["if_hc_in_octets"].samples
    assert len(octets) == DEVICES * PORTS
    assert any(s.labels["if_alias"].startswith("tầng 3 — phòng") for s in octets)
    assert "tierwatch_build_info" in families  # the registry's part came after the state's
