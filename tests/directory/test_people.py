"""Person commands through the Directory: matching, what counts as a change, uniqueness, the log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Invalid, NotFound, Reason, Rejected
from provisionhub.directory.people import SetStatus, Status, UpdatePerson, UpsertPerson
from provisionhub.directory.reference_data import AddLoginSource, AddUserType
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows
from tests.factories import upsert

ACTOR = "test"


def outbox_events(database: Database) -> list[str]:
    with database.snapshot() as conn:
        return list(conn.execute(select(tables.outbox.c.event).order_by(tables.outbox.c.id)).scalars())


def test_upsert_creates_an_active_person_with_a_change_and_an_event(
    directory: Directory, database: Database
) -> None:
    result = directory.apply(upsert("s1", username="ada", email="Ada@School.example.org"), ACTOR)

    assert result.created
    person = result.person
    assert person.status is Status.ACTIVE
    assert (person.login_source, person.unique_id, person["username"]) == ("OPSCOM", "s1", "ada")
    assert person["email"] == "Ada@school.example.org"  # the domain is lower-cased, the local part kept
    assert person.version == 1
    with database.snapshot() as conn:
        [change] = list_changes(conn)
    assert (change.actor, change.entity_type, change.entity_id, change.action) == (
        ACTOR,
        "person",
        person.public_id,
        "create",
    )
    assert change.fields["username"] == [None, "ada"]
    assert outbox_events(database) == ["added"]


def test_the_same_identity_is_the_same_person(directory: Directory) -> None:
    first = directory.apply(upsert("s1", given_name="Ada"), ACTOR).person
    second = directory.apply(UpsertPerson("OPSCOM", "s1", {"given_name": "Augusta"}), ACTOR).person

    assert (second.id, second.public_id) == (first.id, first.public_id)
    assert second["given_name"] == "Augusta"
    assert second["family_name"] == first["family_name"]  # fields not sent stay as they were
    assert second.version == 2


def test_an_identical_upsert_writes_nothing(directory: Directory, database: Database) -> None:
    command = upsert("s1")
    directory.apply(command, ACTOR)
    before = (count_rows(database, tables.changes), count_rows(database, tables.outbox))

    result = directory.apply(command, ACTOR)

    assert not result.created
    assert result.changed == ()
    assert result.person.version == 1
    assert (count_rows(database, tables.changes), count_rows(database, tables.outbox)) == before


def test_an_update_logs_only_the_changed_fields_old_and_new(directory: Directory, database: Database) -> None:
    person = directory.apply(upsert("s1", city="Ottawa", title="Student"), ACTOR).person

    result = directory.apply(UpsertPerson("OPSCOM", "s1", {"city": "Toronto", "title": "Student"}), ACTOR)

    assert result.changed == ("city",)
    with database.snapshot() as conn:
        changes = list_changes(conn, entity_id=person.public_id)
    assert changes[-1].action == "update"
    assert changes[-1].fields == {"city": ["Ottawa", "Toronto"]}
    assert outbox_events(database) == ["added", "edited"]


def test_times_are_logged_as_iso_8601_text(directory: Directory, database: Database) -> None:
    start = datetime(2026, 9, 1, 8, 30, 15, 250000, tzinfo=UTC)
    directory.apply(upsert("s1", valid_from=start), ACTOR)
    directory.apply(UpsertPerson("OPSCOM", "s1", {"valid_from": None}), ACTOR)

    with database.snapshot() as conn:
        changes = list_changes(conn)
    assert changes[0].fields["valid_from"] == [None, "2026-09-01T08:30:15.250000+00:00"]
    assert changes[1].fields == {"valid_from": ["2026-09-01T08:30:15.250000+00:00", None]}


def test_sensitive_fields_are_masked_in_the_change_log(directory: Directory, database: Database) -> None:
    directory.apply(
        upsert("s1", date_of_birth=date(2001, 1, 31), drivers_licence_number="QC 99999999"), ACTOR
    )
    directory.apply(UpsertPerson("OPSCOM", "s1", {"date_of_birth": date(2001, 2, 1)}), ACTOR)

    with database.snapshot() as conn:
        changes = list_changes(conn)
    assert changes[0].fields["date_of_birth"] == [None, "***"]
    assert changes[0].fields["drivers_licence_number"] == [None, "***"]
    assert changes[1].fields == {"date_of_birth": ["***", "***"]}
    assert "2001" not in repr([c.fields for c in changes])
    assert "99999999" not in repr([c.fields for c in changes])


def test_username_is_unique_whatever_its_case(directory: Directory) -> None:
    directory.apply(upsert("s1", username="Ada.Lovelace"), ACTOR)

    with pytest.raises(Conflict) as caught:
        directory.apply(upsert("s2", username="ada.lovelace"), ACTOR)
    assert caught.value.field == "username"


def test_email_is_unique_whatever_its_case(directory: Directory) -> None:
    directory.apply(upsert("s1", email="ada@school.example.org"), ACTOR)

    with pytest.raises(Conflict) as caught:
        directory.apply(upsert("s2", email="ADA@SCHOOL.EXAMPLE.ORG"), ACTOR)
    assert caught.value.field == "email"


def test_a_person_may_keep_and_recase_their_own_username(directory: Directory) -> None:
    directory.apply(upsert("s1", username="ada"), ACTOR)

    result = directory.apply(UpsertPerson("OPSCOM", "s1", {"username": "Ada"}), ACTOR)

    assert result.person["username"] == "Ada"


def test_required_on_create_applies_only_to_new_people(directory: Directory) -> None:
    command = UpsertPerson("OPSCOM", "s1", {"username": "ada"}, required_on_create=frozenset({"email"}))
    with pytest.raises(Invalid) as caught:
        directory.apply(command, ACTOR)
    assert (caught.value.field, caught.value.reason) == ("email", Reason.REQUIRED)

    directory.apply(upsert("s1"), ACTOR)
    assert directory.apply(command, ACTOR).person["username"] == "ada"


def test_a_create_only_command_never_changes_someone_who_has_its_identity(
    directory: Directory, database: Database
) -> None:
    kept = directory.apply(upsert("s1"), ACTOR).person
    gone = directory.apply(upsert("s2"), ACTOR).person
    directory.apply(SetStatus(gone.public_id, Status.DELETED), ACTOR)
    before = count_rows(database, tables.changes)

    for unique_id in ("s1", "s2"):  # deleted or not, the identity is someone's
        with pytest.raises(Conflict) as caught:
            directory.apply(replace(upsert(unique_id), create_only=True), ACTOR)
        assert caught.value.field == "unique_id"
        assert repr(unique_id) in caught.value.message

    assert count_rows(database, tables.changes) == before
    assert directory.apply(upsert("s1"), ACTOR).person.public_id == kept.public_id  # as it was


def test_of_two_create_only_commands_for_one_identity_the_first_creates(directory: Directory) -> None:
    first, second = upsert("twice", username="first"), upsert("twice", username="second")
    with directory.database.transaction() as conn:
        outcomes = directory.upsert_each(
            conn, [(replace(first, create_only=True), ACTOR), (replace(second, create_only=True), ACTOR)]
        )

    assert not isinstance(outcomes[0], Conflict)
    assert outcomes[0].person["username"] == "first"
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[1].field == "unique_id"


def test_an_unknown_login_source_is_refused(directory: Directory) -> None:
    with pytest.raises(Invalid) as caught:
        directory.apply(upsert(login_source="NOPE"), ACTOR)
    assert (caught.value.field, caught.value.reason) == ("login_source", Reason.UNKNOWN)


def test_a_login_source_added_later_is_accepted(directory: Directory) -> None:
    with pytest.raises(Invalid):
        directory.apply(upsert(login_source="SAML"), ACTOR)
    directory.apply(AddLoginSource("SAML", "Campus SSO"), ACTOR)

    assert directory.apply(upsert(login_source="SAML", username=None), ACTOR).created


def test_native_login_people_need_a_username(directory: Directory) -> None:
    with pytest.raises(Invalid) as caught:
        directory.apply(upsert("s1", username=None), ACTOR)
    assert (caught.value.field, caught.value.reason) == ("username", Reason.REQUIRED)

    directory.apply(upsert("s1"), ACTOR)
    with pytest.raises(Invalid):
        directory.apply(UpsertPerson("OPSCOM", "s1", {"username": ""}), ACTOR)


def test_user_type_must_exist(directory: Directory) -> None:
    with pytest.raises(Invalid) as caught:
        directory.apply(upsert(user_type_id="6"), ACTOR)
    assert (caught.value.field, caught.value.reason) == ("user_type_id", Reason.UNKNOWN)

    directory.apply(AddUserType("6", "Demo", "Public"), ACTOR)
    assert directory.apply(upsert(user_type_id="6"), ACTOR).person["user_type_id"] == "6"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("email", "not-an-address", Reason.INVALID),
        ("email", 42, Reason.INVALID),
        ("given_name", "x" * 101, Reason.TOO_LONG),
        ("date_of_birth", "2001-01-31", Reason.INVALID),
        ("valid_through", datetime(2030, 1, 1), Reason.INVALID),  # no time zone
        ("favourite_colour", "blue", Reason.UNKNOWN),
        ("city", "Ott\x00awa", Reason.INVALID),
        ("city", "\ud83d", Reason.INVALID),
    ],
)
def test_bad_values_are_refused_by_field(
    directory: Directory, field: str, value: object, reason: Reason
) -> None:
    with pytest.raises(Invalid) as caught:
        directory.apply(upsert(**{field: value}), ACTOR)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_empty_text_clears_a_field(directory: Directory) -> None:
    directory.apply(upsert("s1", city="Ottawa"), ACTOR)

    result = directory.apply(UpsertPerson("OPSCOM", "s1", {"city": "  "}), ACTOR)

    assert result.person["city"] is None
    assert result.changed == ("city",)


def test_a_batch_is_all_or_nothing_and_names_every_failing_item(
    directory: Directory, database: Database
) -> None:
    commands = [
        upsert("b1"),
        upsert("b2", email="broken"),
        upsert("b3"),
        upsert("b4", login_source="NOPE"),
        upsert("b1"),
    ]
    with database.transaction() as conn, pytest.raises(Rejected) as caught:
        directory.upsert_people(conn, commands, ACTOR)

    assert [(e.index, type(e.error).__name__, e.error.field) for e in caught.value.errors] == [
        (1, "Invalid", "email"),
        (3, "Invalid", "login_source"),
        (4, "Conflict", "unique_id"),
    ]
    assert count_rows(database, tables.people) == 0
    assert count_rows(database, tables.changes) == 0


def test_a_batch_refuses_a_username_claimed_twice_within_it(directory: Directory, database: Database) -> None:
    with database.transaction() as conn, pytest.raises(Rejected) as caught:
        directory.upsert_people(conn, [upsert("b1", username="twin"), upsert("b2", username="TWIN")], ACTOR)
    assert [(e.index, e.error.field) for e in caught.value.errors] == [(1, "username")]


def test_a_batch_creates_and_updates_in_one_go(directory: Directory, database: Database) -> None:
    existing = directory.apply(upsert("b1", city="Ottawa"), ACTOR).person
    commands = [UpsertPerson("OPSCOM", "b1", {"city": "Toronto"}), *(upsert(f"n{i}") for i in range(1200))]

    with database.transaction() as conn:
        results = directory.upsert_people(conn, commands, ACTOR)

    assert len(results) == 1201
    assert results[0].person.id == existing.id
    assert not results[0].created
    assert all(r.created for r in results[1:])
    assert len({r.person.id for r in results}) == 1201
    assert count_rows(database, tables.people) == 1201
    assert outbox_events(database).count("added") == 1201


def test_new_people_of_a_batch_keep_each_their_own_fields(directory: Directory, database: Database) -> None:
    """The batch's INSERT writes the fields some new person sets: the others stay empty for everyone."""
    commands = [upsert("f1", city="Ottawa"), upsert("f2", middle_name="Byron"), upsert("f3")]

    with database.transaction() as conn:
        directory.upsert_people(conn, commands, ACTOR)

    with database.snapshot() as conn:
        columns = [tables.people.c[name] for name in ("unique_id", "city", "middle_name", "title")]
        stored = conn.execute(select(*columns).order_by(tables.people.c.unique_id)).all()
    assert [tuple(row) for row in stored] == [
        ("f1", "Ottawa", None, None),
        ("f2", None, "Byron", None),
        ("f3", None, None, None),
    ]


