"""token: API bearer tokens (api/tokens.py). A token is shown once, when it is made.

    tierwatch token create -c tierwatch.yaml --role operator --name "ca trực đêm"
    tierwatch token list -c tierwatch.yaml
    tierwatch token revoke -c tierwatch.yaml KEY
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from tierwatch.commands.core import ConfigOpt, load_or_exit, open_store_or_exit
from tierwatch.core.configtypes import parse_duration

if TYPE_CHECKING:
    from pathlib import Path

    from tierwatch.config import Config
    from tierwatch.core.store import Store

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


def _store(config_path: Path) -> tuple[Config, Store]:
    cfg = load_or_exit(config_path)
    return cfg, open_store_or_exit(cfg)


def _when(ts: float | None, tz: str) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@token_app.command("create")
def create(
    config: ConfigOpt,
    role: Annotated[str, typer.Option(help="viewer, operator or admin")],
    name: Annotated[str, typer.Option(help="who or what uses it")] = "",
    expires: Annotated[str | None, typer.Option(help="lifetime, e.g. 90d (default: none)")
                       ] = None,
) -> None:
    """Make a token and print it once: it is not stored, only its SHA-256 is."""
    from api.tokens import ROLES, create_token

    if role not in ROLES:
        typer.echo(f"error: --role {role!r}: use {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    now = time.time()
    try:
        until = now + parse_duration(expires) if expires else None
    except ValueError as exc:
        typer.echo(f"error: --expires: {exc}", err=True)
        raise typer.Exit(2) from None
    _cfg, store = _store(config)
    try:
        info, token = create_token(store, name or role, role, now, until)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    typer.echo(token)
    typer.echo(f"token {info.key} ({info.role}, {info.name}) created; it is shown only now: "
               "keep it in a secret store. Use it as `Authorization: Bearer <token>`.",
               err=True)


@token_app.command("list")
def list_command(
    config: ConfigOpt,
    all_: Annotated[bool, typer.Option("--all", help="revoked ones too")] = False,
) -> None:
    """The tokens (never their secrets)."""
    from api.tokens import list_tokens

    cfg, store = _store(config)
    try:
        tokens = list_tokens(store, include_revoked=all_)
    finally:
        store.close()
    tz = cfg.site.timezone
    typer.echo(f"{'key':8}  {'role':8}  {'created':16}  {'last used':16}  {'expires':16}  name")
    for t in tokens:
        state = f"  (revoked {_when(t.revoked, tz)})" if t.revoked else ""
        typer.echo(f"{t.key:8}  {t.role:8}  {_when(t.created, tz):16}  "
                   f"{_when(t.last_used, tz):16}  {_when(t.expires, tz):16}  {t.name}{state}")


@token_app.command("revoke")
def revoke_command(config: ConfigOpt,
                   ref: Annotated[str, typer.Argument(help="the token's key or id")]) -> None:
    """Revoke a token: requests with it are refused from now on."""
    from api.tokens import revoke

    _cfg, store = _store(config)
    try:
        info = revoke(store, ref, time.time())
    finally:
        store.close()
    if info is None:
        typer.echo(f"error: no active token {ref!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {info.key} ({info.role}, {info.name}) revoked")
