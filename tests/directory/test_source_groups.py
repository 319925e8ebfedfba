"""The groups a source system gives a person with their record (COmanage's `members`): created by name,
joined and left so that they equal what the source names, without touching memberships given otherwise."""

from __future__ import annotations

import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Invalid, NotFound
from provisionhub.directory.groups import ChangeGroup, CreateGroup, SetSourceGroups, groups_of
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows, outbox_events
from tests.factories import upsert


def person(directory: Directory) -> str:
    return directory.apply(upsert(), "test").person.public_id


def names_of(directory: Directory, public_id: str) -> list[str]:
    with directory.database.snapshot() as conn:
        person = directory.find_person(conn, public_id)
        return [name for _, name in groups_of(conn, [person.id]).get(person.id, [])]


def sync(directory: Directory, public_id: str, *names: str, source: str = "COMANAGE") -> bool:
    return directory.apply(SetSourceGroups(public_id, source, names), "test")


def test_missing_groups_are_created_existing_ones_joined_in_one_change_of_the_person(
    directory: Directory, database: Database
) -> None:
    ada = person(directory)
    directory.apply(CreateGroup("Faculty"), "test")

    assert sync(directory, ada, "faculty", "CO:members:all", "Staff", "staff") is True

    assert names_of(directory, ada) == ["CO:members:all", "Faculty", "Staff"]
    assert count_rows(database, tables.groups) == 3  # "faculty" found Faculty; "staff" twice is one group
    assert outbox_events(database, ada) == ["added", "edited"]
    with database.snapshot() as conn:
        [logged] = [
            c.fields for c in list_changes(conn, entity_type="person", entity_id=ada) if c.action == "groups"
        ]
        group_actions = sorted(c.action for c in list_changes(conn, entity_type="group"))
    assert logged == {"groups": [[], ["CO:members:all", "Faculty", "Staff"]]}
    assert group_actions == ["create", "create", "create", "update"]  # Faculty's own creation, then joined


def test_the_same_names_again_change_nothing(directory: Directory, database: Database) -> None:
    ada = person(directory)
    sync(directory, ada, "Staff", "Faculty")
    logged = count_rows(database, tables.changes)

    assert sync(directory, ada, "FACULTY", "Staff") is False

    assert count_rows(database, tables.changes) == logged
    assert outbox_events(database, ada) == ["added", "edited"]


def test_a_name_no_longer_given_ends_that_membership_and_only_the_source_s_own(
    directory: Directory, database: Database
) -> None:
    ada = person(directory)
    by_scim = directory.apply(CreateGroup("Tour Guides", [ada]), "test")
    sync(directory, ada, "Staff", "Faculty", "Tour Guides")

    assert sync(directory, ada, "Staff") is True

    # Faculty was the source's to end; Tour Guides came from a group's own API before the source named it.
    assert names_of(directory, ada) == ["Staff", "Tour Guides"]
    directory.apply(ChangeGroup(by_scim.public_id, add_members=[ada]), "test")
    assert sync(directory, ada) is True
    assert names_of(directory, ada) == ["Tour Guides"]
    assert count_rows(database, tables.groups) == 3  # a group left empty stays


def test_another_source_s_memberships_are_left_alone(directory: Directory) -> None:
    ada = person(directory)
    sync(directory, ada, "Staff", source="OTHER")

    sync(directory, ada, "Faculty")
    sync(directory, ada)

    assert names_of(directory, ada) == ["Staff"]


def test_a_bad_name_or_an_unknown_person_writes_nothing(directory: Directory, database: Database) -> None:
    ada = person(directory)
    logged = count_rows(database, tables.changes)

    with pytest.raises(Invalid):
        sync(directory, ada, "Staff", "   ")
    with pytest.raises(Invalid):
        sync(directory, ada, "x" * 256)
    with pytest.raises(NotFound):
        sync(directory, "no-such-person", "Staff")

    assert count_rows(database, tables.groups) == 0
    assert count_rows(database, tables.changes) == logged