def test_set_status_emits_the_lifecycle_event(directory: Directory, database: Database) -> None:
    person = directory.apply(upsert("s1"), ACTOR).person

    for status in (Status.GRACE_PERIOD, Status.EXPIRED, Status.ACTIVE, Status.SUSPENDED, Status.DELETED):
        directory.apply(SetStatus(person.public_id, status), ACTOR)
    directory.apply(SetStatus(person.public_id, Status.DELETED), ACTOR)  # no change, no event

    assert outbox_events(database) == ["added", "grace_period", "expired", "unexpired", "edited", "deleted"]
    assert directory.apply(SetStatus(person.public_id, Status.DELETED), ACTOR).person.status is Status.DELETED


def test_update_person_by_public_id(directory: Directory) -> None:
    person = directory.apply(upsert("s1"), ACTOR).person

    result = directory.apply(UpdatePerson(person.public_id, {"company": "Analytical Engines"}), ACTOR)

    assert result.person["company"] == "Analytical Engines"
    assert result.changed == ("company",)
    with pytest.raises(NotFound):
        directory.apply(UpdatePerson("00000000-0000-0000-0000-000000000000", {"company": "x"}), ACTOR)


def test_timestamps_come_back_in_utc(directory: Directory) -> None:
    person = directory.apply(upsert("s1", valid_through=datetime(2030, 6, 30, tzinfo=UTC)), ACTOR).person
    with directory.database.snapshot() as conn:
        again = directory.find_person(conn, person.public_id)
    assert again.created_at.tzinfo is not None
    assert again["valid_through"] == datetime(2030, 6, 30, tzinfo=UTC)


