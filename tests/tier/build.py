"""Small builders for topologies in tier tests."""

from __future__ import annotations

from typing import Any

import yaml

from tests.helpers import FIXTURES_DIR
from tier.topology import TopologyConfig

FIXTURES = FIXTURES_DIR / "topologies"


def node(node_id: str, kind: str, *feeds: str | dict[str, str], **fields: Any) -> dict[str, Any]:
    """A node dict: `node("PDU-B", "pdu", manual("UPS-B"))`, `node("R", "rack", "A", demand=5)`."""
    out: dict[str, Any] = {"id": node_id, "kind": kind, **fields}
    if feeds:
        out["fed_from"] = list(feeds)
    return out


def manual(node_id: str) -> dict[str, str]:
    return {"id": node_id, "mode": "manual"}


def topology(
    power: list[dict[str, Any]] | None = None,
    cooling: list[dict[str, Any]] | None = None,
    network: list[dict[str, Any]] | None = None,
    groups: dict[str, list[dict[str, Any]]] | None = None,
) -> TopologyConfig:
    data: dict[str, Any] = {}
    for name, nodes in (("power", power), ("cooling", cooling), ("network", network)):
        if nodes is not None:
            data[name] = {"nodes": nodes, "groups": (groups or {}).get(name, [])}
    return TopologyConfig.model_validate(data)


def fixture_topology(name: str) -> TopologyConfig:
    data = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))
    return TopologyConfig.model_validate(data["topology"])


def cli(*args: str) -> tuple[int, str, str]:
    """Run `tierwatch ARGS` in this process (typer's runner): exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from tierwatch.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def cli_json(*args: str, code: int = 0) -> dict[str, Any]:
    """`tierwatch ARGS --json --offline`, checked for the exit code, parsed."""
    import json

    exit_code, out, err = cli(*args, "--json", "--offline")
    assert exit_code == code, err
    parsed: dict[str, Any] = json.loads(out)
    return parsed


def fixture_path(name: str) -> str:
    return str(FIXTURES / name)


def fixture_config_topology(name: str) -> TopologyConfig:
    """A fixture read the way `tierwatch` reads it (the config loader, YAML text kept)."""
    from tierwatch.config import load

    return load(FIXTURES / name).topology
