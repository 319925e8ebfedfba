"""Migrations: an empty database upgrades to the models, on both backends, with nothing left over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from devtools.scratch import scratch_postgres_database
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import alembic_config, upgrade
from tests.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    with scratch_postgres_database(request.getfixturevalue("postgres_server"), "provisionhub_test") as url:
        database = Database(url)
        yield database
        database.dispose()


def test_upgrade_from_empty_reaches_head_and_matches_the_models(empty_database: Database) -> None:
    assert inspect(empty_database.engine).get_table_names() == []

    upgrade(empty_database.engine)

    head = ScriptDirectory.from_config(alembic_config(empty_database.url)).get_current_head()
    with empty_database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == head
        assert compare_metadata(context, tables.metadata) == []


def test_upgrade_seeds_the_login_sources_of_the_dialects(empty_database: Database) -> None:
    upgrade(empty_database.engine)

    with empty_database.snapshot() as conn:
        rows = conn.execute(
            select(tables.login_sources.c.code, tables.login_sources.c.requires_username)
        ).all()
    assert sorted(tuple(row) for row in rows) == [
        ("COMANAGE", False),
        ("MYON", True),
        ("OCL", True),
        ("OPSCOM", True),
        ("SCIM", True),
    ]


def test_upgrade_twice_is_harmless(empty_database: Database) -> None:
    upgrade(empty_database.engine)
    upgrade(empty_database.engine)

    with empty_database.snapshot() as conn:
        assert (
            len(conn.execute(select(tables.login_sources)).all()) == 5
        )  # OPSCOM, MYON, OCL, SCIM and COMANAGE, once each


def test_a_removed_target_keeps_its_name_and_a_downgrade_pauses_and_renames_it(
    empty_database: Database,
) -> None:
    upgrade(empty_database.engine)
    now = datetime.now(UTC)
    row = {"kind": "scim", "url": "http://a.example", "created_at": now}
    with empty_database.transaction() as conn:
        conn.execute(
            insert(tables.targets),
            [{**row, "name": "hr", "removed_at": now}, {**row, "name": "hr", "removed_at": None}],
        )
    with pytest.raises(IntegrityError), empty_database.transaction() as conn:
        conn.execute(insert(tables.targets).values(**row, name="hr"))  # one not removed has it

    with empty_database.engine.begin() as conn:
        config = alembic_config(empty_database.url)
        config.attributes["connection"] = conn
        command.downgrade(config, "0014")
    with empty_database.snapshot() as conn:
        rows = conn.execute(text("SELECT id, name, state FROM targets ORDER BY id")).all()
    upgrade(empty_database.engine)

    assert [tuple(r) for r in rows] == [(1, "hr (removed 1)", "paused"), (2, "hr", "active")]


def test_a_table_others_refer_to_is_altered_with_their_rows_kept(empty_database: Database) -> None:
    """0015 copies targets on SQLite: the deliveries referring to a target must survive the upgrade."""
    upgrade(empty_database.engine, "0014")
    now = datetime.now(UTC)
    with empty_database.transaction() as conn:
        conn.execute(
            insert(tables.targets).values(name="hr", kind="scim", url="http://a.example", created_at=now)
        )
        conn.execute(
            text(
                "INSERT INTO people (public_id, login_source, unique_id, status, created_at, updated_at, "
                "version) "
                "VALUES ('p-1', 'OPSCOM', 'u-1', 'active', :now, :now, 1)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (target_id, person_id, event, state, next_attempt_at, created_at) "
                "SELECT t.id, p.id, 'added', 'pending', :now, :now FROM targets t, people p"
            ),
            {"now": now},
        )

    upgrade(empty_database.engine)

    with empty_database.snapshot() as conn:
        kept = conn.execute(
            text("SELECT t.name, d.state FROM deliveries d JOIN targets t ON t.id = d.target_id")
        ).all()
    assert [tuple(row) for row in kept] == [("hr", "pending")]
