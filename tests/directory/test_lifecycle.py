"""The lifecycle: statuses that follow the validity window, at writes and in runs, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
import pytest
from sqlalchemy import event, select

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Invalid, NotFound
from provisionhub.directory.lifecycle import (
    LIFECYCLE_ACTOR,
    due_transitions,
    status_event,
    window_status,
)
from provisionhub.directory.operations import Operations
from provisionhub.directory.people import SetStatus, Status, UpsertPerson
from provisionhub.directory.reference_data import (
    AddLoginSource,
    AddUserType,
    SetLoginSourceGraceDays,
    SetUserTypeGraceDays,
    list_login_sources,
    list_user_types,
)
from provisionhub.directory.service import Directory
from provisionhub.scheduler import run_lifecycle
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest, count_rows, outbox_events
from tests.factories import upsert

ACTOR = "test"
START = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


class Clock:
    """A clock the test moves: the directory stamps and decides with it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def directory(database: Database, clock: Clock) -> Directory:
    return DirectoryUnderTest(database, clock)


def run(directory: Directory, **options: Any) -> dict[str, int]:
    """One lifecycle pass; the people moved to each status, those with none left out."""
    moved = anyio.run(partial(run_lifecycle, directory, **options))
    return {status.value: n for status, n in moved.items() if n}


def status_of(directory: Directory, public_id: str) -> Status:
    with directory.database.snapshot() as conn:
        return directory.find_person(conn, public_id).status


def last_change(database: Database, public_id: str) -> Any:
    with database.snapshot() as conn:
        return list_changes(conn, entity_type="person", entity_id=public_id)[-1]


def make_person(directory: Directory, **fields: Any) -> str:
    """A new person (login source OPSCOM) with these fields; their public id."""
    return directory.apply(upsert(**fields), ACTOR).public_id


# -- the rule ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_through", "grace_days", "expected"),
    [
        (None, None, 0, Status.ACTIVE),
        (START + SECOND, None, 0, Status.PENDING),
        (START, None, 0, Status.ACTIVE),  # valid_from is the first moment of validity
        (None, START, 0, Status.ACTIVE),  # valid_through is the last
        (None, START - SECOND, 0, Status.EXPIRED),  # no grace: straight to expired
        (None, START - SECOND, 3, Status.GRACE_PERIOD),
        (None, START - 3 * DAY, 3, Status.GRACE_PERIOD),  # the grace period's last moment
        (None, START - 3 * DAY - SECOND, 3, Status.EXPIRED),
        (START + DAY, START - DAY, 0, Status.PENDING),  # a start to come wins over an end gone by
        (None, datetime(9999, 12, 31, 23, 59, tzinfo=UTC), 3650, Status.ACTIVE),  # no overflow
    ],
)
def test_the_window_decides_the_status(
    valid_from: datetime | None, valid_through: datetime | None, grace_days: int, expected: Status
) -> None:
    assert window_status(valid_from, valid_through, grace_days, START) is expected


@pytest.mark.parametrize(
    ("old", "new", "event"),
    [
        (Status.ACTIVE, Status.GRACE_PERIOD, "grace_period"),
        (Status.ACTIVE, Status.EXPIRED, "expired"),
        (Status.GRACE_PERIOD, Status.EXPIRED, "expired"),
        (Status.GRACE_PERIOD, Status.ACTIVE, "unexpired"),
        (Status.EXPIRED, Status.ACTIVE, "unexpired"),
        (Status.PENDING, Status.ACTIVE, "edited"),
        (Status.SUSPENDED, Status.ACTIVE, "edited"),
        (Status.ACTIVE, Status.DELETED, "deleted"),
    ],
)
def test_each_status_change_has_its_outbox_event(old: Status, new: Status, event: str) -> None:
    assert status_event(old, new).value == event


# -- scheduled transitions --------------------------------------------------------------------------------


