"""`provisionhub target ...` beyond adding and pausing: each target's own call timeout, edits, secret
rotation and removal (tests/provisioning/test_commands.py has the rest)."""

from __future__ import annotations

from sqlalchemy import select

from provisionhub.store import tables
from provisionhub.store.database import Database

ADD = ("target", "add", "hr", "--kind", "apiprovisioner", "--url", "https://hr.example.edu/people")


def target_row(database: Database, name: str = "hr") -> dict:
    with database.snapshot() as conn:
        return dict(
            conn.execute(select(tables.targets).where(tables.targets.c.name == name)).mappings().one()
        )


def test_a_target_added_with_a_timeout_keeps_it_and_one_without_has_none(cli, database: Database) -> None:
    cli(*ADD, "--timeout", "2.5")
    cli("target", "add", "lms", "--kind", "scim", "--url", "https://lms.example.edu/scim/v2")

    assert target_row(database)["timeout_seconds"] == 2.5
    assert target_row(database, "lms")["timeout_seconds"] is None
    refused = cli(
        "target", "add", "x", "--kind", "scim", "--url", "http://x.example", "--timeout", "0", code=1
    )
    assert "timeout" in refused.stderr
