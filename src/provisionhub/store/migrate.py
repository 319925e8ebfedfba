"""Applying Alembic migrations from code (`provisionhub db upgrade`, `serve`, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema behind engine up to revision (default: the newest), in one transaction."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn, _foreign_keys_checked_at_the_end(conn), conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration to {revision} broke foreign keys: {broken[:5]}")


@contextmanager
def _foreign_keys_checked_at_the_end(conn: Connection) -> Iterator[None]:
    """On SQLite, foreign keys off while migrations run, as SQLite's own procedure for altering a table
    has it: a batch alteration copies a table, drops it and renames the copy, and rows of other tables
    that refer to it (deliveries to targets) would refuse the drop. upgrade checks them all before it
    commits instead. The pragma is a no-op inside a transaction, so it is set on the driver's connection
    before one begins (the seam the engine's BEGIN uses too: tests/store/test_library_seams.py)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def revisions(engine: Engine) -> tuple[str | None, str | None]:
    """(the revision of the schema behind engine (None: not migrated at all), the newest there is): the
    same once every migration is applied."""
    url = engine.url.render_as_string(hide_password=False)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision(), head
