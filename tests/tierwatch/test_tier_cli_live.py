"""`tierwatch score` and `tierwatch whatif` on the live state of a running monitor.

The monitor here is the real HTTP app (api/main.py) served by uvicorn on a free loopback
port, over a live tier fed by the test; the commands run as a user runs them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from api.config import ApiConfig
from api.context import ApiContext
from api.main import create_app
from collector.directory import DeviceDirectory
from exporters.prometheus import MetricsExporter
from tests.helpers.procs import env_with_repo, free_port
from tests.livetier.live_helpers import (
    BYPASS,
    DEVICES,
    EXAMPLE2,
    OK,
    config,
    poll,
    settle,
    start_live,
)
from tierwatch.core.state import State
from tierwatch.httpserver import HttpServer
from tierwatch.service import report_settings


async def cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tierwatch",
        *args,
        env=env_with_repo(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@asynccontextmanager
async def monitor(ups_b: object = BYPASS) -> AsyncIterator[str]:
    """A monitor whose live state has UPS-B as given; yields its listen address. Its reads
    are open (no store to check tokens against)."""
    cfg = config().model_copy(update={"api": ApiConfig(read_auth="open")})
    state = State(cfg.device_ids())
    live, rt = await start_live(cfg, state)
    seq = live.snapshot.seq
    poll(state, "ups-a", 1001.0, OK)
    poll(state, "ups-b", 1001.0, ups_b)  # type: ignore[arg-type]
    await settle(live, seq)
    context = ApiContext(
        config=cfg, state=state, exporter=MetricsExporter(state, rt.metrics),
        devices=DeviceDirectory(cfg.devices, cfg.agents, cfg.probes),
        reports=report_settings(cfg), store=lambda: None, ready=lambda: True, live=live)
    server = HttpServer(create_app(context), "127.0.0.1:0")
    host, port = await server.start()
    try:
        yield f"{host}:{port}"
    finally:
        await server.stop()
        await live.stop()


def config_file(tmp: Path, listen: str, topology: str = EXAMPLE2) -> Path:
    path = tmp / "tierwatch.yaml"
    path.write_text(DEVICES + f"server: {{listen: '{listen}'}}\n" + topology, encoding="utf-8")
    return path


async def test_whatif_asks_the_running_monitor_and_says_not_now(tmp_path: Path) -> None:
    async with monitor() as listen:
        path = config_file(tmp_path, listen)
        code, out, err = await cli("whatif", "-c", str(path), "--remove", "UPS-A")
        assert code == 3, err
        assert out.splitlines()[0].startswith("not now: UPS-B is on bypass"), out
        assert f"live state from the monitor at http://{listen}" in err
        code, out, err = await cli("score", "-c", str(path), "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["source"]["live"] is True and doc["source"]["as_of"] == 1001.0
        power = doc["subsystems"]["power"]
        assert (power["design_tier"], power["live_tier"]) == (3, 1)
        # --assume still overrides what the monitor says
        code, out, _ = await cli(
            "whatif", "-c", str(path), "--remove", "UPS-A", "--assume", "UPS-B=ok"
        )
        assert code == 0, out
        assert out.startswith("yes: taking UPS-A out drops no load")
        # --offline does not ask at all
        code, out, err = await cli("whatif", "-c", str(path), "--remove", "UPS-A", "--offline")
        assert code == 0 and "--offline: every node is taken as available" in err


async def test_a_monitor_with_another_topology_is_not_believed(tmp_path: Path) -> None:
    async with monitor() as listen:
        other = EXAMPLE2.replace("demand: 80", "demand: 70")
        path = config_file(tmp_path, listen, other)
        code, out, err = await cli("score", "-c", str(path), "--json")
        assert code == 0, err
        assert "runs a different topology" in err
        doc = json.loads(out)
        assert doc["source"]["live"] is False
        assert doc["subsystems"]["power"]["live_tier"] == 3  # the design state


async def test_no_monitor_means_the_design_state_and_a_note(tmp_path: Path) -> None:
    path = config_file(tmp_path, f"127.0.0.1:{free_port()}")
    code, out, err = await cli("whatif", "-c", str(path), "--remove", "UPS-A", "--json")
    assert code == 0, err
    assert "no monitor answers at http://127.0.0.1:" in err
    assert "every node is taken as available" in err
    assert json.loads(out)["source"] == {
        "live": False,
        "url": None,
        "as_of": None,
        "note": err.strip().removeprefix("note: "),
    }