def test_a_person_whose_valid_through_passes_expires_with_a_change_and_an_event(
    directory: Directory, database: Database, clock: Clock
) -> None:
    person = make_person(directory, valid_through=START + DAY)
    assert run(directory) == {}

    clock.now = START + DAY + SECOND
    assert run(directory) == {"expired": 1}

    assert status_of(directory, person) is Status.EXPIRED
    change = last_change(database, person)
    assert (change.actor, change.action, change.fields) == (
        LIFECYCLE_ACTOR,
        "status",
        {"status": ["active", "expired"]},
    )
    assert change.occurred_at == clock.now
    assert outbox_events(database, person) == ["added", "expired"]
    with database.snapshot() as conn:
        assert directory.find_person(conn, person).version == 2


def test_a_user_type_grace_period_comes_between_active_and_expired(
    directory: Directory, database: Database, clock: Clock
) -> None:
    directory.apply(AddUserType("6", "Student", grace_days=10), ACTOR)
    person = make_person(directory, user_type_id="6", valid_through=START)

    clock.now = START + SECOND
    assert run(directory) == {"grace_period": 1}
    assert status_of(directory, person) is Status.GRACE_PERIOD
    clock.now = START + 10 * DAY
    assert run(directory) == {}
    clock.now = START + 10 * DAY + SECOND
    assert run(directory) == {"expired": 1}

    assert status_of(directory, person) is Status.EXPIRED
    assert outbox_events(database, person) == ["added", "grace_period", "expired"]
    assert last_change(database, person).fields == {"status": ["grace_period", "expired"]}


def test_a_login_source_grace_period_applies_when_the_user_type_sets_none(
    directory: Directory, clock: Clock
) -> None:
    directory.apply(AddLoginSource("SSO", "Campus SSO", grace_days=5), ACTOR)
    directory.apply(AddUserType("6", "Student"), ACTOR)  # sets no grace period
    directory.apply(AddUserType("7", "Staff", grace_days=0), ACTOR)  # sets none explicitly: 0 wins
    directory.apply(AddUserType("8", "Alumni", grace_days=30), ACTOR)
    by_source = make_person(directory, login_source="SSO", username=None, valid_through=START)
    unset_type = make_person(
        directory, login_source="SSO", username=None, user_type_id="6", valid_through=START
    )
    zero_type = make_person(
        directory, login_source="SSO", username=None, user_type_id="7", valid_through=START
    )
    long_type = make_person(
        directory, login_source="SSO", username=None, user_type_id="8", valid_through=START
    )
    neither = make_person(directory, valid_through=START)  # OPSCOM, no user type: 0

    clock.now = START + SECOND
    assert run(directory) == {"grace_period": 3, "expired": 2}
    assert [status_of(directory, p) for p in (by_source, unset_type, zero_type, long_type, neither)] == [
        Status.GRACE_PERIOD,
        Status.GRACE_PERIOD,
        Status.EXPIRED,
        Status.GRACE_PERIOD,
        Status.EXPIRED,
    ]

    clock.now = START + 5 * DAY + SECOND
    assert run(directory) == {"expired": 2}
    assert status_of(directory, long_type) is Status.GRACE_PERIOD
    clock.now = START + 30 * DAY + SECOND
    assert run(directory) == {"expired": 1}


def test_shortening_a_grace_period_expires_those_past_it_at_the_next_run(
    directory: Directory, database: Database, clock: Clock
) -> None:
    directory.apply(AddUserType("6", "Student", grace_days=30), ACTOR)
    person = make_person(directory, user_type_id="6", valid_through=START)
    clock.now = START + 2 * DAY
    assert run(directory) == {"grace_period": 1}

    assert directory.apply(SetUserTypeGraceDays("6", 1), ACTOR) is True
    assert run(directory) == {"expired": 1}

    # Lengthening it again does not bring back the expired: it applies to those moving from now on.
    directory.apply(SetUserTypeGraceDays("6", 30), ACTOR)
    assert run(directory) == {}
    assert status_of(directory, person) is Status.EXPIRED