def test_upsert_each_isolates_items_as_if_they_came_one_after_another(
    directory: Directory, database: Database
) -> None:
    requests = [
        (upsert("e1", username="first", city="Ottawa"), "alice"),
        (upsert("e2", email="broken"), "bob"),
        (UpsertPerson("OPSCOM", "e1", {"city": "Toronto"}), "carol"),  # the same person again: a later round
        (upsert("e3", username="FIRST"), "dave"),  # the username e1 claimed first
    ]
    with database.transaction() as conn:
        outcomes = directory.upsert_each(conn, requests)

    assert outcomes[0].created
    assert isinstance(outcomes[1], Invalid)
    assert outcomes[1].field == "email"
    assert not outcomes[2].created
    assert outcomes[2].person.id == outcomes[0].person.id
    assert outcomes[2].person["city"] == "Toronto"
    assert isinstance(outcomes[3], Conflict)
    assert outcomes[3].field == "username"
    with database.snapshot() as conn:
        actors = [change.actor for change in list_changes(conn)]
    assert actors == ["alice", "carol"]
    assert count_rows(database, tables.people) == 1


def test_a_claimant_that_fails_otherwise_claims_nothing(directory: Directory, database: Database) -> None:
    directory.apply(upsert("taken", email="held@school.example.org"), ACTOR)
    requests = [
        (upsert("c1", username="wanted", email="held@school.example.org"), ACTOR),  # fails on email
        (upsert("c2", username="wanted"), ACTOR),  # so this one may have the username
    ]
    with database.transaction() as conn:
        outcomes = directory.upsert_each(conn, requests)

    assert isinstance(outcomes[0], Conflict)
    assert outcomes[0].field == "email"
    assert outcomes[1].person["username"] == "wanted"


