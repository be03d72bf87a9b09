"""The LLDP verdict as a status of the link's node: GET /api/v1/topology gives each declared
feed its verdict and whether the live tier counts it, each node the worst of its links';
the status page shows the same per node, and marks in the network's live tier the links it
scores out. With the live Tier engine running, and before it (the API scores the state
itself), the same answer."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from tests.helpers.api import api_context
from tierwatch.config import parse
from tierwatch.core.model import PollResult, Sample
from tierwatch.core.runtime import Runtime

CONFIG = """\
site: {{name: Trung tâm dữ liệu}}
store: {{url: "sqlite:///{tmp}/api.sqlite"}}
api: {{read_auth: open}}
credentials:
  c: {{version: 2c, community: public}}
devices:
  - {{id: core-1, address: 127.0.0.1, credentials: c, profile: [lldp]}}
  - {{id: core-2, address: 127.0.0.2, credentials: c, profile: [lldp]}}
topology:
  network:
    nodes:
      - {{id: C1, kind: carrier, capacity: 1000}}
      - {{id: C2, kind: carrier, capacity: 1000}}
      - {{id: E1, kind: router, capacity: 1000, fed_from: [C1]}}
      - {{id: E2, kind: router, capacity: 1000, fed_from: [C2]}}
      - {{id: CORE-1, kind: core, fed_from: [E1, E2], device: core-1}}
      - {{id: CORE-2, kind: core, fed_from: [E1, E2], device: core-2}}
      - {{id: D-NK, kind: district, demand: 100, name: "Nút quận Ninh Kiều", fed_from: [
          {{id: CORE-1, port: Gi1/0/15, neighbour: nk-dist}},
          {{id: CORE-2, port: Gi1/0/15, neighbour: nk-dist}}]}}
"""


def _lldp(device: str, ts: float, neighbour: str | None) -> PollResult:
    port = {"device": device, "lldp_port_num": "15", "port_id": "Gi1/0/15",
            "port_desc": "Gi1/0/15"}
    samples = [Sample("lldp_local_port_id_subtype", port, 5, ts)]
    if neighbour is not None:
        samples.append(Sample("lldp_remote_chassis_id_subtype", {
            "device": device, "lldp_time_mark": "0", "lldp_port_num": "15",
            "lldp_rem_index": "1", "rem_chassis_id": "aa:bb", "rem_sys_name": neighbour,
            "rem_port_id": "p1"}, 4, ts))
    return PollResult(device, ts, samples=samples)


def _check(api: Any) -> None:
    body = api.client.get("/api/v1/topology").json()
    nodes = {n["id"]: n for n in body["subsystems"]["network"]["nodes"]}
    dist = nodes["D-NK"]
    assert dist["lldp"] == "missing"  # the worst of its two links
    feeds = {f["id"]: f for f in dist["fed_from"]}
    assert (feeds["CORE-1"]["port"], feeds["CORE-1"]["lldp"]["verdict"],
            feeds["CORE-1"]["counted"]) == ("Gi1/0/15", "missing", False)
    assert feeds["CORE-1"]["lldp"]["expected"] == "nk-dist"
    assert feeds["CORE-1"]["lldp"]["since"] == 10.0
    assert (feeds["CORE-2"]["lldp"]["verdict"], feeds["CORE-2"]["counted"]) == ("ok", True)
    assert feeds["CORE-2"]["lldp"]["seen_here"] == ["nk-dist"]
    # nodes without a declared port have no link status; their feeds none either
    assert nodes["CORE-1"]["lldp"] is None
    assert nodes["CORE-1"]["fed_from"][0] == {"id": "E1", "mode": "auto", "port": None,
                                              "lldp": None, "counted": True}

    html = api.client.get("/?lang=vi").text
    network = html[html.index('id="subsystem-network"'):]
    network = network[:network.index("</section>")]
    # the live tier counts one path: Tier II, with the link it scored out named
    assert 'data-live-tier="2"' in network
    assert '<div class="notice unverified" id="unverified-network">' in network
    assert "<strong>CORE-1 → D-NK</strong>" in network and "không thấy" in network
    row = html[html.index('<tr id="lldp-node-D-NK"'):]
    row = row[:row.index("</tr>")]
    assert 'data-verdict="missing"' in row and "Nút quận Ninh Kiều" in row
    assert '<span data-from="CORE-1" data-verdict="missing" data-counted="no">' in row
    assert '<span data-from="CORE-2" data-verdict="ok" data-counted="yes">' in row
    assert "không được tính là đường" in row


async def test_link_status_per_node_in_the_api_and_the_status_page(tmp_path: Path) -> None:
    config = parse(textwrap.dedent(CONFIG.format(tmp=tmp_path))).config
    for api in api_context(config):
        service = api.service
        room = service.nethealth
        assert room is not None and service.live is not None
        rt = Runtime.for_tests(api.store, service.state, metrics=service.metrics,
                               clock=lambda: 10.0)
        await room.start(rt)
        service.state.update(_lldp("core-1", 10.0, None))  # nobody on CORE-1's trunk port
        service.state.update(_lldp("core-2", 10.0, "nk-dist"))
        try:
            _check(api)  # the API scores the state itself: the live tier is not running
            await service.live.start(rt)
            assert service.live.snapshot is not None
            assert service.live.snapshot.unverified_edges == {("CORE-1", "D-NK")}
            _check(api)  # the live tier's snapshot: the same
            metrics = api.client.get("/metrics").text
            assert ('tierwatch_tier_unverified_link{from="CORE-1",subsystem="network",'
                    'to="D-NK"} 1.0') in metrics
            assert metrics.count("tierwatch_tier_unverified_link{") == 1
        finally:
            await service.live.stop()
            await room.stop()
