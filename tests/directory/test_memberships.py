"""Members through the Directory: the guards no dialect reaches, as no wire builds such a command."""

from __future__ import annotations

import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Rejected
from provisionhub.directory.memberships import Role, UpsertMember, find_members
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows
from tests.factories import new_organisation, person_fields


def test_a_membership_part_that_does_not_exist_is_refused(directory: Directory, database: Database) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    command = UpsertMember(
        person=person_fields(), membership={"account": account, "role": Role.DISTRICT_ADMIN, "desk": "3B"}
    )

    with pytest.raises(Rejected) as caught, database.transaction() as conn:
        directory.upsert_members(conn, [command], "test")

    [error] = caught.value.errors
    assert (error.index, error.error.field) == (0, "desk")
    assert count_rows(database, tables.people) == 0


@pytest.mark.parametrize("value", ["correct horse", "$argon2i$v=19$m=16,t=2,p=1$c2FsdA$aGFzaA", 12])
def test_a_password_hash_must_be_an_argon2id_hash(
    directory: Directory, database: Database, value: object
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    command = UpsertMember(
        person={**person_fields(), "password_hash": value},
        membership={"account": account, "role": Role.DISTRICT_ADMIN},
    )

    with pytest.raises(Rejected) as caught, database.transaction() as conn:
        directory.upsert_members(conn, [command], "test")

    [error] = caught.value.errors
    assert error.error.field == "password_hash"
    assert count_rows(database, tables.people) == 0
    assert count_rows(database, tables.memberships) == 0


def test_a_members_result_shows_the_member_as_stored(directory: Directory, database: Database) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    command = UpsertMember(
        person=person_fields(given_name="Edna"), membership={"account": account, "role": Role.DISTRICT_ADMIN}
    )

    with database.transaction() as conn:
        [result] = directory.upsert_members(conn, [command], "test")
        [found] = find_members(conn, [result.person.public_id]).values()

    assert result.created
    assert result.member == found
    assert result.member.person["given_name"] == "Edna"
    assert (result.membership.account, result.membership.role) == (account, Role.DISTRICT_ADMIN)


def test_members_placed_alike_and_apart_in_one_batch_each_belong_where_sent(
    directory: Directory, database: Database
) -> None:
    """New members sent to the same place share where they go; each still has its own membership and
    its own change, with the parts it was given."""
    account = new_organisation(directory, OrgKind.ACCOUNT)
    building = new_organisation(directory, OrgKind.BUILDING, parent=account)
    district = {"account": account, "role": Role.DISTRICT_ADMIN}
    in_building = {"account": account, "building": building, "role": Role.BUILDING_ADMIN}
    places = [district, in_building, district, in_building, district]
    commands = [UpsertMember(person=person_fields(), membership=place) for place in places]

    with database.transaction() as conn:
        results = directory.upsert_members(conn, commands, "test")
        members = find_members(conn, [result.person.public_id for result in results])
        changes = list_changes(conn)

    buildings = [members[result.person.public_id].membership.building for result in results]
    assert buildings == [None, building, None, building, None]
    assert count_rows(database, tables.memberships) == 5
    logged = {change.entity_id: change.fields for change in changes if change.entity_type == "person"}
    for result, place in zip(results, places, strict=True):
        fields = logged[result.person.public_id]
        assert fields["account"] == [None, account]
        assert fields["role"] == [None, place["role"].value]
        assert fields.get("building") == ([None, building] if "building" in place else None)
