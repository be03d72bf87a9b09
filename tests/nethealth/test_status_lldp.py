"""The status page's LLDP table: each declared port's verdict, the unexpected neighbours,
the neighbours' own words escaped."""

from __future__ import annotations

import textwrap
from pathlib import Path

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
topology:
  network:
    nodes:
      - {{id: VNPT, kind: carrier, capacity: 1000}}
      - {{id: CORE-1, kind: core, fed_from: [VNPT], device: core-1}}
      - {{id: D-NK, kind: district, demand: 100, fed_from: [
          {{id: CORE-1, port: Gi1/0/15, neighbour: nk-dist}}]}}
"""

EVIL = '<img src=x onerror="alert(1)">'


def _lldp_poll(ts: float) -> PollResult:
    port = {"device": "core-1", "lldp_port_num": "15", "port_id": "Gi1/0/15",
            "port_desc": "Gi1/0/15"}
    remote = {"device": "core-1", "lldp_time_mark": "0", "lldp_port_num": "15",
              "lldp_rem_index": "1", "rem_chassis_id": "aa:bb", "rem_sys_name": EVIL,
              "rem_port_id": "p1"}
    return PollResult("core-1", ts, samples=[
        Sample("lldp_local_port_id_subtype", port, 5, ts),
        Sample("lldp_remote_chassis_id_subtype", remote, 4, ts)])


async def test_lldp_table_escapes_neighbour_names(tmp_path: Path) -> None:
    config = parse(textwrap.dedent(CONFIG.format(tmp=tmp_path))).config
    for api in api_context(config):
        room = api.service.nethealth
        assert room is not None
        await room.start(Runtime.for_tests(state=api.service.state))
        api.service.state.update(_lldp_poll(1.0))
        html = api.client.get("/?lang=vi").text
        table = html[html.index('<table id="lldp">'):]
        table = table[:table.index("</table>")]
        # the declared link, not seen where declared, and what the port sees instead
        assert '<tr data-verdict="missing"><td>CORE-1 → D-NK</td><td>core-1 Gi1/0/15</td>' in table
        assert "không thấy" in table and "nk-dist" in table
        assert '<tr data-verdict="unexpected">' in table
        assert EVIL not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in table
        await room.stop()