EMAIL_SAMPLES = [
    "ada@school.example.org",
    "Ada.Lovelace+cs@School.Example.ORG",
    "o'brien@x.io",
    "a@b.c",
    "a@b.co",
    "x@localhost",
    "x@host.localhost",
    "x@printer.local",
    "x@example.test",
    "x@10.0.0.1",
    "x@[10.0.0.1]",
    "x@b.c1",
    "x@b.123",
    "x@-b.org",
    "x@b-.org",
    "x@b..org",
    ".x@b.org",
    "x.@b.org",
    "x..y@b.org",
    '"quoted local"@b.org',
    "ünïcode@b.org",
    "x@bücher.de",
    "x@b.org.",
    "x@b",
    "@b.org",
    "x@",
    "x y@b.org",
    "a" * 64 + "@b.org",
    "a" * 65 + "@b.org",
    "x@" + "a" * 63 + ".org",
    "x@" + "a" * 64 + ".org",
    "x@" + ".".join(["a" * 60] * 5) + ".org",
    "x@b.xn--p1ai",
    "x@xn--bcher-kva.de",
    "x@b.o-rg",
]


@pytest.mark.parametrize("address", EMAIL_SAMPLES)
def test_the_fast_email_check_agrees_with_email_validator(address: str) -> None:
    """Whatever the fast path accepts, the library accepts with the same normalised form."""
    from email_validator import EmailNotValidError, validate_email

    from provisionhub.directory.people import normalise_email

    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        ours: str | None = normalise_email(address)
    except Invalid:
        ours = None
    assert ours == expected


def test_update_person_keeps_every_rule_of_the_directory(directory: Directory, database: Database) -> None:
    directory.apply(upsert("s1", email="held@school.example.org"), ACTOR)
    person = directory.apply(upsert("s2"), ACTOR).person
    before = count_rows(database, tables.changes)

    with pytest.raises(Conflict) as taken:
        directory.apply(UpdatePerson(person.public_id, {"email": "HELD@school.example.org"}), ACTOR)
    with pytest.raises(Invalid) as no_username:
        directory.apply(UpdatePerson(person.public_id, {"username": None}), ACTOR)

    assert taken.value.field == "email"
    assert (no_username.value.field, no_username.value.reason) == ("username", Reason.REQUIRED)
    assert count_rows(database, tables.changes) == before


@pytest.mark.parametrize(
    ("command", "field", "reason"),
    [
        (AddUserType("7" * 21, "Too long an id"), "id", Reason.TOO_LONG),
        (AddUserType("7", " "), "name", Reason.REQUIRED),
        (AddLoginSource("", "Nameless"), "code", Reason.REQUIRED),
        (AddLoginSource("SSO", "n" * 101), "name", Reason.TOO_LONG),
    ],
)
def test_catalogue_entries_are_checked_against_their_columns(
    directory: Directory, database: Database, command: object, field: str, reason: Reason
) -> None:
    with pytest.raises(Invalid) as caught:
        directory.apply(command, ACTOR)
    assert (caught.value.field, caught.value.reason) == (field, reason)
    assert count_rows(database, tables.changes) == 0
