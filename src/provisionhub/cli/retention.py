"""`provisionhub db prune`: retention's prune of finished deliveries, once (for cron)."""

from __future__ import annotations

from typing import Annotated

import anyio
import typer

from provisionhub.cli.doors import ACTOR, err
from provisionhub.cli.doors import database as _database
from provisionhub.cli.serve import db_app
from provisionhub.directory.operations import utcnow
from provisionhub.provisioning.retention import prune
from provisionhub.settings import Settings


@db_app.command("prune")
def db_prune(
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Remove finished deliveries older than this; default: the setting."),
    ] = None,
) -> None:
    """Remove finished deliveries (delivered, folded) and their attempts older than the retention period
    (PROVISIONHUB_RETENTION_DAYS), once (for cron): print how many went. Dead letters are kept."""
    kept = days if days is not None else Settings().retention_days
    if kept == 0:
        err.print("retention is off (PROVISIONHUB_RETENTION_DAYS=0): nothing removed")
        return
    with _database() as database:
        pruned = anyio.run(prune, database, kept, utcnow(), ACTOR)
    print(f"removed {pruned.deliveries} deliveries and {pruned.attempts} attempts older than {kept} days")
