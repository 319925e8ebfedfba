"""The entitlement catalogue and grants to buildings: rules, wall-clock times, the change log, batching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, select

from provisionhub.directory.changes import list_changes
from provisionhub.directory.entitlements import (
    AddEntitlement,
    GrantEntitlement,
    GrantResult,
    grants_of,
    list_entitlements,
)
from provisionhub.directory.errors import Conflict, Invalid, Reason, Rejected
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from tests.conftest import count_rows

LOS_ANGELES = "America/Los_Angeles"


def add_entitlement(directory: Directory, code: str = "reading", title: str = "Reading") -> str:
    return directory.apply(AddEntitlement(code, title), "t").public_id


def add_buildings(directory: Directory, *time_zones: str | None) -> tuple[str, list[str]]:
    """A new account and a building under it for each time zone (None: a building without one)."""
    with directory.database.transaction() as conn:
        [account] = directory.upsert_organisations(
            conn, [UpsertOrganisation(OrgKind.ACCOUNT, fields={"title": "District"})], "t"
        )
        account_id = account.organisation.public_id
        made = directory.upsert_organisations(
            conn,
            [
                UpsertOrganisation(
                    OrgKind.BUILDING, parent=account_id, fields={"title": f"School {n}", "time_zone": zone}
                )
                for n, zone in enumerate(time_zones)
            ],
            "t",
        )
    return account_id, [result.organisation.public_id for result in made]


def grant(directory: Directory, *commands: GrantEntitlement) -> list[GrantResult]:
    with directory.database.transaction() as conn:
        return directory.grant_entitlements(conn, list(commands), "t")


def stored_grants(directory: Directory) -> list[dict[str, Any]]:
    with directory.database.snapshot() as conn:
        return [
            dict(row) for row in conn.execute(select(tables.grants).order_by(tables.grants.c.id)).mappings()
        ]


def written(directory: Directory) -> tuple[int, int]:
    return count_rows(directory.database, tables.grants), count_rows(directory.database, tables.changes)


# -- the catalogue ---------------------------------------------------------------------------------


def test_an_entitlement_is_added_with_a_new_public_id_and_logged(directory: Directory) -> None:
    added = directory.apply(AddEntitlement("  myon:reading  ", " Reading "), "cli")

    assert (added.code, added.title) == ("myon:reading", "Reading")
    assert len(added.public_id) == 36
    with directory.database.snapshot() as conn:
        assert list_entitlements(conn) == [added]
        [change] = list_changes(conn, entity_type="entitlement")
    assert (change.entity_id, change.action, change.actor) == (added.public_id, "create", "cli")
    assert change.fields == {"code": [None, "myon:reading"], "title": [None, "Reading"]}


def test_the_catalogue_lists_by_code(directory: Directory) -> None:
    for code in ("b.2", "A-1", "a_3"):
        add_entitlement(directory, code, f"title of {code}")

    with directory.database.snapshot() as conn:
        assert [e.code for e in list_entitlements(conn)] == ["A-1", "a_3", "b.2"]


@pytest.mark.parametrize(
    ("code", "title", "field", "reason"),
    [
        ("", "Reading", "code", Reason.REQUIRED),
        ("   ", "Reading", "code", Reason.REQUIRED),
        ("x" * 101, "Reading", "code", Reason.TOO_LONG),
        ("has space", "Reading", "code", Reason.INVALID),
        ("café", "Reading", "code", Reason.INVALID),
        ("a/b", "Reading", "code", Reason.INVALID),
        ("reading", "", "title", Reason.REQUIRED),
        ("reading", "x" * 256, "title", Reason.TOO_LONG),
    ],
)
def test_a_bad_code_or_title_is_refused_by_field(
    directory: Directory, code: str, title: str, field: str, reason: Reason
) -> None:
    with pytest.raises(Invalid) as refused:
        directory.apply(AddEntitlement(code, title), "t")

    assert (refused.value.field, refused.value.reason) == (field, reason)
    assert count_rows(directory.database, tables.entitlements) == 0


def test_a_code_of_a_hundred_characters_is_taken(directory: Directory) -> None:
    assert directory.apply(AddEntitlement("x" * 100, "Long"), "t").code == "x" * 100


def test_a_taken_code_is_a_conflict(directory: Directory) -> None:
    add_entitlement(directory, "reading")

    with pytest.raises(Conflict) as refused:
        directory.apply(AddEntitlement(" reading ", "Again"), "t")

    assert refused.value.field == "code"
    assert count_rows(directory.database, tables.entitlements) == 1


# -- grants ----------------------------------------------------------------------------------------


def test_a_grant_takes_wall_clock_times_in_the_buildings_zone_and_stores_utc(directory: Directory) -> None:
    _, [school] = add_buildings(directory, LOS_ANGELES)
    reading = add_entitlement(directory)

    [result] = grant(
        directory,
        GrantEntitlement(school, reading, datetime(2024, 8, 1), datetime(2025, 1, 31, 23, 59, 59)),
    )

    assert result == GrantResult(school, reading, created=True, changed=("start_date", "end_date", "active"))
    [row] = stored_grants(directory)
    assert row["start_date"] == datetime(2024, 8, 1, 7, tzinfo=UTC)  # PDT, UTC-7
    assert row["end_date"] == datetime(2025, 2, 1, 7, 59, 59, tzinfo=UTC)  # PST, UTC-8
    assert row["active"] is True
    with directory.database.snapshot() as conn:
        [held] = grants_of(conn, [school])[school]
    assert (held.entitlement, held.code, held.title, held.active) == (reading, "reading", "Reading", True)
    assert held.start_date is not None
    assert held.end_date is not None
    assert held.start_date.replace(tzinfo=None) == datetime(2024, 8, 1)
    assert held.end_date.replace(tzinfo=None) == datetime(2025, 1, 31, 23, 59, 59)


def test_a_building_without_a_zone_keeps_its_times_in_utc(directory: Directory) -> None:
    _, [school] = add_buildings(directory, None)
    reading = add_entitlement(directory)

    grant(directory, GrantEntitlement(school, reading, datetime(2024, 8, 1, 8, 30), None, active=False))

    [row] = stored_grants(directory)
    assert (row["start_date"], row["end_date"], row["active"]) == (
        datetime(2024, 8, 1, 8, 30, tzinfo=UTC),
        None,
        False,
    )
    with directory.database.snapshot() as conn:
        [held] = grants_of(conn, [school])[school]
    assert held.start_date == datetime(2024, 8, 1, 8, 30, tzinfo=UTC)


def test_a_time_with_a_zone_is_taken_as_it_is(directory: Directory) -> None:
    _, [school] = add_buildings(directory, LOS_ANGELES)
    reading = add_entitlement(directory)

    grant(
        directory,
        GrantEntitlement(school, reading, datetime(2024, 8, 1, 12, tzinfo=timezone(timedelta(hours=2)))),
    )

    assert stored_grants(directory)[0]["start_date"] == datetime(2024, 8, 1, 10, tzinfo=UTC)


def test_times_the_clocks_skip_or_repeat_are_read_as_before_the_change(directory: Directory) -> None:
    _, [school] = add_buildings(directory, LOS_ANGELES)
    reading = add_entitlement(directory)

    # 02:30 on 10 March 2024 never showed in Los Angeles (02:00 PST became 03:00 PDT); 01:30 on
    # 3 November 2024 showed twice (PDT, then PST).
    grant(
        directory,
        GrantEntitlement(school, reading, datetime(2024, 3, 10, 2, 30), datetime(2024, 11, 3, 1, 30)),
    )

    [row] = stored_grants(directory)
    assert row["start_date"] == datetime(2024, 3, 10, 10, 30, tzinfo=UTC)  # read as PST
    assert row["end_date"] == datetime(2024, 11, 3, 8, 30, tzinfo=UTC)  # the first 01:30, PDT


def test_a_grant_is_logged_under_its_building_naming_the_entitlement(directory: Directory) -> None:
    _, [school] = add_buildings(directory, None)
    reading = add_entitlement(directory)

    grant(directory, GrantEntitlement(school, reading, datetime(2024, 8, 1)))

    with directory.database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="grant", entity_id=school)
    assert (change.action, change.actor) == ("create", "t")
    assert change.fields == {
        "entitlement": [None, reading],
        "start_date": [None, "2024-08-01T00:00:00+00:00"],
        "active": [None, True],
    }


def test_a_new_grant_not_told_otherwise_is_active_and_open_ended(directory: Directory) -> None:
    _, [school] = add_buildings(directory, None)
    reading = add_entitlement(directory)

    [result] = grant(directory, GrantEntitlement(school, reading))

    assert result.changed == ("active",)
    [row] = stored_grants(directory)
    assert (row["start_date"], row["end_date"], row["active"]) == (None, None, True)


def test_granting_again_changes_only_the_fields_sent(directory: Directory) -> None:
    _, [school] = add_buildings(directory, LOS_ANGELES)
    reading = add_entitlement(directory)
    grant(directory, GrantEntitlement(school, reading, datetime(2024, 8, 1), datetime(2025, 6, 30)))
    [before] = stored_grants(directory)

    [result] = grant(directory, GrantEntitlement(school, reading, end_date=None, active=False))

    assert result == GrantResult(school, reading, created=False, changed=("end_date", "active"))
    [after] = stored_grants(directory)
    assert after["id"] == before["id"]
    assert (after["start_date"], after["end_date"], after["active"]) == (before["start_date"], None, False)
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] >= before["updated_at"]
    with directory.database.snapshot() as conn:
        [_, change] = list_changes(conn, entity_type="grant", entity_id=school)
    assert change.action == "update"
    assert change.fields["entitlement"] == [reading, reading]
    assert change.fields["active"] == [True, False]
    assert change.fields["end_date"][1] is None
    assert set(change.fields) == {"entitlement", "end_date", "active"}


def test_granting_the_same_again_writes_nothing(directory: Directory) -> None:
    _, [school] = add_buildings(directory, LOS_ANGELES)
    reading = add_entitlement(directory)
    maths = add_entitlement(directory, "maths", "Maths")
    grant(directory, GrantEntitlement(school, reading, datetime(2024, 8, 1), None, True))
    [before] = stored_grants(directory)
    grants, changes = written(directory)

    results = grant(
        directory,
        GrantEntitlement(school, reading, datetime(2024, 8, 1), None, True),
        GrantEntitlement(school, maths, active=True),
    )

    assert results[0] == GrantResult(school, reading, created=False, changed=())
    assert results[1].created
    assert written(directory) == (grants + 1, changes + 1)  # the new grant and its log entry only
    assert stored_grants(directory)[0] == before


def test_every_bad_item_is_named_and_nothing_is_written(directory: Directory) -> None:
    account, [school, other] = add_buildings(directory, LOS_ANGELES, None)
    reading, maths, music = (add_entitlement(directory, code, code.title()) for code in ("r", "m", "n"))
    grant(directory, GrantEntitlement(other, reading, start_date=datetime(2024, 9, 1)))
    unknown = "0190f5c0-0000-7000-8000-000000000000"
    before = written(directory)

    with pytest.raises(Rejected) as refused:
        grant(
            directory,
            GrantEntitlement(school, reading),
            GrantEntitlement(unknown, reading),
            GrantEntitlement(account, reading),
            GrantEntitlement(school, unknown),
            GrantEntitlement(school, reading, active=False),
            GrantEntitlement(other, reading, end_date=datetime(2024, 8, 31)),
            GrantEntitlement(school, maths, datetime(2024, 2, 1), datetime(2024, 1, 1)),
            GrantEntitlement(school, music, active=None),  # type: ignore[arg-type]
        )

    errors = [(e.index, e.error.field, e.error.reason) for e in refused.value.errors]  # type: ignore[union-attr]
    assert errors == [
        (1, "building", Reason.UNKNOWN),
        (2, "building", Reason.INVALID),
        (3, "entitlement", Reason.UNKNOWN),
        (4, "entitlement", Reason.INVALID),
        (5, "end_date", Reason.INVALID),
        (6, "end_date", Reason.INVALID),
        (7, "active", Reason.INVALID),
    ]
    messages = [e.error.message for e in refused.value.errors]
    assert messages[0] == f"no building has the id {unknown}"
    assert messages[1] == f"{account} is an account, not a building"
    assert messages[2] == f"no entitlement has the id {unknown}"
    assert messages[4] == "end_date 2024-08-31T00:00:00+00:00 is before start_date 2024-09-01T00:00:00+00:00"
    assert written(directory) == before


def test_a_date_beyond_the_calendar_once_in_utc_is_refused(directory: Directory) -> None:
    _, [school] = add_buildings(directory, "Asia/Tokyo")

    with pytest.raises(Rejected) as refused:
        grant(directory, GrantEntitlement(school, add_entitlement(directory), datetime(1, 1, 1)))

    [error] = refused.value.errors
    assert (error.error.field, error.error.message) == (
        "start_date",
        "start_date is out of the range of dates",
    )  # type: ignore[union-attr]


def test_a_stored_date_a_new_zone_cannot_show_is_read_in_utc(directory: Directory) -> None:
    _, [school] = add_buildings(directory, None)
    grant(
        directory, GrantEntitlement(school, add_entitlement(directory), end_date=datetime(9999, 12, 31, 23))
    )
    with directory.database.transaction() as conn:
        directory.upsert_organisations(
            conn,
            [UpsertOrganisation(OrgKind.BUILDING, school, fields={"time_zone": "Pacific/Kiritimati"})],
            "t",
        )

    with directory.database.snapshot() as conn:
        [held] = grants_of(conn, [school])[school]

    assert held.end_date == datetime(9999, 12, 31, 23, tzinfo=UTC)


def test_grants_are_read_for_many_buildings_at_once_by_code(directory: Directory) -> None:
    _, [first, second, bare] = add_buildings(directory, LOS_ANGELES, None, None)
    maths = add_entitlement(directory, "maths", "Maths")
    reading = add_entitlement(directory, "reading", "Reading")
    grant(
        directory,
        GrantEntitlement(first, reading),
        GrantEntitlement(first, maths),
        GrantEntitlement(second, reading),
    )

    with directory.database.snapshot() as conn:
        held = grants_of(conn, [first, second, bare])

    assert {b: [g.code for g in gs] for b, gs in held.items()} == {
        first: ["maths", "reading"],
        second: ["reading"],
    }


def test_a_thousand_grants_take_a_few_statements(directory: Directory) -> None:
    _, schools = add_buildings(directory, *[None] * 500)
    reading, maths = add_entitlement(directory, "reading"), add_entitlement(directory, "maths")
    grant(directory, *[GrantEntitlement(school, reading) for school in schools])
    commands = [GrantEntitlement(school, e, active=False) for school in schools for e in (reading, maths)]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(directory.database.engine, "before_cursor_execute", count)
    try:
        results = grant(directory, *commands)
    finally:
        event.remove(directory.database.engine, "before_cursor_execute", count)

    assert [r.created for r in results] == [False, True] * 500
    # The three reads and the UPDATE's executemany; the INSERTs go to the driver's cursor directly.
    assert len(statements) == 4, statements
    assert count_rows(directory.database, tables.grants) == 1000
    assert sum(1 for row in stored_grants(directory) if not row["active"]) == 1000