def test_a_run_twice_at_the_same_moment_changes_nothing_the_second_time(
    directory: Directory, database: Database, clock: Clock
) -> None:
    directory.apply(AddUserType("6", "Student", grace_days=3), ACTOR)
    make_person(directory, valid_through=START)
    make_person(directory, user_type_id="6", valid_through=START)
    make_person(directory, valid_from=START + DAY)
    clock.now = START + DAY
    assert run(directory) == {"active": 1, "grace_period": 1, "expired": 1}
    before = (count_rows(database, tables.changes), count_rows(database, tables.outbox))

    assert run(directory) == {}

    assert (count_rows(database, tables.changes), count_rows(database, tables.outbox)) == before


def test_a_run_moves_everyone_due_in_batches(directory: Directory, database: Database, clock: Clock) -> None:
    people = [make_person(directory, valid_through=START) for _ in range(7)]
    make_person(directory, valid_through=START + DAY)  # not due
    make_person(directory)  # no window

    clock.now = START + SECOND
    assert run(directory, batch_size=3) == {"expired": 7}

    assert {status_of(directory, p) for p in people} == {Status.EXPIRED}
    with database.snapshot() as conn:
        logged = [c for c in list_changes(conn, limit=1000) if c.actor == LIFECYCLE_ACTOR]
    assert sorted(c.entity_id for c in logged) == sorted(people)


def test_a_run_takes_its_moment_as_given(directory: Directory, clock: Clock) -> None:
    person = make_person(directory, valid_through=START + DAY)

    assert run(directory, now=START + DAY - SECOND) == {}
    assert run(directory, now=START + 2 * DAY) == {"expired": 1}
    assert status_of(directory, person) is Status.EXPIRED


def test_suspended_and_deleted_people_are_never_moved(
    directory: Directory, database: Database, clock: Clock
) -> None:
    suspended = make_person(directory, valid_through=START + DAY)
    deleted = make_person(directory, valid_from=START + DAY)
    directory.apply(SetStatus(suspended, Status.SUSPENDED), ACTOR)
    directory.apply(SetStatus(deleted, Status.DELETED), ACTOR)
    clock.now = START + 2 * DAY
    before = count_rows(database, tables.changes)

    assert run(directory) == {}
    # Nor does a write that moves their window.
    directory.apply(UpsertPerson("OPSCOM", _unique_id(directory, suspended), {"valid_through": START}), ACTOR)

    assert status_of(directory, suspended) is Status.SUSPENDED
    assert status_of(directory, deleted) is Status.DELETED
    assert count_rows(database, tables.changes) == before + 1  # the write's own change, no status in it
    assert "status" not in last_change(database, suspended).fields


def _unique_id(directory: Directory, public_id: str) -> str:
    with directory.database.snapshot() as conn:
        return directory.find_person(conn, public_id).unique_id


# -- pending ---------------------------------------------------------------------------------------------


def test_a_new_person_whose_valid_from_is_to_come_is_pending_until_it_comes(
    directory: Directory, database: Database, clock: Clock
) -> None:
    result = directory.apply(upsert(valid_from=START + DAY), ACTOR)
    person = result.public_id

    assert result.person.status is Status.PENDING
    created = last_change(database, person)
    assert (created.action, created.fields["status"]) == ("create", [None, "pending"])
    assert outbox_events(database, person) == ["added"]

    clock.now = START + DAY - SECOND
    assert run(directory) == {}
    clock.now = START + DAY
    assert run(directory) == {"active": 1}

    assert status_of(directory, person) is Status.ACTIVE
    assert last_change(database, person).fields == {"status": ["pending", "active"]}
    assert outbox_events(database, person) == ["added", "edited"]


