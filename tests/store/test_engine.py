"""How each database's connections are set up: what provisionhub relies on, as the server reports it."""

from __future__ import annotations

from provisionhub.store.database import Database

SQLITE = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 1}


def test_connections_are_configured_as_provisionhub_needs(database: Database) -> None:
    with database.snapshot() as conn:
        if database.dialect == "sqlite":
            found = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE}
            assert (
                found == SQLITE
            )  # synchronous 1 is NORMAL: with WAL, durable at every commit but a power cut's last
        else:
            # A generic plan made while a table was empty stays a sequential scan as the table grows.
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
