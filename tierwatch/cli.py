"""The `tierwatch` command: a typer app assembled from the rooms' command modules."""

from __future__ import annotations

import logging
import os
import sys

import typer

from tierwatch.commands import alerts, core, demo, report, tier, token
from tierwatch.commands import discover as discover_commands
from tierwatch.commands import profile as profile_commands

app = typer.Typer(
    name="tierwatch",
    help="Tier III monitoring of a data center and its dedicated network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    log_level: str = typer.Option(
        os.environ.get("TIERWATCH_LOG_LEVEL", "info"), "--log-level",
        help="debug, info, warning or error", show_default=True),
) -> None:
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # APScheduler logs every job run at INFO, and every skipped run at WARNING, which the
    # service already logs (and counts) in its own words: keep APScheduler's errors only
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration step


for module in (core, demo, tier, alerts, report, token):
    module.register(app)
profile_commands.register(app)  # `tierwatch profile test|new`
discover_commands.register(app)  # `tierwatch discover RANGE...`


def main() -> None:
    app()
