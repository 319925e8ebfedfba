"""A read of members without resources: UNIWeb's member listing (its reference's "fast path", example13),
a list of rows, each the member's UNIWeb id (contentId) and the fields of profile/membership_information;
with id, that member's row. The reference leaves a member row's fields unsaid: these are our choice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from provisionhub.directory.access import Permission
from provisionhub.directory.section_items import AddItems, EditItem
from provisionhub.directory.service import Directory
from tests.dialects.uniweb.conftest import MakeClient
from tests.dialects.uniweb.test_resource import (
    BIOGRAPHY,
    MEMBERSHIP,
    READ_AND_WRITE,
    ask,
    error_of,
    member_of,
    new_person,
    token,
)

pytestmark = pytest.mark.anyio

LISTING = {"action": "read", "contentType": "members"}


def row(public_id: str, **fields: Any) -> dict[str, Any]:
    """A member's row: every field of profile/membership_information, None unless given."""
    empty = dict.fromkeys(
        ("prefix", "first_name", "middle_name", "last_name", "email", "position_title", "unit")
    )
    return {"contentId": public_id, **empty, **fields}


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "json"])
async def test_a_read_without_resources_lists_every_member_as_a_row(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, how: str
) -> None:
    grace = new_person(directory, given_name="Grace", family_name="Hopper", email="grace@x.org", title="Dean")
    civil = member_of(directory, "Civil Engineering", given_name="Ada", family_name="Byron", email="a@x.org")
    access = await token(client, make_client)

    answer = await ask(client, access, LISTING, how)

    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        row(grace, first_name="Grace", last_name="Hopper", email="grace@x.org", position_title="Dean"),
        row(civil, first_name="Ada", last_name="Byron", email="a@x.org", unit="Civil Engineering"),
    ]


async def test_the_references_example_lists_the_members_of_a_unit_by_its_id(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    civil = member_of(directory, "Civil Engineering")
    member_of(directory, "Physics")
    new_person(directory)
    access = await token(client, make_client, [Permission.USER_READ, Permission.ORG_READ])
    [unit] = (
        await ask(
            client, access, {**LISTING, "contentType": "units", "filter": {"unit": "civil engineering"}}
        )
    ).json()

    answer = await ask(client, access, {**LISTING, "filter": {"units": [unit["contentId"]]}})

    assert [member["contentId"] for member in answer.json()] == [civil]


async def test_the_listing_takes_the_members_filters(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    civil = member_of(directory, "Civil Engineering", title="Professor")
    member_of(directory, "Physics", title="Professor")
    lecturer = new_person(directory, username="lee@x.org", title="Lecturer")
    access = await token(client, make_client)

    by_unit = await ask(client, access, {**LISTING, "filter": {"unit": "Civil Engineering"}})
    by_title = await ask(client, access, {**LISTING, "filter": {"title": "lecturer"}})
    by_login = await ask(client, access, {**LISTING, "filter": {"loginName": "LEE@x.org"}})
    nobody = await ask(client, access, {**LISTING, "filter": {"unit": "Civil Engineering", "title": "Dean"}})

    assert [member["contentId"] for member in by_unit.json()] == [civil]
    assert [member["contentId"] for member in by_title.json()] == [lecturer]
    assert [member["contentId"] for member in by_login.json()] == [lecturer]
    assert nobody.json() == []


async def test_a_read_of_one_id_without_resources_is_that_members_row(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    ada = new_person(directory, username="ada@x.org", given_name="Ada", family_name="L", email="ada@x.org")
    new_person(directory)
    access = await token(client, make_client)

    one = await ask(client, access, {"action": "read", "id": "ada@x.org"})
    missing = await ask(client, access, {"action": "read", "id": "nobody@x.org"})

    assert one.json() == row(ada, first_name="Ada", last_name="L", email="ada@x.org")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == 404


async def test_modified_since_lists_the_members_whose_row_changed(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    renamed = new_person(directory, title="Lecturer")
    written = new_person(directory)
    new_person(directory)
    since = datetime.now(UTC)
    with directory.database.transaction() as conn:
        directory.change_sections(
            conn,
            [
                EditItem(renamed, MEMBERSHIP, {"position_title": "Professor"}),
                AddItems(written, BIOGRAPHY, [{"biography": "Not in the row"}]),
            ],
            "test",
        )
    access = await token(client, make_client)
    changed_since = {"modified_since": since.strftime("%Y-%m-%d %H:%M:%S.%f")}

    listed = await ask(client, access, {**LISTING, "filter": changed_since})
    one = await ask(client, access, {"action": "read", "id": renamed, "filter": changed_since})
    unchanged = await ask(client, access, {"action": "read", "id": written, "filter": changed_since})

    assert [member["contentId"] for member in listed.json()] == [renamed]
    assert one.json()["position_title"] == "Professor"
    assert unchanged.status_code == 404
    assert "has not changed since" in error_of(unchanged)["message"]


@pytest.mark.parametrize(("language", "rank"), [("en", "Full Professor"), ("fr", "Professeur titulaire")])
async def test_a_row_follows_the_catalogues_membership_information_in_each_language(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, language: str, rank: str
) -> None:
    ada = new_person(directory, given_name="Ada")
    ranked = {
        "pages": [
            {
                "name": "profile",
                "sections": [
                    {
                        "title": {"en": "Membership Information", "fr": "Renseignements sur le membre"},
                        "single": True,
                        "fields": [
                            {"title": "First Name", "type": "text", "person": "given_name"},
                            {
                                "title": {"en": "Rank", "fr": "Rang"},
                                "type": "lov",
                                "choices": [
                                    {"id": 1, "title": {"en": "Full Professor", "fr": "Professeur titulaire"}}
                                ],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    with directory.database.transaction() as conn:
        directory.load_sections(conn, ranked, "test")
        directory.change_sections(conn, [AddItems(ada, MEMBERSHIP, [{"rank": 1}])], "test")
    access = await token(client, make_client)

    answer = await ask(client, access, {**LISTING, "language": language})

    assert answer.json() == [{"contentId": ada, "first_name": "Ada", "rank": [1, rank]}]


@pytest.mark.parametrize(
    ("request_object", "status", "named"),
    [
        ({**LISTING, "index_by": "login_name"}, 400, "index_by"),
        ({**LISTING, "filter": {"units": "not a list"}}, 400, "filter/units"),
        ({**LISTING, "filter": {"modified_since": "soon"}}, 400, "filter/modified_since"),
        ({**LISTING, "language": "de"}, 400, "language"),
    ],
)
async def test_a_bad_listing_is_a_400_naming_what_is_wrong(
    client: httpx.AsyncClient, make_client: MakeClient, request_object: Any, status: int, named: str
) -> None:
    access = await token(client, make_client)

    answer = await ask(client, access, request_object)

    assert answer.status_code == status
    assert named in error_of(answer)["message"]


async def test_the_listing_needs_user_read_and_fails_whole_beyond_the_login_sources(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_person(directory)
    hidden = new_person(directory, login_source="SCIM")
    writer = await token(client, make_client, [Permission.USER_UPDATE], name="writer")
    scoped = await token(client, make_client, READ_AND_WRITE, login_sources=["OPSCOM"])

    unpermitted = await ask(client, writer, LISTING)
    listed = await ask(client, scoped, LISTING)
    one = await ask(client, scoped, {"action": "read", "id": hidden})

    assert unpermitted.status_code == listed.status_code == one.status_code == 403
    assert error_of(listed)["message"].startswith("filter: this credential may not see")
    assert hidden not in listed.text
