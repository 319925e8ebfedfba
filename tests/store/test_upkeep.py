"""The server's upkeep that provisionhub's query plans depend on, checked when serving starts."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from provisionhub.app import create_app
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.upkeep import upkeep_warnings, warn_about_upkeep


def test_a_table_whose_autovacuum_is_off_is_named(database: Database) -> None:
    if database.dialect == "sqlite":
        with database.snapshot() as conn:
            assert upkeep_warnings(conn) == []  # no statistics to keep: nothing to warn about
        return
    with database.transaction() as conn:
        conn.execute(text("ALTER TABLE people SET (autovacuum_enabled = false)"))
    try:
        with database.snapshot() as conn:
            server_off = conn.exec_driver_sql("SHOW autovacuum").scalar() != "on"
            warnings = upkeep_warnings(conn)
        assert any("autovacuum is off for people (autovacuum_enabled=false)" in w for w in warnings)
        assert any("autovacuum is off:" in w for w in warnings) == server_off
    finally:
        with database.transaction() as conn:
            conn.execute(text("ALTER TABLE people RESET (autovacuum_enabled)"))
    with database.snapshot() as conn:
        assert not any("autovacuum is off for" in w for w in upkeep_warnings(conn))


@pytest.mark.anyio
async def test_the_warnings_are_logged_and_an_unreachable_server_is_not_fatal(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="provisionhub.store.upkeep")
    await warn_about_upkeep(database)
    with database.snapshot() as conn:
        expected = upkeep_warnings(conn)
    assert [r.getMessage() for r in caplog.records] == expected

    caplog.clear()
    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        await warn_about_upkeep(unreachable)
    finally:
        unreachable.dispose()
    assert [r.getMessage() for r in caplog.records] == [
        "could not check the database server's upkeep (autovacuum)"
    ]


@pytest.mark.anyio
async def test_serving_starts_with_the_check(
    database: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    postgresql = database.dialect == "postgresql"
    if postgresql:
        with database.transaction() as conn:
            conn.execute(text("ALTER TABLE groups SET (autovacuum_enabled = false)"))
    caplog.set_level(logging.WARNING, logger="provisionhub.store.upkeep")
    try:
        app = create_app(settings, database)
        async with app.router.lifespan_context(app):
            pass
    finally:
        if postgresql:  # the lifespan disposed of the pool; a new connection resets the table
            with database.transaction() as conn:
                conn.execute(text("ALTER TABLE groups RESET (autovacuum_enabled)"))
    logged = [r.getMessage() for r in caplog.records]
    if postgresql:
        assert any("autovacuum is off for groups (autovacuum_enabled=false)" in m for m in logged)
    else:
        assert logged == []
