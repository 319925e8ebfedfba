"""Groups in the core: create, change members and name, delete; what the change log and outbox get."""

from __future__ import annotations

import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Invalid, NotFound
from provisionhub.directory.groups import ChangeGroup, CreateGroup, DeleteGroup, Group, find_groups, groups_of
from provisionhub.directory.people import SetStatus, Status
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows, outbox_events
from tests.factories import upsert


def person(directory: Directory) -> str:
    return directory.apply(upsert(), "test").person.public_id


def group_changes(database: Database, public_id: str, entity_type: str = "person") -> list[dict[str, list]]:
    with database.snapshot() as conn:
        return [
            c.fields
            for c in list_changes(conn, entity_type=entity_type, entity_id=public_id)
            if entity_type == "group" or c.action == "groups"
        ]


def test_a_group_is_created_with_members_who_each_get_an_event(
    directory: Directory, database: Database
) -> None:
    ada, bob = person(directory), person(directory)

    group: Group = directory.apply(CreateGroup("Staff", [bob, ada], external_id="hr-7"), "test")

    assert (group.display_name, group.external_id, group.version) == ("Staff", "hr-7", 1)
    assert set(group.members) == {ada, bob}
    assert outbox_events(database, ada) == ["added", "edited"]
    assert group_changes(database, ada) == [{"groups": [[], ["Staff"]]}]
    [logged] = group_changes(database, group.public_id, "group")
    assert logged["display_name"] == [None, "Staff"]
    assert logged["members"] == [None, sorted([ada, bob])]


def test_names_are_unique_case_insensitively_and_required(directory: Directory, database: Database) -> None:
    directory.apply(CreateGroup("Staff"), "test")

    with pytest.raises(Conflict):
        directory.apply(CreateGroup("STAFF"), "test")
    with pytest.raises(Invalid):
        directory.apply(CreateGroup("   "), "test")
    assert count_rows(database, tables.groups) == 1


def test_an_unknown_or_deleted_member_is_refused_and_nothing_is_written(
    directory: Directory, database: Database
) -> None:
    ada, gone = person(directory), person(directory)
    directory.apply(SetStatus(gone, Status.DELETED), "test")

    for members in (["no-such-person"], [ada, gone]):
        with pytest.raises(Invalid) as refused:
            directory.apply(CreateGroup("Staff", members), "test")
        assert refused.value.field == "members"
    assert count_rows(database, tables.groups) == 0
    assert count_rows(database, tables.group_members) == 0


def test_adding_and_removing_members_logs_only_who_changed(directory: Directory, database: Database) -> None:
    ada, bob, cy = person(directory), person(directory), person(directory)
    group = directory.apply(CreateGroup("Staff", [ada, bob]), "test")

    changed = directory.apply(
        ChangeGroup(group.public_id, add_members=[cy, ada], remove_members=[bob]), "test"
    )

    assert set(changed.members) == {ada, cy}
    assert changed.version == 2
    assert outbox_events(database, ada) == ["added", "edited"]  # no new event: ada was a member already
    assert outbox_events(database, bob) == ["added", "edited", "edited"]
    assert group_changes(database, bob) == [{"groups": [[], ["Staff"]]}, {"groups": [["Staff"], []]}]
    assert group_changes(database, group.public_id, "group")[-1]["members"] == [[bob], [cy]]


def test_replacing_members_and_an_unchanged_group(directory: Directory, database: Database) -> None:
    ada, bob = person(directory), person(directory)
    group = directory.apply(CreateGroup("Staff", [ada]), "test")

    replaced = directory.apply(ChangeGroup(group.public_id, members=[bob]), "test")
    same = directory.apply(ChangeGroup(group.public_id, members=[bob], display_name="Staff"), "test")

    assert replaced.members == (bob,)
    assert same.version == replaced.version  # nothing changed: no new version, no log entry
    assert len(group_changes(database, group.public_id, "group")) == 2


def test_a_rename_is_an_event_for_every_member(directory: Directory, database: Database) -> None:
    ada, bob = person(directory), person(directory)
    group = directory.apply(CreateGroup("Staff", [ada, bob]), "test")
    directory.apply(CreateGroup("Other", [ada]), "test")

    directory.apply(ChangeGroup(group.public_id, display_name="Faculty"), "test")

    assert group_changes(database, ada)[-1] == {"groups": [["Other", "Staff"], ["Faculty", "Other"]]}
    assert group_changes(database, bob)[-1] == {"groups": [["Staff"], ["Faculty"]]}
    assert outbox_events(database, bob) == ["added", "edited", "edited"]


def test_a_rename_to_a_taken_name_is_a_conflict(directory: Directory) -> None:
    directory.apply(CreateGroup("Staff"), "test")
    other = directory.apply(CreateGroup("Other"), "test")

    with pytest.raises(Conflict):
        directory.apply(ChangeGroup(other.public_id, display_name="staff"), "test")
    renamed = directory.apply(ChangeGroup(other.public_id, display_name="OTHER"), "test")  # its own name
    assert renamed.display_name == "OTHER"


def test_deleting_a_group_takes_it_from_its_members(directory: Directory, database: Database) -> None:
    ada = person(directory)
    group = directory.apply(CreateGroup("Staff", [ada]), "test")

    directory.apply(DeleteGroup(group.public_id), "test")

    with database.snapshot() as conn:
        assert find_groups(conn, [group.public_id]) == {}
        assert groups_of(conn, [1, 2, 3]) == {}
    assert count_rows(database, tables.group_members) == 0
    assert group_changes(database, ada)[-1] == {"groups": [["Staff"], []]}
    assert outbox_events(database, ada)[-1] == "edited"
    with pytest.raises(NotFound):
        directory.apply(DeleteGroup(group.public_id), "test")
    with pytest.raises(NotFound):
        directory.apply(ChangeGroup(group.public_id, display_name="x"), "test")


def test_groups_of_lists_each_persons_groups_by_name(directory: Directory, database: Database) -> None:
    ada = directory.apply(upsert(), "test").person
    directory.apply(CreateGroup("b-team", [ada.public_id]), "test")
    a_team = directory.apply(CreateGroup("A-Team", [ada.public_id]), "test")

    with database.snapshot() as conn:
        found = groups_of(conn, [ada.id])

    assert [name for _, name in found[ada.id]] == ["A-Team", "b-team"]
    assert found[ada.id][0][0] == a_team.public_id
