"""run, check, poll: the commands that need nothing but a config (or an address)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from collector.config import CredentialConfig, DeviceConfig, SnmpConfig, check_snmp
from collector.profiles import ProfileError
from collector.snmp.client import DEFAULT_ENGINE, EngineUnavailable
from collector.snmp.component import SnmpPolling
from collector.snmp.poller import PollResult, device_status
from tierwatch.config import Config, ConfigError, load_with_warnings
from tierwatch.core.configerrors import pydantic_problems
from tierwatch.core.configtypes import host_port

if TYPE_CHECKING:
    from tierwatch.service import Service

if TYPE_CHECKING:
    from tierwatch.config import Config
    from tierwatch.core.store import Store

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="tierwatch.yaml to use")]


def load_or_exit(path: Path, show_warnings: bool = False) -> Config:
    try:
        result = load_with_warnings(path)
    except ConfigError as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(1) from None
    if show_warnings:
        for line in result.warnings:
            typer.echo(f"warning: {line}", err=True)
    return result.config


def open_store_or_exit(cfg: Config) -> Store:
    """The configured store, migrated; or `error: <which store, what is wrong, what to do>`
    on stderr and exit 1 (a damaged SQLite file, a database that does not answer)."""
    from tierwatch.core.store import Store, StoreUnavailable

    try:
        return Store.open(cfg.store.resolved_url())
    except StoreUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("run")(run)
    app.command("poll")(poll_command)


def check(config: ConfigOpt) -> None:
    """Validate a config file: print every problem with its key path; exit 1 on any."""
    try:
        result = load_with_warnings(config)
    except ConfigError as exc:
        for line in exc.warnings:
            typer.echo(f"warning: {line}", err=True)
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        typer.echo(f"{config}: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    for line in result.warnings:
        typer.echo(f"warning: {line}", err=True)
    cfg = result.config
    extra = ""
    if cfg.agents.hosts or cfg.probes.links or cfg.probes.sites:
        extra = (f", {len(cfg.agents.hosts)} host agents, {len(cfg.probes.links)} links, "
                 f"{len(cfg.probes.sites)} sites")
    typer.echo(f"{config}: ok ({len(cfg.devices)} devices, {len(cfg.credentials)} credentials"
               f"{extra})")


def run(
    config: ConfigOpt,
    listen: Annotated[str | None, typer.Option(envvar="TIERWATCH_LISTEN",
                                               help="override server.listen")] = None,
    shard: Annotated[str | None, typer.Option(
        envvar="TIERWATCH_SHARD", metavar="K/N",
        help="poll only shard K of N (0-based) of the devices; shards share a PostgreSQL "
             "store and one --tier-only instance runs the Tier engine")] = None,
    tier_only: Annotated[bool, typer.Option(
        "--tier-only", help="poll nothing: run the Tier engine and the report over the "
                            "statuses the shards write to the shared store")] = False,
) -> None:
    """Poll the configured devices and serve /metrics until interrupted."""
    from tierwatch.runner import run_forever
    from tierwatch.sharding import Shard

    part = None
    if shard is not None:
        try:
            part = Shard.parse(shard)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if tier_only:
            typer.echo("error: --shard and --tier-only are two different roles", err=True)
            raise typer.Exit(2)
    cfg = load_or_exit(config, show_warnings=True)
    backend = cfg.store.resolved_url().get_backend_name()
    if ((part is not None and part.count > 1) or tier_only) and backend == "sqlite":
        typer.echo("warning: shards and the tier instance share one store; SQLite works on "
                   "one host only (use PostgreSQL, docs/scaling.md)", err=True)
    from tierwatch.core.store import StoreUnavailable

    try:
        asyncio.run(run_forever(cfg, listen=listen, shard=part, tier_only=tier_only))
    except StoreUnavailable as exc:  # says which store, what is wrong and what to do
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def poll_command(
    target: Annotated[str, typer.Argument(
        help="a device id from the config, or udp://HOST[:PORT] to poll without a config")],
    config: Annotated[Path | None, typer.Option("--config", "-c")] = None,
    profile: Annotated[list[str], typer.Option(
        help="profile(s) for udp:// targets; auto (the default) picks them by sysObjectID")
    ] = ["auto"],  # noqa: B006
    version: Annotated[str, typer.Option(help="1, 2c or 3")] = "2c",
    community: Annotated[str, typer.Option(envvar="TIERWATCH_COMMUNITY",
                                           help="community (or $TIERWATCH_COMMUNITY)")] = "public",
    user: Annotated[str, typer.Option(help="SNMPv3 user")] = "",
    auth_protocol: Annotated[str | None, typer.Option(help="MD5, SHA, SHA224 ... SHA512")] = None,
    auth_key: Annotated[str, typer.Option(envvar="TIERWATCH_AUTH_KEY",
                                          help="(or $TIERWATCH_AUTH_KEY)")] = "",
    priv_protocol: Annotated[str | None, typer.Option(help="DES, AES, AES192, AES256")] = None,
    priv_key: Annotated[str, typer.Option(envvar="TIERWATCH_PRIV_KEY",
                                          help="(or $TIERWATCH_PRIV_KEY)")] = "",
    timeout: Annotated[float, typer.Option(help="seconds per attempt")] = 2.0,
    retries: Annotated[int, typer.Option()] = 1,
    engine: Annotated[str, typer.Option(help="SNMP engine: native, pysnmp or snmpkit")
                      ] = DEFAULT_ENGINE,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Poll one device once and print what tierwatch would record."""
    if target.startswith("udp://"):
        polling, device_id = _adhoc_polling(
            target, profile, engine, timeout, retries, version=version, community=community,
            user=user, auth_protocol=auth_protocol, auth_key=auth_key,
            priv_protocol=priv_protocol, priv_key=priv_key)
        result = asyncio.run(_poll(polling, device_id))
        result.device = target
    else:
        if config is None:
            typer.echo("error: give --config FILE with a device id, or a udp:// target", err=True)
            raise typer.Exit(2)
        from tierwatch.service import Service

        service = Service(load_or_exit(config))
        if target not in service.state.devices:
            known = ", ".join(sorted(service.state.devices)) or "none"
            typer.echo(f"error: no device {target!r} in the config (devices: {known})", err=True)
            raise typer.Exit(2)
        result = asyncio.run(_poll_configured(service, target))
    status = str(device_status(result)) if result.ok else "unknown"
    if as_json:
        typer.echo(json.dumps(result.to_json(status), ensure_ascii=False, indent=1))
    else:
        _print_human(result, status)
    if not result.ok:
        raise typer.Exit(1)


