"""resource.php as a GET (the reference's GET form: the request object as query parameters, nested as PHP
writes them), and the access token as the request object's `token` property (UNIWeb's 2015 docs)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from provisionhub.directory.access import Permission
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database
from tests.dialects.uniweb.conftest import MakeClient, multipart
from tests.dialects.uniweb.test_login_sources import written
from tests.dialects.uniweb.test_resource import (
    ADDRESS,
    BIOGRAPHY,
    BOB_BIOGRAPHY,
    DEGREES,
    MEMBERSHIP,
    READ_AND_WRITE,
    RESOURCE,
    SEED_DEGREES,
    SELECTED,
    ask,
    error_of,
    member_of,
    new_bob,
    new_person,
    token,
)

pytestmark = pytest.mark.anyio

Query = list[tuple[str, str]]


async def get(client: httpx.AsyncClient, access: str | None, query: Query) -> httpx.Response:
    """GET resource.php with the access token (first, as the PHP client puts it) and these parameters."""
    given = [("access_token", access)] if access is not None else []
    return await client.get(RESOURCE, params=[*given, *query])


# -- GET --------------------------------------------------------------------------------------------


async def test_a_get_reads_one_member_as_the_references_get_form_spells_it(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)

    answer = await get(
        client,
        access,
        [
            ("action", "read"),
            ("id", "bob@mail.ca"),
            ("resources[]", BIOGRAPHY),
            ("resources[]", SELECTED),
            ("onlyPublic", "0"),
            ("language", "en"),
        ],
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {BIOGRAPHY: BOB_BIOGRAPHY, SELECTED: SEED_DEGREES}


async def test_a_get_takes_each_filter_and_index_by_in_brackets(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    member_of(directory, "Civil Engineering", username="ann@x.org", title="Professor")
    member_of(directory, "Physics", title="Professor")
    access = await token(client, make_client)
    read = [("action", "read"), ("resources", MEMBERSHIP), ("index_by", "login_name")]
    units = await get(
        client, access, [("action", "read"), ("contentType", "units"), ("filter[unit]", "civil engineering")]
    )

    by_unit = await get(
        client, access, [*read, ("filter[unit]", "Civil Engineering"), ("filter[title]", "Professor")]
    )
    by_units = await get(client, access, [*read, ("filter[units][]", units.json()[0]["contentId"])])
    by_login = await get(client, access, [*read, ("filter[login]", "ANN@x.org")])
    later = await get(client, access, [*read, ("filter[modified_since]", "2038-01-19 03:14:07")])

    assert list(by_unit.json()) == ["ann@x.org"]
    assert by_unit.json()["ann@x.org"][MEMBERSHIP]["unit"] == "Civil Engineering"
    assert by_units.json() == by_login.json() == by_unit.json()
    assert later.json() == {}


async def test_a_get_takes_field_lists_and_phps_indexed_lists(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    one = [("action", "read"), ("id", "bob@mail.ca")]

    fields = await get(client, access, [*one, (f"resources[{SELECTED}][]", "degree_name")])
    indexed = await get(client, access, [*one, ("resources[0]", BIOGRAPHY), ("resources[1]", SELECTED)])
    nested = await get(client, access, [*one, ("resources[profile][]", "biography")])

    assert fields.json() == {SELECTED: [{"degree_name": "PhD"}, {"degree_name": "Engineering"}]}
    assert indexed.json() == {BIOGRAPHY: BOB_BIOGRAPHY, SELECTED: SEED_DEGREES}
    assert nested.json() == {BIOGRAPHY: BOB_BIOGRAPHY}


@pytest.mark.parametrize(("language", "title"), [("en", "Address Type"), ("fr", "Type d'adresse")])
async def test_a_get_answers_listings_info_and_options_in_each_language(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, language: str, title: str
) -> None:
    ada = new_person(directory, given_name="Ada")
    access = await token(client, make_client)

    members = await get(client, access, [("action", "read"), ("contentType", "members")])
    info = await get(client, access, [("action", "info"), ("resources", ADDRESS), ("language", language)])
    options = await get(
        client, access, [("action", "options"), (f"resources[{ADDRESS}][]", "location"), ("lang", language)]
    )
    groups = await get(client, access, [("action", "read"), ("content", "groups")])

    assert [(row["contentId"], row["first_name"]) for row in members.json()] == [(ada, "Ada")]
    assert info.json()[ADDRESS]["fields"]["address_type"]["title"] == title
    assert options.json()[ADDRESS]["location"][0] == [1, "Canada"]
    assert groups.json() == []


async def test_a_get_may_carry_the_request_object_as_json_in_request(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    request = {"action": "read", "id": "bob@mail.ca", "resources": [BIOGRAPHY]}

    answer = await get(client, access, [("request", json.dumps(request))])

    assert answer.json() == {BIOGRAPHY: BOB_BIOGRAPHY}


@pytest.mark.parametrize(
    "query",
    [
        [("action", "add"), (f"resources[{BIOGRAPHY}][0][biography]", "Via GET")],
        [("action", "edit"), (f"resources[{BIOGRAPHY}][biography]", "Via GET")],
        [("action", "clear"), ("resources[]", SELECTED)],
    ],
    ids=["add", "edit", "clear"],
)
async def test_a_write_sent_as_a_get_is_a_400_naming_action_and_writes_nothing(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, database: Database, query: Query
) -> None:
    new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)
    before = written(database)

    answer = await get(client, access, [*query, ("id", "bob@mail.ca")])

    assert answer.status_code == 400
    assert error_of(answer)["message"].startswith("action: ")
    assert "POST" in error_of(answer)["message"]
    assert written(database) == before


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ([("resources", BIOGRAPHY)], "action"),
        ([("action", "fetch")], "action"),
        ([("action", "read"), ("resources", BIOGRAPHY), ("resources[]", SELECTED)], "resources"),
        ([("action", "read"), ("filter[unit]", "x"), ("filter[unit][]", "y")], "filter/unit"),
        ([("action", "read"), ("resources" + "[a]" * 9, "x")], "resources"),
        ([("action", "read"), ("filter[units]", "7")], "filter/units"),
        ([("action", "read"), ("filter[colour]", "red")], "filter/colour"),
        ([("action", "read"), ("onlyPublic", "1")], "onlyPublic"),
        ([("action", "read"), ("onlyPublic", "yes")], "onlyPublic"),
        ([("request", "{not json")], "request"),
    ],
)
async def test_a_bad_get_is_a_400_naming_what_is_wrong(
    client: httpx.AsyncClient, make_client: MakeClient, query: Query, named: str
) -> None:
    access = await token(client, make_client)

    answer = await get(client, access, query)

    assert answer.status_code == 400, answer.text
    error = error_of(answer)
    assert error["message"].startswith(named)
    assert error["code"] == 400


async def test_a_get_whose_parameters_spell_a_list_is_a_400_naming_request(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    access = await token(client, make_client)

    answer = await client.get(
        RESOURCE, params=[("0", "read"), ("1", BIOGRAPHY)], headers={"Authorization": f"Bearer {access}"}
    )

    assert answer.status_code == 400, answer.text
    assert error_of(answer)["message"] == "request: a JSON object was expected"


async def test_a_get_needs_a_token_the_permission_and_fails_whole_beyond_the_login_sources(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    new_person(directory, login_source="SCIM")
    units_only = await token(client, make_client, [Permission.ORG_READ], name="units")
    scoped = await token(client, make_client, login_sources=["OPSCOM"])
    read = [("action", "read"), ("resources", BIOGRAPHY)]

    anonymous = await get(client, None, read)
    unpermitted = await get(client, units_only, read)
    beyond = await get(client, scoped, read)
    seen = await get(client, scoped, [*read, ("id", "bob@mail.ca")])

    assert anonymous.status_code == 401
    assert (anonymous.json()["code"], anonymous.json()["error_subcode"]) == (98, 223)
    assert unpermitted.status_code == beyond.status_code == 403
    assert error_of(beyond)["message"].startswith("filter: this credential may not see")
    assert seen.json() == {BIOGRAPHY: BOB_BIOGRAPHY}


async def test_only_public_0_is_taken_in_a_posted_request_object_and_1_is_refused(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    request = {"action": "read", "id": "bob@mail.ca", "resources": BIOGRAPHY}

    private_too = await ask(client, access, {**request, "onlyPublic": 0}, "json")
    public_only = await ask(client, access, {**request, "onlyPublic": True})

    assert private_too.json() == {BIOGRAPHY: BOB_BIOGRAPHY}
    assert public_only.status_code == 400
    assert "no section here is marked public" in error_of(public_only)["message"]


# -- the request object's token property --------------------------------------------------------------


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "json", "get"])
async def test_the_request_object_may_carry_the_token_as_its_token_property(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, how: str
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    request = {"action": "read", "id": "bob@mail.ca", "resources": BIOGRAPHY, "token": access}

    if how == "get":
        answer = await get(client, None, [(name, value) for name, value in request.items()])
    elif how == "json":
        answer = await client.post(RESOURCE, json=request)
    elif how == "urlencoded":
        answer = await client.post(RESOURCE, data={"request": json.dumps(request)})
    else:
        answer = await client.post(RESOURCE, files=multipart({"request": json.dumps(request)}))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {BIOGRAPHY: BOB_BIOGRAPHY}


@pytest.mark.parametrize(
    ("carried", "status", "error"),
    [
        ("pha-unknown", 401, "invalid_token"),
        ("<another>", 400, "invalid_request"),
        (42, 401, "invalid_request"),
    ],
)
async def test_a_token_property_that_is_unknown_differs_or_is_no_text_is_refused(
    client: httpx.AsyncClient, make_client: MakeClient, carried: Any, status: int, error: str
) -> None:
    access = await token(client, make_client)
    other = await token(client, make_client, name="other")
    request = {"action": "read", "resources": DEGREES, "token": other if carried == "<another>" else carried}

    answer = await client.post(
        RESOURCE if carried != "<another>" else f"{RESOURCE}?access_token={access}",
        files=multipart({"request": json.dumps(request)}),
    )

    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error
    assert (body["code"], body["error_subcode"]) == (98, 223)