def test_a_pending_person_whose_window_has_also_ended_goes_straight_to_expired(
    directory: Directory, clock: Clock
) -> None:
    person = make_person(directory, valid_from=START + DAY, valid_through=START + 2 * DAY)

    clock.now = START + 3 * DAY
    assert run(directory) == {"expired": 1}
    assert status_of(directory, person) is Status.EXPIRED


def test_a_write_that_brings_valid_from_forward_activates_at_once(
    directory: Directory, database: Database, clock: Clock
) -> None:
    command = upsert(valid_from=START + DAY)
    person = directory.apply(command, ACTOR).public_id

    result = directory.apply(UpsertPerson("OPSCOM", command.unique_id, {"valid_from": START}), ACTOR)

    assert result.person.status is Status.ACTIVE
    assert last_change(database, person).fields == {
        "valid_from": [(START + DAY).isoformat(), START.isoformat()],
        "status": ["pending", "active"],
    }
    assert outbox_events(database, person) == ["added", "edited"]


def test_a_write_that_moves_valid_from_into_the_future_makes_an_active_person_pending(
    directory: Directory, database: Database
) -> None:
    command = upsert()
    person = directory.apply(command, ACTOR).public_id

    result = directory.apply(UpsertPerson("OPSCOM", command.unique_id, {"valid_from": START + DAY}), ACTOR)

    assert result.person.status is Status.PENDING
    assert last_change(database, person).fields["status"] == ["active", "pending"]
    assert outbox_events(database, person) == ["added", "edited"]


def test_reactivating_follows_the_window(directory: Directory, database: Database, clock: Clock) -> None:
    pending = make_person(directory, valid_from=START + DAY)
    lapsed = make_person(directory, valid_through=START - DAY)  # created expired: its end had gone by
    directory.apply(SetStatus(pending, Status.SUSPENDED), ACTOR)

    directory.apply(SetStatus(pending, Status.ACTIVE), ACTOR)
    unchanged = directory.apply(SetStatus(lapsed, Status.ACTIVE), ACTOR)

    assert status_of(directory, pending) is Status.PENDING
    assert unchanged.changed == ()
    assert status_of(directory, lapsed) is Status.EXPIRED


# -- unexpire --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grace_days", [0, 10])
def test_extending_valid_through_unexpires_at_the_write(
    directory: Directory, database: Database, clock: Clock, grace_days: int
) -> None:
    directory.apply(AddUserType("6", "Student", grace_days=grace_days), ACTOR)
    command = upsert(user_type_id="6", valid_through=START)
    person = directory.apply(command, ACTOR).public_id
    clock.now = START + DAY
    run(directory)
    lapsed = Status.GRACE_PERIOD if grace_days else Status.EXPIRED
    assert status_of(directory, person) is lapsed

    later = START + 365 * DAY
    result = directory.apply(UpsertPerson("OPSCOM", command.unique_id, {"valid_through": later}), ACTOR)

    assert result.person.status is Status.ACTIVE
    change = last_change(database, person)
    assert (change.actor, change.action) == (ACTOR, "update")
    assert change.fields == {
        "valid_through": [START.isoformat(), later.isoformat()],
        "status": [lapsed.value, "active"],
    }
    assert outbox_events(database, person) == ["added", lapsed.value, "unexpired"]
    assert run(directory) == {}


def test_an_extension_that_does_not_reach_now_moves_nobody(directory: Directory, clock: Clock) -> None:
    command = upsert(valid_through=START)
    person = directory.apply(command, ACTOR).public_id
    clock.now = START + 10 * DAY
    run(directory)

    result = directory.apply(UpsertPerson("OPSCOM", command.unique_id, {"valid_through": START + DAY}), ACTOR)

    assert result.changed == ("valid_through",)
    assert status_of(directory, person) is Status.EXPIRED


def test_a_run_unexpires_people_whose_valid_through_a_write_extended_without_applying_it(
    directory: Directory, database: Database, clock: Clock
) -> None:
    """Rows written around the Directory (an import, a restore): the run puts them right."""
    person = make_person(directory, valid_through=START + DAY)
    people = tables.people
    with database.transaction() as conn:
        conn.execute(people.update().where(people.c.public_id == person).values(status=Status.EXPIRED.value))

    assert run(directory) == {"active": 1}
    assert outbox_events(database, person) == ["added", "unexpired"]


