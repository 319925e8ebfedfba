"""The lifecycle's command line: grace days of user types and login sources, and `lifecycle run`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.people import Status
from provisionhub.directory.reference_data import list_login_sources, list_user_types
from provisionhub.directory.service import Directory, utcnow
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest, outbox_events
from tests.factories import upsert


def grace_days(database: Database) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """The grace days of each user type, and of each login source."""
    with database.snapshot() as conn:
        types = {t.id: t.grace_days for t in list_user_types(conn)}
        sources = {s.code: s.grace_days for s in list_login_sources(conn)}
    return types, sources


def row_of(listing: str, key: str) -> list[str]:
    """The cells of a table's row whose first cell is key."""
    for line in listing.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃").split("│")]
        if cells[0] == key:
            return cells
    raise AssertionError(f"no row {key!r} in\n{listing}")


def test_user_types_and_login_sources_take_grace_days_when_added(cli, database: Database) -> None:
    cli("user-type", "add", "6", "Student", "--grace-days", "14")
    cli("user-type", "add", "7", "Staff")
    cli("login-source", "add", "SSO", "Campus SSO", "--grace-days", "30")

    types, sources = grace_days(database)
    assert (types, sources["SSO"], sources["OPSCOM"]) == ({"6": 14, "7": None}, 30, None)
    assert row_of(cli("user-type", "list").stdout, "6")[-1] == "14"
    assert row_of(cli("user-type", "list").stdout, "7")[-1] == ""
    assert row_of(cli("login-source", "list").stdout, "SSO")[-1] == "30"


def test_grace_days_are_changed_and_cleared_on_an_existing_entry(cli, database: Database) -> None:
    cli("user-type", "add", "6", "Student")

    assert "user type 6: grace period 10 days" in cli("user-type", "grace", "6", "10").stderr
    assert "(unchanged)" in cli("user-type", "grace", "6", "10").stderr
    assert "login source OPSCOM: grace period 3 days" in cli("login-source", "grace", "OPSCOM", "3").stderr
    assert grace_days(database)[0]["6"] == 10
    assert "grace period not set" in cli("user-type", "grace", "6", "--clear").stderr
    cli("login-source", "grace", "OPSCOM", "--clear")

    types, sources = grace_days(database)
    assert (types["6"], sources["OPSCOM"]) == (None, None)
    with database.snapshot() as conn:
        logged = [c for c in list_changes(conn, limit=1000) if c.entity_type in ("user_type", "login_source")]
    assert [(c.entity_id, c.action, c.fields["grace_days"], c.actor) for c in logged[1:]] == [
        ("6", "update", [None, 10], "cli"),
        ("OPSCOM", "update", [None, 3], "cli"),
        ("6", "update", [10, None], "cli"),
        ("OPSCOM", "update", [3, None], "cli"),
    ]


def test_grace_takes_days_or_clear_and_refuses_what_is_neither(cli) -> None:
    cli("user-type", "add", "6", "Student")

    assert "either DAYS or --clear" in cli("user-type", "grace", "6", code=2).stderr
    assert "either DAYS or --clear" in cli("login-source", "grace", "OPSCOM", "3", "--clear", code=2).stderr
    cli("user-type", "grace", "6", "3651", code=2)
    cli("user-type", "add", "8", "Other", "--grace-days", "-2", code=2)
    assert "no user type '9'" in cli("user-type", "grace", "9", "3", code=1).stderr
    assert "no login source 'NOPE'" in cli("login-source", "grace", "NOPE", "3", code=1).stderr


@pytest.fixture
def yesterday(database: Database) -> Directory:
    """The directory as it was a day ago: what it wrote then, the run now finds due."""
    return DirectoryUnderTest(database, clock=lambda: utcnow() - timedelta(days=1))


def test_lifecycle_run_moves_who_is_due_and_prints_how_many_went_where(
    cli, yesterday: Directory, database: Database
) -> None:
    cli("user-type", "add", "6", "Student", "--grace-days", "7")
    an_hour_ago = utcnow() - timedelta(hours=1)
    expiring = yesterday.apply(upsert(valid_through=an_hour_ago), "test").public_id
    in_grace = yesterday.apply(upsert(user_type_id="6", valid_through=an_hour_ago), "test").public_id
    starting = yesterday.apply(upsert(valid_from=an_hour_ago), "test")
    yesterday.apply(upsert(valid_through=utcnow() + timedelta(days=1)), "test")  # not due
    assert starting.person.status is Status.PENDING

    printed = cli("lifecycle", "run").stdout

    assert printed.splitlines() == [
        "pending       0",
        "active        1",
        "grace_period  1",
        "expired       1",
    ]
    assert outbox_events(database, expiring) == ["added", "expired"]
    assert outbox_events(database, in_grace) == ["added", "grace_period"]
    assert outbox_events(database, starting.public_id) == ["added", "edited"]
    with database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="person", entity_id=expiring)[1:]
    assert (change.actor, change.fields) == ("lifecycle", {"status": ["active", "expired"]})


def test_lifecycle_run_with_json_prints_one_object_and_a_second_run_moves_nobody(
    cli, yesterday: Directory
) -> None:
    yesterday.apply(upsert(valid_through=utcnow() - timedelta(hours=1)), "test")

    first = json.loads(cli("lifecycle", "run", "--json").stdout)
    second = json.loads(cli("lifecycle", "run", "--json").stdout)

    assert first == {"pending": 0, "active": 0, "grace_period": 0, "expired": 1}
    assert second == {"pending": 0, "active": 0, "grace_period": 0, "expired": 0}
