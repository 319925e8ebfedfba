"""`provisionhub lifecycle run`: the transitions people's validity windows call for, applied once."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import anyio
import typer

from provisionhub.auth.authenticator import directory_over
from provisionhub.cli.doors import database as _database
from provisionhub.scheduler import run_lifecycle

lifecycle_app = typer.Typer(
    help="Scheduled transitions from people's validity windows: pending, grace period, expired, unexpired.",
    no_args_is_help=True,
)


@lifecycle_app.command("run")
def lifecycle_run(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: {status: people moved}.")] = False,
) -> None:
    """Apply every transition due now, once (for cron): print how many people moved to each status."""
    with _database() as database:
        moved = anyio.run(run_lifecycle, directory_over(database))
    if as_json:
        sys.stdout.write(json.dumps({status.value: n for status, n in moved.items()}) + "\n")
    else:
        width = max(len(status.value) for status in moved)
        sys.stdout.writelines(f"{status.value:<{width}}  {n}\n" for status, n in moved.items())