# -- grace days in the catalogues -------------------------------------------------------------------------


def test_grace_days_are_set_cleared_listed_and_logged(directory: Directory, database: Database) -> None:
    directory.apply(AddUserType("6", "Student", grace_days=14), ACTOR)
    directory.apply(AddLoginSource("SSO", "Campus SSO"), ACTOR)

    assert directory.apply(SetLoginSourceGraceDays("SSO", 7), ACTOR) is True
    assert directory.apply(SetLoginSourceGraceDays("SSO", 7), ACTOR) is False
    assert directory.apply(SetUserTypeGraceDays("6", None), ACTOR) is True

    with database.snapshot() as conn:
        assert [(t.id, t.grace_days) for t in list_user_types(conn)] == [("6", None)]
        assert {s.code: s.grace_days for s in list_login_sources(conn)}["SSO"] == 7
        user_type = list_changes(conn, entity_type="user_type", entity_id="6")
        login_source = list_changes(conn, entity_type="login_source", entity_id="SSO")
    assert user_type[0].fields["grace_days"] == [None, 14]
    assert (user_type[-1].action, user_type[-1].fields) == ("update", {"grace_days": [14, None]})
    assert [c.fields for c in login_source[1:]] == [{"grace_days": [None, 7]}]


@pytest.mark.parametrize("days", [-1, 3651, True, "7", 1.5])
def test_grace_days_must_be_a_whole_number_of_days_up_to_ten_years(directory: Directory, days: Any) -> None:
    directory.apply(AddUserType("6", "Student"), ACTOR)

    with pytest.raises(Invalid) as caught:
        directory.apply(SetUserTypeGraceDays("6", days), ACTOR)
    assert caught.value.field == "grace_days"
    with pytest.raises(Invalid):
        directory.apply(AddLoginSource("SSO", "Campus SSO", grace_days=days), ACTOR)


def test_grace_days_of_an_unknown_catalogue_entry_are_not_found(directory: Directory) -> None:
    with pytest.raises(NotFound):
        directory.apply(SetUserTypeGraceDays("99", 3), ACTOR)
    with pytest.raises(NotFound):
        directory.apply(SetLoginSourceGraceDays("NOPE", 3), ACTOR)


# -- how transitions are found ----------------------------------------------------------------------------


def test_due_transitions_are_index_searches(directory: Directory, database: Database, clock: Clock) -> None:
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics: an empty table is scanned whatever the indexes")
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().startswith("SELECT people.id"):
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.append(" / ".join(row[-1] for row in rows))

    with database.snapshot() as conn:
        event.listen(conn, "before_cursor_execute", explain)
        try:
            due_transitions(conn, START)
        finally:
            event.remove(conn, "before_cursor_execute", explain)

    assert len(plans) == 4
    for plan in plans:
        assert "SEARCH people USING INDEX ix_people_status_valid_" in plan, plan


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_runs_on_postgresql_skip_the_people_another_is_moving(
    directory: Directory, database: Database, clock: Clock
) -> None:
    for _ in range(3):
        make_person(directory, valid_through=START)
    clock.now = START + SECOND

    operations = Operations(clock)
    with database.transaction() as first:
        moving = operations.advance_lifecycle(first, clock.now, limit=2)
        with database.transaction() as second:
            others = operations.advance_lifecycle(second, clock.now)
        assert len(moving) == 2
        assert len(others) == 1
        assert {t.person_id for t in moving}.isdisjoint(t.person_id for t in others)

    assert run(directory) == {}
    with database.snapshot() as conn:
        statuses = conn.execute(select(tables.people.c.status)).scalars().all()
    assert statuses == ["expired"] * 3