def _adhoc_polling(target: str, profile: list[str], engine: str, timeout: float,
                   retries: int, **credential: str | None) -> tuple[SnmpPolling, str]:
    """The collector's SNMP polling for one device given on the command line, checked as a
    config's would be (one `credentials:` entry, one `devices:` entry)."""
    address = target.removeprefix("udp://")
    fields = {k: v for k, v in credential.items() if v}
    if str(fields.get("version", "")).lower().removeprefix("v") == "3":
        fields.pop("community", None)
    try:
        host, port = host_port(address, default_port=161)
        cred = CredentialConfig.model_validate(fields)
        device_id = re.sub(r"[^A-Za-z0-9_.:-]", "_", f"{host.strip('[]')}:{port}")
        device = DeviceConfig(id=device_id, address=address, credentials="cli", profile=profile)
        snmp = SnmpConfig.model_validate(
            {"engine": engine, "defaults": {"timeout": timeout, "retries": retries}})
        problems = check_snmp(snmp, {"cli": cred}, [device])
        if problems:
            raise ValueError("; ".join(f"--{k.rpartition('.')[2]}: {m}" for k, m in problems))
        return SnmpPolling(snmp, {"cli": cred}, [device]), device_id
    except ValidationError as exc:
        problems = pydantic_problems(exc)
        typer.echo("error: " + "; ".join(m if k == "(top level)" else f"--{k}: {m}"
                                         for k, m in problems), err=True)
    except (ProfileError, EngineUnavailable, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


async def _poll(polling: SnmpPolling, device_id: str) -> PollResult:
    try:
        return await polling.poll(device_id)
    finally:
        await polling.stop()


async def _poll_configured(service: Service, device_id: str) -> PollResult:
    try:
        return await service.poll_once(device_id)
    finally:
        await service.stop()


def _print_human(result: PollResult, status: str) -> None:
    if not result.ok:
        typer.echo(f"{result.device}: {result.error}: {result.message}")
        return
    got = f"{result.varbinds} varbinds" if result.varbinds else f"{len(result.samples)} samples"
    typer.echo(f"{result.device}: {status} ({got} in {result.duration * 1000:.0f} ms)")
    for comp in result.components:
        reason = f" - {comp.reason}" if comp.reason and comp.status != "ok" else ""
        typer.echo(f"  [{comp.status}] {comp.component}{reason}")
    for sample in result.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items() if k != "device")
        typer.echo(f"  {sample.name}{{{labels}}} {sample.value:g}")
    for problem in filter(None, result.message.split("; ")):  # values refused, and why
        typer.echo(f"  refused: {problem}")
