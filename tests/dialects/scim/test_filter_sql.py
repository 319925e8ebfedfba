"""SCIM filters as SQL: each filter runs against people on SQLite and PostgreSQL, and the test names
exactly whom it selects. The resolver here is the tests' own; the SCIM dialect defines the real one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects import sqlite

from provisionhub.dialects.scim.filters import AttributePath, FilterError, Present, ValuePath, parse_filter
from provisionhub.directory.condition_sql import DataType, SqlAttribute, sql_condition
from provisionhub.directory.people import ACTIVE_STATUSES, SetStatus, Status, UpsertPerson
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest

people = tables.people
USER = "urn:ietf:params:scim:schemas:core:2.0:user"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"

RESOLVER: dict[str, SqlAttribute] = {
    "externalid": SqlAttribute(people.c.unique_id, case_exact=True),
    "username": SqlAttribute(people.c.username, folded_column=people.c.username_key),
    "name.givenname": SqlAttribute(people.c.given_name),
    "name.familyname": SqlAttribute(people.c.family_name),
    "emails": SqlAttribute(people.c.email, folded_column=people.c.email_key),
    "emails.value": SqlAttribute(people.c.email, folded_column=people.c.email_key),
    "emails.type": SqlAttribute(case((people.c.email.is_not(None), literal("work")))),
    "emails.primary": SqlAttribute(people.c.email.is_not(None), DataType.BOOLEAN),
    "title": SqlAttribute(people.c.title),
    "employeenumber": SqlAttribute(people.c.employee_number),
    "active": SqlAttribute(people.c.status.in_(sorted(ACTIVE_STATUSES)), DataType.BOOLEAN),
    "meta.created": SqlAttribute(people.c.created_at, DataType.DATETIME),
    "meta.lastmodified": SqlAttribute(people.c.updated_at, DataType.DATETIME),
    "x-version": SqlAttribute(people.c.version, DataType.INTEGER),
    "x-binary": SqlAttribute(people.c.drivers_licence_number, DataType.BINARY),
}

ALL = {"bjensen", "JSmith", "ada_l", "adaxl", "ÖDÖN"}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def database(database: Database) -> Database:
    """Five people: mixed case, non-ASCII letters, LIKE wildcards in values, NULLs and an empty title."""
    moments: Iterator[datetime] = iter([])
    directory = DirectoryUnderTest(database, clock=lambda: next(moments))

    def add(created: str, **fields: str | None) -> str:
        nonlocal moments
        moments = iter([_moment(created)])
        unique_id = f"Ext-{fields['username']}"
        return directory.apply(UpsertPerson("OPSCOM", unique_id, fields), "test").person.public_id

    def set_status(public_id: str, status: Status, when: str) -> None:
        nonlocal moments
        moments = iter([_moment(when)])
        directory.apply(SetStatus(public_id, status), "test")

    add(
        "2024-01-10T09:00:00",
        username="bjensen",
        given_name="Barbara",
        family_name="Jensen",
        email="bjensen@example.com",
        title="Tour Guide",
        employee_number="701984",
    )
    add("2024-02-01T12:00:00", username="JSmith", given_name="John", family_name="Smith",
        email="John.Smith@example.org", employee_number="100_%")  # fmt: skip
    ada = add("2024-03-01T00:00:00", username="ada_l", given_name="Ada", family_name="Lovelace",
              title="100% Manager", employee_number="back\\slash")  # fmt: skip
    adax = add("2024-03-01T00:00:00.5", username="adaxl", given_name="Adax", email="adaxl@example.net",
               title="100 Manager")  # fmt: skip
    add("2024-04-01T00:00:00", username="ÖDÖN", given_name="Ödön", family_name="Tóth")
    set_status(ada, Status.SUSPENDED, "2024-05-01T00:00:00")
    set_status(adax, Status.EXPIRED, "2024-05-02T00:00:00")
    with database.transaction() as conn:  # the directory keeps no empty strings; a SCIM client may send one
        conn.execute(update(people).where(people.c.username == "ÖDÖN").values(title=""))
    return database


def selected(
    database: Database, filters: dict[str, set[str]], resolver: object = RESOLVER
) -> dict[str, set[str]]:
    """Whom each filter selects, as {filter: usernames}, to compare with the expected mapping whole."""
    answers = {}
    with database.snapshot() as conn:
        for text in filters:
            condition = sql_condition(parse_filter(text), resolver)  # type: ignore[arg-type]
            answers[text] = set(conn.scalars(select(people.c.username).where(condition)))
    return answers


def assert_selects(database: Database, filters: dict[str, set[str]], resolver: object = RESOLVER) -> None:
    assert selected(database, filters, resolver) == filters


def test_eq_on_strings_ignores_case(database: Database) -> None:
    assert_selects(
        database,
        {
            'userName eq "BJENSEN"': {"bjensen"},
            'userName eq "jsmith"': {"JSmith"},
            'userName eq "ödön"': {"ÖDÖN"},
            'userName eq "bjensen "': set(),
            'name.familyName eq "jensen"': {"bjensen"},
            'name.givenName eq "ADA"': {"ada_l"},
            'emails.value eq "JOHN.SMITH@EXAMPLE.ORG"': {"JSmith"},
            'title eq "tour guide"': {"bjensen"},
            'title eq ""': {"ÖDÖN"},
        },
    )


def test_ne_also_selects_whom_the_attribute_has_no_value(database: Database) -> None:
    assert_selects(
        database,
        {
            'title ne "Tour Guide"': ALL - {"bjensen"},
            'userName ne "BJensen"': ALL - {"bjensen"},
            'name.familyName ne "smith"': ALL - {"JSmith"},
        },
    )


def test_co_sw_ew_ignore_case_and_take_wildcards_literally(database: Database) -> None:
    assert_selects(
        database,
        {
            'userName sw "ADA"': {"ada_l", "adaxl"},
            'userName sw "ada_"': {"ada_l"},
            'userName co "Ö"': {"ÖDÖN"},
            'name.familyName ew "SEN"': {"bjensen"},
            'emails.value ew "@example.com"': {"bjensen"},
            'emails.value co "SMITH@"': {"JSmith"},
            'title co "100%"': {"ada_l"},
            'title sw "100"': {"ada_l", "adaxl"},
            'title co "MANAGER"': {"ada_l", "adaxl"},
            'title co ""': {"bjensen", "ada_l", "adaxl", "ÖDÖN"},
            'employeeNumber eq "100_%"': {"JSmith"},
            'employeeNumber co "_"': {"JSmith"},
            'employeeNumber co "%"': {"JSmith"},
            'employeeNumber ew "_%"': {"JSmith"},
            'employeeNumber sw "1%"': set(),
            r'employeeNumber co "\\"': {"ada_l"},
            r'employeeNumber eq "back\\slash"': {"ada_l"},
        },
    )


def test_case_exact_strings_mind_case_in_every_operator(database: Database) -> None:
    # SQLite's LIKE ignores the case of ASCII letters: case-exact co, sw and ew must not rely on it.
    assert_selects(
        database,
        {
            'externalId eq "Ext-bjensen"': {"bjensen"},
            'externalId eq "ext-bjensen"': set(),
            'externalId sw "Ext-"': ALL,
            'externalId sw "EXT-"': set(),
            'externalId co "JSmith"': {"JSmith"},
            'externalId co "jsmith"': set(),
            'externalId ew "_l"': {"ada_l"},
            'externalId ew "_L"': set(),
            'externalId ew "a-suffix-longer-than-any-id-stored"': set(),
            'externalId co "%"': set(),
            'externalId gt "Ext-b"': {"bjensen", "ÖDÖN"},  # "J" sorts before "b"
            'not (externalId co "a")': {"bjensen", "JSmith", "ÖDÖN"},
        },
    )


def test_ordering_of_strings(database: Database) -> None:
    assert_selects(
        database,
        {
            'userName gt "b"': {"bjensen", "JSmith", "ÖDÖN"},
            'userName lt "ADB"': {"ada_l", "adaxl"},
            'userName le "adaxl"': {"ada_l", "adaxl"},
            'userName ge "jsmith"': {"JSmith", "ÖDÖN"},
            'name.familyName ge "lovelace"': {"JSmith", "ada_l", "ÖDÖN"},
            'name.familyName lt "K"': {"bjensen"},
            'not (name.familyName ge "lovelace")': {"bjensen", "adaxl"},
        },
    )


def test_booleans_take_true_false_and_entras_strings(database: Database) -> None:
    active = {"bjensen", "JSmith", "ÖDÖN"}
    assert_selects(
        database,
        {
            "active eq true": active,
            "active eq false": ALL - active,
            'active eq "True"': active,
            'active eq "FALSE"': ALL - active,
            "active ne true": ALL - active,
            "not (active eq false)": active,
            "active pr": ALL,
            "emails[primary eq true]": {"bjensen", "JSmith", "adaxl"},
        },
    )


def test_date_times_compare_as_moments(database: Database) -> None:
    assert_selects(
        database,
        {
            'meta.created gt "2024-02-01T12:00:00Z"': {"ada_l", "adaxl", "ÖDÖN"},
            'meta.created ge "2024-02-01T12:00:00Z"': {"JSmith", "ada_l", "adaxl", "ÖDÖN"},
            'meta.created eq "2024-02-01T13:00:00+01:00"': {"JSmith"},
            'meta.created lt "2024-02-01T12:00:00"': {"bjensen"},
            'meta.created le "2024-03-01T00:00:00.4Z"': {"bjensen", "JSmith", "ada_l"},
            'meta.created eq "2024-03-01T00:00:00.500Z"': {"adaxl"},
            'meta.created ne "2024-03-01T00:00:00.5Z"': ALL - {"adaxl"},
            'meta.lastModified gt "2024-04-30T00:00:00Z"': {"ada_l", "adaxl"},
            "meta.lastModified pr": ALL,
        },
    )


def test_numbers(database: Database) -> None:
    assert_selects(
        database,
        {
            "x-version gt 1": {"ada_l", "adaxl"},
            "x-version eq 1": {"bjensen", "JSmith", "ÖDÖN"},
            "x-version le 1.5": {"bjensen", "JSmith", "ÖDÖN"},
            "x-version ne 2": {"bjensen", "JSmith", "ÖDÖN"},
            "x-version lt 2e0": {"bjensen", "JSmith", "ÖDÖN"},
            "x-version ge -1": ALL,
        },
    )


def test_pr_and_null(database: Database) -> None:
    assert_selects(
        database,
        {
            "title pr": {"bjensen", "ada_l", "adaxl"},
            "not (title pr)": {"JSmith", "ÖDÖN"},
            "title eq null": {"JSmith", "ÖDÖN"},
            "title ne null": {"bjensen", "ada_l", "adaxl"},
            "not (title eq null)": {"bjensen", "ada_l", "adaxl"},
            "name.familyName pr": ALL - {"adaxl"},
            "emails.value pr": {"bjensen", "JSmith", "adaxl"},
        },
    )


def test_not_selects_whom_the_attribute_has_no_value(database: Database) -> None:
    assert_selects(
        database,
        {
            'not (title eq "Tour Guide")': ALL - {"bjensen"},
            'not (title co "manager")': {"bjensen", "JSmith", "ÖDÖN"},
            'not (title sw "100" or name.familyName ew "h")': {"bjensen"},
            'not (name.familyName sw "L" or title pr)': {"JSmith", "ÖDÖN"},
            'not (userName eq "bjensen" and title pr)': ALL - {"bjensen"},
            'not (not (title eq "Tour Guide"))': {"bjensen"},
            'not (title gt "a")': ALL - {"bjensen"},
        },
    )


def test_and_binds_tighter_than_or(database: Database) -> None:
    assert_selects(
        database,
        {
            'title pr or userName eq "jsmith" and active eq false': {"bjensen", "ada_l", "adaxl"},
            '(title pr or userName eq "jsmith") and active eq false': {"ada_l", "adaxl"},
            'userName sw "ada" and (title co "%" or emails pr)': {"ada_l", "adaxl"},
        },
    )


def test_value_paths(database: Database) -> None:
    with_email = {"bjensen", "JSmith", "adaxl"}
    assert_selects(
        database,
        {
            'emails[type eq "work"]': with_email,
            'emails[type eq "WORK" and value co "ADAXL"]': {"adaxl"},
            'emails[type eq "work"].value ew "example.org"': {"JSmith"},
            'emails[type eq "work" and primary eq true].value pr': with_email,
            'emails[type eq "home"]': set(),
            'not (emails[type eq "work"])': ALL - with_email,
            # Someone without an email has no email that fails the test either.
            'emails[not (value ew ".com")]': {"JSmith", "adaxl"},
            'not (emails[not (value ew ".com")])': {"bjensen", "ada_l", "ÖDÖN"},
            'emails co "example.net"': {"adaxl"},
        },
    )


def test_value_path_without_a_mapping_for_the_attribute_itself(database: Database) -> None:
    resolver = {key: attribute for key, attribute in RESOLVER.items() if key != "emails"}
    assert_selects(
        database,
        {
            'emails[type eq "work"]': {"bjensen", "JSmith", "adaxl"},
            'emails[not (value ew ".com")]': ALL - {"bjensen"},
        },
        resolver,
    )


def test_a_mapping_resolver_ignores_schema_urns(database: Database) -> None:
    assert_selects(
        database,
        {
            f'{USER}:userName eq "bjensen"': {"bjensen"},
            f'{USER}:name.familyName eq "Smith"': {"JSmith"},
            f'{ENTERPRISE}:employeeNumber eq "701984"': {"bjensen"},
        },
    )


def test_a_callable_resolver_sees_the_whole_path(database: Database) -> None:
    def resolve(path: AttributePath) -> SqlAttribute | None:
        return RESOLVER.get(path.key) if path.schema in (None, USER) else None

    assert_selects(
        database,
        {f'{USER}:userName eq "bjensen"': {"bjensen"}, "title pr": {"bjensen", "ada_l", "adaxl"}},
        resolve,
    )
    with pytest.raises(FilterError, match="unknown attribute 'urn:example:username'"):
        sql_condition(parse_filter('urn:example:userName eq "x"'), resolve)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('nickName eq "x"', "unknown attribute 'nickname'"),
        ('emails.display eq "x"', "unknown attribute 'emails.display'"),
        ('emails[display eq "x"]', "unknown attribute 'emails.display'"),
        ('active co "t"', "active is a boolean: co does not apply (only eq, ne and pr)"),
        ("active gt true", "active is a boolean: gt does not apply"),
        ("active eq 1", "active is a boolean: compare it with true or false, not 1"),
        ('active eq "yes"', 'active is a boolean: compare it with true or false, not "yes"'),
        ("active lt null", "active lt null: only eq and ne compare with null"),
        ('meta.created co "2024"', "meta.created is of type dateTime: co applies only to strings"),
        ('meta.created gt "yesterday"', "meta.created is a dateTime: compare it with a date and time"),
        ('meta.created gt "2024-01-01"', "meta.created is a dateTime: compare it with a date and time"),
        ('meta.created gt "2024-13-01T00:00:00Z"', '"2024-13-01T00:00:00Z" is not an ISO 8601 date and time'),
        ("meta.created gt 5", "meta.created is a dateTime: compare it with a date and time, not 5"),
        ('x-version gt "1"', 'x-version is a number: compare it with a number, not "1"'),
        ("x-version eq true", "x-version is a number: compare it with a number, not true"),
        ('x-version sw "1"', "x-version is of type integer: sw applies only to strings"),
        ("userName eq 5", "username is a string: compare it with a string, not 5"),
        ("userName gt false", "username is a string: compare it with a string, not false"),
        ('x-binary co "AAA"', "x-binary is binary: co does not apply (only eq, ne and pr)"),
        ('x-binary gt "AAA"', "x-binary is binary: gt does not apply"),
    ],
)
def test_comparisons_the_type_does_not_allow_are_filter_errors(text: str, message: str) -> None:
    with pytest.raises(FilterError) as raised:
        sql_condition(parse_filter(text), RESOLVER)
    assert message in str(raised.value)


def test_a_value_path_inside_a_value_path_is_a_filter_error() -> None:
    nested = ValuePath(
        AttributePath("emails"), ValuePath(AttributePath("emails"), Present(AttributePath("value")))
    )
    with pytest.raises(FilterError, match="a value path cannot hold another value path"):
        sql_condition(nested, RESOLVER)


def _sql(text: str) -> str:
    condition = sql_condition(parse_filter(text), RESOLVER)
    return str(condition.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def test_case_insensitive_comparisons_use_the_folded_column_and_casefold() -> None:
    assert _sql('userName eq "Straße"') == "people.username_key = 'strasse'"
    assert _sql('userName sw "AB"') == "people.username_key LIKE 'ab%' ESCAPE '\\'"
    assert _sql('title eq "Straße"') == "lower(people.title) = 'straße'"


def test_negated_comparisons_spell_out_null() -> None:
    assert _sql('not (userName eq "x")') == "people.username_key IS NULL OR people.username_key != 'x'"
    assert _sql('title ne "x"') == "people.title IS NULL OR lower(people.title) != 'x'"
