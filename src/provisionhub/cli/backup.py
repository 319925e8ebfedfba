"""`provisionhub db backup FILE`: a copy of the live SQLite database (PostgreSQL: pg_dump)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from provisionhub.cli.doors import fail
from provisionhub.cli.serve import db_app
from provisionhub.settings import Settings
from provisionhub.store.backup import BackupRefused, backup_sqlite


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="The file to write (never overwritten without --force).")],
    force: Annotated[bool, typer.Option(help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Copy the SQLite database into FILE, safely while serve writes to it (PostgreSQL: use pg_dump)."""
    settings = Settings()
    started = time.monotonic()
    try:
        size = backup_sqlite(settings.database_url, file, force=force)
    except BackupRefused as refused:
        fail(str(refused))
    print(f"backed up to {file}: {size:,} bytes in {time.monotonic() - started:.1f} s")
