"""UNIWeb's resource endpoint on `units` and `groups`: read-only rows (a list, or one by `id`), their
filters, `info`, and the refusals (writes, resources, index_by, filters that do not apply)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from provisionhub.directory.access import Permission
from provisionhub.directory.groups import CreateGroup
from provisionhub.directory.memberships import Role, UpsertMember
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory
from tests.dialects.uniweb.conftest import MakeClient
from tests.dialects.uniweb.test_resource import ask, error_of, new_person, token
from tests.factories import new_organisation, person_fields

pytestmark = pytest.mark.anyio


def members_of(directory: Directory, account: str, count: int, building: str | None = None) -> list[str]:
    """count new people who belong to account (and building, if given), as myON pushes them."""
    membership: dict[str, Any] = {"account": account, "role": Role.DISTRICT_ADMIN}
    if building is not None:
        membership = {**membership, "building": building, "role": Role.BUILDING_ADMIN}
    made = [UpsertMember(person=person_fields(), membership=membership) for _ in range(count)]
    with directory.database.transaction() as conn:
        return [m.person.public_id for m in directory.upsert_members(conn, made, "myon")]


def new_group(directory: Directory, name: str, people: list[str]) -> str:
    return directory.apply(CreateGroup(name, people), "test").public_id


# -- units ------------------------------------------------------------------------------------------------


async def test_a_read_of_units_lists_their_rows_with_parent_and_member_count(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    civil = new_organisation(directory, OrgKind.ACCOUNT, title="Civil Engineering")
    lab = new_organisation(directory, OrgKind.BUILDING, parent=civil, title="Hydraulics Lab")
    members_of(directory, civil, 2)
    members_of(directory, civil, 1, building=lab)
    access = await token(client, make_client, [Permission.ORG_READ])

    answer = await ask(client, access, {"action": "read", "contentType": "units"})

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "contentId": civil,
            "unitName": "Civil Engineering",
            "parentId": None,
            "type": "account",
            "memberCount": 3,
        },
        {
            "contentId": lab,
            "unitName": "Hydraulics Lab",
            "parentId": civil,
            "type": "building",
            "memberCount": 1,
        },
    ]


async def test_a_read_of_one_unit_by_id_is_its_row(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    unit = new_organisation(directory, OrgKind.UNIT, title="Faculty of Science")
    new_organisation(directory, OrgKind.UNIT, title="Faculty of Arts")
    access = await token(client, make_client, [Permission.ORG_READ])

    answer = await ask(client, access, {"action": "read", "content": "units", "id": unit}, how="json")
    missing = await ask(client, access, {"action": "read", "content": "units", "id": "nope"})

    assert answer.json() == {
        "contentId": unit,
        "unitName": "Faculty of Science",
        "parentId": None,
        "type": "unit",
        "memberCount": 0,
    }
    assert missing.status_code == 404
    assert error_of(missing)["code"] == 404


async def test_the_units_unit_and_modified_since_filters_keep_some_units(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    physics = new_organisation(directory, OrgKind.UNIT, title="Physics")
    chemistry = new_organisation(directory, OrgKind.UNIT, title="Chemistry")
    since = datetime.now(UTC)
    biology = new_organisation(directory, OrgKind.UNIT, title="Biology")
    access = await token(client, make_client, [Permission.ORG_READ])
    read = {"action": "read", "content": "units"}

    by_ids = await ask(client, access, {**read, "filter": {"units": [physics, chemistry]}})
    by_name = await ask(client, access, {**read, "filter": {"unit": "physics"}})
    changed = await ask(client, access, {**read, "filter": {"modified_since": since.isoformat()}})
    later = (since + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    nothing = await ask(client, access, {**read, "filter": {"modified_since": later}})

    assert [row["contentId"] for row in by_ids.json()] == [chemistry, physics]
    assert [row["contentId"] for row in by_name.json()] == [physics]
    assert [row["contentId"] for row in changed.json()] == [biology]
    assert nothing.json() == []


# -- groups -----------------------------------------------------------------------------------------------


async def test_a_read_of_groups_lists_their_names_and_members(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    ada, bob = new_person(directory), new_person(directory)
    staff = new_group(directory, "Staff", [ada, bob])
    empty = new_group(directory, "Alumni", [])
    access = await token(client, make_client, [Permission.GROUP_READ])

    listed = await ask(client, access, {"action": "read", "content": "groups"}, how="urlencoded")
    one = await ask(client, access, {"action": "read", "content": "groups", "id": staff})

    staff_row = {"contentId": staff, "groupName": "Staff", "memberCount": 2, "members": [ada, bob]}
    assert listed.json() == [
        {"contentId": empty, "groupName": "Alumni", "memberCount": 0, "members": []},
        staff_row,
    ]
    assert one.json() == staff_row


async def test_groups_take_modified_since(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_group(directory, "Old", [])
    since = datetime.now(UTC)
    fresh = new_group(directory, "New", [])
    access = await token(client, make_client, [Permission.GROUP_READ])

    answer = await ask(
        client,
        access,
        {"action": "read", "content": "groups", "filter": {"modified_since": since.isoformat()}},
    )

    assert [row["contentId"] for row in answer.json()] == [fresh]


async def test_a_group_holding_someone_beyond_the_clients_login_sources_fails_the_whole_read(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    ada, eve = new_person(directory), new_person(directory, login_source="SCIM")
    seen = new_group(directory, "Seen", [ada])
    mixed = new_group(directory, "Mixed", [ada, eve])
    access = await token(client, make_client, [Permission.GROUP_READ], login_sources=["OPSCOM"])
    read = {"action": "read", "content": "groups"}

    listed = await ask(client, access, read)
    one = await ask(client, access, {**read, "id": mixed})
    allowed = await ask(client, access, {**read, "id": seen})

    for refused, field in ((listed, "content"), (one, "id")):
        assert refused.status_code == 403
        assert error_of(refused)["message"].startswith(f"{field}: this credential may not see")
        assert eve not in refused.text
    assert allowed.json()["members"] == [ada]


# -- info and refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title"), [("en", "Name"), ("fr", "Nom")])
async def test_info_names_and_types_the_row_fields(
    client: httpx.AsyncClient, make_client: MakeClient, language: str, title: str
) -> None:
    access = await token(client, make_client)

    units = await ask(client, access, {"action": "info", "content": "units", "language": language})
    groups = await ask(client, access, {"action": "info", "content": "groups"})

    assert list(units.json()["units"]["fields"]) == [
        "contentId",
        "unitName",
        "parentId",
        "type",
        "memberCount",
    ]
    assert units.json()["units"]["fields"]["unitName"] == {"name": "unitName", "title": title, "type": "text"}
    assert groups.json()["groups"]["fields"]["members"]["type"] == "list"


@pytest.mark.parametrize("content", ["units", "groups"])
@pytest.mark.parametrize("action", ["add", "edit", "clear", "options"])
async def test_units_and_groups_refuse_writes_naming_content_and_the_action(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, content: str, action: str
) -> None:
    unit = new_organisation(directory, OrgKind.UNIT)
    access = await token(client, make_client, [Permission.ORG_READ, Permission.GROUP_READ])
    request = {"action": action, "content": content, "id": unit, "resources": {"profile/x": {"a": 1}}}

    answer = await ask(client, access, request)

    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == 400
    assert error["message"].startswith("content:")
    assert action in error["message"]


@pytest.mark.parametrize(
    ("request_object", "named"),
    [
        ({"action": "read", "content": "units", "resources": "profile/unit_information"}, "resources"),
        ({"action": "read", "content": "units", "index_by": "login_name"}, "index_by"),
        ({"action": "read", "content": "units", "filter": {"title": "Professor"}}, "filter/title"),
        ({"action": "read", "content": "groups", "filter": {"units": ["x"]}}, "filter/units"),
        ({"action": "read", "content": "groups", "filter": {"login": "bob"}}, "filter/loginName"),
    ],
)
async def test_what_does_not_apply_to_units_and_groups_is_a_400_naming_it(
    client: httpx.AsyncClient, make_client: MakeClient, request_object: Any, named: str
) -> None:
    access = await token(client, make_client)

    answer = await ask(client, access, request_object)

    assert answer.status_code == 400
    assert error_of(answer)["message"].startswith(f"{named}:")


@pytest.mark.parametrize(
    ("permissions", "content"),
    [([Permission.USER_READ, Permission.GROUP_READ], "units"), ([Permission.ORG_READ], "groups")],
)
async def test_units_need_org_read_and_groups_group_read(
    client: httpx.AsyncClient, make_client: MakeClient, permissions: Any, content: str
) -> None:
    access = await token(client, make_client, permissions)

    answer = await ask(client, access, {"action": "read", "content": content})

    assert answer.status_code == 403
    assert error_of(answer)["code"] == 403
