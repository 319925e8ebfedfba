"""UNIWeb's resource endpoint over HTTP: each action on members' profile sections, each way of sending the
request object, each filter, index_by, both languages, and each error, in the seed's shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from provisionhub.directory.access import Permission
from provisionhub.directory.changes import list_changes
from provisionhub.directory.memberships import Role, UpsertMember
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.section_items import AddItems
from provisionhub.directory.service import Directory
from provisionhub.scheduler import run_lifecycle
from tests.conftest import outbox_events
from tests.dialects.uniweb.conftest import TOKEN, MakeClient, multipart, password_grant
from tests.factories import new_organisation, person_fields, upsert

pytestmark = pytest.mark.anyio

RESOURCE = "/uniweb/api/resource.php"
DEGREES = "cv/education/degrees"
SELECTED = "profile/selected_degrees"
BIOGRAPHY = "profile/biography"
INTERESTS = "profile/research_interests"
MEMBERSHIP = "profile/membership_information"
ADDRESS = "cv/personal_information/address"

READ_AND_WRITE = [Permission.USER_READ, Permission.USER_UPDATE]

#: The seed's example request, verbatim, and the items its example response shows.
SEED_READ = {
    "action": "read",
    "content": "members",
    "filter": {"loginName": "bob@mail.ca"},
    "resource": ["profile/biography", "profile/selected_degrees"],
}
SEED_DEGREES = [
    {"degree_name": "PhD", "organization": "McGill University", "specialty": "Materials Engineering"},
    {"degree_name": "Engineering", "organization": "University of Ottawa"},
]
BOB_BIOGRAPHY = "Bob always knew he would be a great scientist"


async def token(
    client: httpx.AsyncClient,
    make_client: MakeClient,
    permissions: Any = None,
    login_sources: list[str] | None = None,
    name: str = "reports",
) -> str:
    """An access token of a new client, with these permissions and login sources."""
    made = make_client(name, permissions, login_sources)
    answer = await client.post(TOKEN, data=password_grant(made))
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def ask(client: httpx.AsyncClient, access: str, body: Any, how: str = "multipart") -> httpx.Response:
    """Post a request object as the PHP client does (multipart `request`), urlencoded, or as JSON."""
    url = f"{RESOURCE}?access_token={access}"
    if how == "json":
        return await client.post(url, json=body)
    fields = {"request": body if isinstance(body, str) else json.dumps(body)}
    if how == "urlencoded":
        return await client.post(url, data=fields)
    return await client.post(url, files=multipart(fields))


def new_person(directory: Directory, **fields: Any) -> str:
    with directory.database.transaction() as conn:
        return directory.upsert_person(conn, upsert(**fields), "sis").public_id


def new_bob(directory: Directory) -> str:
    """Bob of the seed's example: his biography and selected degrees."""
    bob = new_person(directory, username="bob@mail.ca", email="bob@mail.ca", given_name="Bob")
    with directory.database.transaction() as conn:
        directory.change_sections(
            conn,
            [AddItems(bob, BIOGRAPHY, [{"biography": BOB_BIOGRAPHY}]), AddItems(bob, SELECTED, SEED_DEGREES)],
            "test",
        )
    return bob


def member_of(directory: Directory, unit: str, **fields: Any) -> str:
    """A person who belongs to the account titled unit (their unit), as myON would push them."""
    account = new_organisation(directory, OrgKind.ACCOUNT, title=unit)
    member = UpsertMember(
        person=person_fields(**fields), membership={"account": account, "role": Role.DISTRICT_ADMIN}
    )
    with directory.database.transaction() as conn:
        [made] = directory.upsert_members(conn, [member], "myon")
    return made.person.public_id


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error = answer.json()["error"]
    assert error["type"] == "OAuthException"
    return error


# -- read -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "json"])
async def test_the_seeds_read_gives_the_seeds_shape_in_every_encoding(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, how: str
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client)

    answer = await ask(client, access, SEED_READ, how)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {bob: {BIOGRAPHY: BOB_BIOGRAPHY, SELECTED: SEED_DEGREES}}


async def test_index_by_login_name_gives_the_seeds_response_exactly(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)

    answer = await ask(client, access, {**SEED_READ, "index_by": "login_name"})

    assert answer.json() == {"bob@mail.ca": {BIOGRAPHY: BOB_BIOGRAPHY, SELECTED: SEED_DEGREES}}


async def test_index_by_employee_id(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    ada = new_person(directory, employee_number="E-17", given_name="Ada")
    access = await token(client, make_client)

    request = {
        "action": "read",
        "filter": {"loginName": ada},
        "resources": MEMBERSHIP,
        "index_by": "employee_id",
    }
    answer = await ask(client, access, request)

    assert list(answer.json()) == ["E-17"]
    assert answer.json()["E-17"][MEMBERSHIP]["first_name"] == "Ada"


async def test_a_read_of_one_id_is_keyed_by_path(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)

    answer = await ask(client, access, {"action": "read", "id": "bob@mail.ca", "resources": [SELECTED]})

    assert answer.json() == {SELECTED: SEED_DEGREES}


async def test_field_subsets_in_the_object_and_the_fields_path_forms(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    subset = [{"degree_name": "PhD", "specialty": "Materials Engineering"}, {"degree_name": "Engineering"}]

    by_object = await ask(
        client,
        access,
        {"action": "read", "id": "bob@mail.ca", "resources": [{SELECTED: ["degree_name", "specialty"]}]},
    )
    by_path = await ask(
        client,
        access,
        {"action": "read", "id": "bob@mail.ca", "resources": f"{SELECTED}/_fields_/degree_name/specialty"},
    )

    assert by_object.json() == by_path.json() == {SELECTED: subset}


async def test_the_nested_form_and_a_page_name_the_sections_under_them(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)

    nested = await ask(
        client,
        access,
        {"action": "read", "id": "bob@mail.ca", "resources": {"profile": ["biography", "selected_degrees"]}},
    )
    page = await ask(client, access, {"action": "read", "id": "bob@mail.ca", "resources": "profile"})

    assert nested.json() == {BIOGRAPHY: BOB_BIOGRAPHY, SELECTED: SEED_DEGREES}
    assert set(page.json()) == {MEMBERSHIP, BIOGRAPHY, INTERESTS, SELECTED}
    assert page.json()[INTERESTS] == []


async def test_the_seeds_french_request_reads_lists_of_values_in_french(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    john = member_of(directory, "McGill", username="john@smith.ca", title="Professor")
    new_person(directory, username="jane@smith.ca", title="Professor")  # not in McGill
    with directory.database.transaction() as conn:
        degree = {
            "degree_name": "PhD",
            "degree_type": 1,
            "thesis_title": {"english": "Steel", "french": "Acier"},
        }
        directory.change_sections(conn, [AddItems(john, DEGREES, [degree])], "test")
    access = await token(client, make_client)
    seed_request = {
        "action": "read",
        "content": "members",
        "language": "fr",
        "filter": {"unit": "McGill", "title": "Professor", "login": "john@smith.ca"},
        "resources": [
            "profile/research_interests",
            {DEGREES: ["degree_name", "specialization", "thesis_title"]},
        ],
    }

    french = await ask(client, access, seed_request)
    english = await ask(
        client, access, {**seed_request, "language": "en", "resources": [{DEGREES: ["degree_type"]}]}
    )
    in_french = await ask(client, access, {**seed_request, "resources": [{DEGREES: ["degree_type"]}]})

    assert french.json() == {
        john: {
            INTERESTS: [],
            DEGREES: [{"degree_name": "PhD", "thesis_title": {"en": "Steel", "fr": "Acier"}}],
        }
    }
    assert english.json() == {john: {DEGREES: [{"degree_type": [1, "Doctorate"]}]}}
    assert in_french.json() == {john: {DEGREES: [{"degree_type": [1, "Doctorat"]}]}}


async def test_the_filters_unit_title_and_units(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    civil = member_of(directory, "Civil Engineering", title="Professor")
    member_of(directory, "Physics", title="Professor")
    lecturer = new_person(directory, title="Lecturer")
    access = await token(client, make_client)
    read = {"action": "read", "content": "members", "resources": MEMBERSHIP}

    by_unit = await ask(client, access, {**read, "filter": {"unit": "civil engineering"}})
    by_title = await ask(client, access, {**read, "filter": {"title": "Lecturer"}})
    unfiltered = await ask(client, access, read)

    assert list(by_unit.json()) == [civil]
    assert by_unit.json()[civil][MEMBERSHIP]["unit"] == "Civil Engineering"
    assert list(by_title.json()) == [lecturer]
    assert {civil, lecturer} <= set(unfiltered.json())


async def test_the_seeds_civil_engineering_request_reads_each_members_profile_page(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    civil = member_of(directory, "Civil Engineering", given_name="Ann")
    new_bob(directory)  # in no unit
    access = await token(client, make_client)
    seed_request = {
        "action": "read",
        "content": "members",
        "filter": {"unit": "Civil Engineering"},
        "resources": "profile",
    }

    answer = await ask(client, access, seed_request)

    assert list(answer.json()) == [civil]
    assert set(answer.json()[civil]) == {MEMBERSHIP, BIOGRAPHY, INTERESTS, SELECTED}
    assert answer.json()[civil][MEMBERSHIP]["first_name"] == "Ann"


@pytest.mark.parametrize("name", ["loginName", "login", "login_name"])
async def test_the_login_filter_takes_each_of_its_names(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, name: str
) -> None:
    bob = new_bob(directory)
    new_person(directory)
    access = await token(client, make_client)

    answer = await ask(
        client, access, {"action": "read", "filter": {name: "BOB@mail.ca"}, "resources": BIOGRAPHY}
    )

    assert answer.json() == {bob: {BIOGRAPHY: BOB_BIOGRAPHY}}


async def test_the_units_filter_takes_unit_ids(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    unit = new_organisation(directory, OrgKind.ACCOUNT, title="Chemistry")
    member = UpsertMember(person=person_fields(), membership={"account": unit, "role": Role.DISTRICT_ADMIN})
    with directory.database.transaction() as conn:
        [made] = directory.upsert_members(conn, [member], "myon")
    new_person(directory)
    access = await token(client, make_client)

    answer = await ask(
        client, access, {"action": "read", "filter": {"units": [unit]}, "resources": BIOGRAPHY}
    )

    assert answer.json() == {made.person.public_id: {BIOGRAPHY: None}}


async def test_modified_since_reads_only_what_changed_since(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    bob = new_bob(directory)
    new_person(directory, title="Professor")
    since = datetime.now(UTC)
    access = await token(client, make_client, READ_AND_WRITE)
    await ask(client, access, {"action": "add", "id": bob, "resources": {INTERESTS: [{"interest": "Steel"}]}})
    read = {"action": "read", "resources": "profile", "filter": {"modified_since": since.isoformat()}}

    changed = await ask(client, access, read)
    later = (since + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    nothing = await ask(client, access, {**read, "filter": {"modified_since": later}})
    one = await ask(
        client, access, {"action": "read", "id": bob, "resources": "profile", "filter": read["filter"]}
    )

    assert changed.json() == {bob: {INTERESTS: [{"interest": {"en": "Steel"}}]}}
    assert nothing.json() == {}
    assert one.json() == {INTERESTS: [{"interest": {"en": "Steel"}}]}


async def test_a_member_whose_valid_from_has_not_come_is_read_once_the_lifecycle_activates_them(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    bob = new_person(
        directory, username="bob@mail.ca", email="bob@mail.ca", title="Professor", valid_from=start
    )
    access = await token(client, make_client)
    read = {**SEED_READ, "resource": MEMBERSHIP}

    pending = await ask(client, access, read)
    await run_lifecycle(directory, now=start)
    active = await ask(client, access, read)

    assert pending.json() == {}
    assert list(active.json()) == [bob]


async def test_a_person_pushed_by_another_dialect_reads_through_membership_information(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    with directory.database.transaction() as conn:
        pushed = directory.upsert_person(
            conn,
            upsert(
                username="grace", given_name="Grace", family_name="Hopper", email="grace@x.org", title="Dean"
            ),
            "opscom",
        )
    access = await token(client, make_client)

    answer = await ask(client, access, {"action": "read", "id": "grace", "resources": MEMBERSHIP})

    assert answer.json() == {
        MEMBERSHIP: {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "grace@x.org",
            "position_title": "Dean",
        }
    }
    assert pushed.public_id


async def test_the_token_may_come_as_a_bearer_header_or_a_form_field(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    new_bob(directory)
    access = await token(client, make_client)
    request = json.dumps({"action": "read", "id": "bob@mail.ca", "resources": BIOGRAPHY})

    bearer = await client.post(
        RESOURCE, data={"request": request}, headers={"Authorization": f"Bearer {access}"}
    )
    field = await client.post(RESOURCE, files=multipart({"request": request, "access_token": access}))

    assert bearer.json() == field.json() == {BIOGRAPHY: BOB_BIOGRAPHY}


# -- add, edit, clear -----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["multipart", "urlencoded", "json"])
async def test_add_appends_items_through_the_directory(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, database: Any, how: str
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)
    phd = {
        "degree_name": "MSc",
        "degree_type": [0, "Master's Thesis"],
        "supervisors": [{"supervisor_name": "Ann"}],
    }

    answer = await ask(
        client, access, {"action": "add", "id": "bob@mail.ca", "resources": {DEGREES: [phd]}}, how
    )
    read = await ask(client, access, {"action": "read", "id": bob, "resources": DEGREES})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "changed": [DEGREES]}
    assert read.json() == {
        DEGREES: [
            {
                "degree_name": "MSc",
                "degree_type": [2, "Master's Thesis"],
                "supervisors": [{"supervisor_name": "Ann"}],
            }
        ]
    }
    with directory.database.snapshot() as conn:
        [*_, logged] = list_changes(conn, entity_type="person", entity_id=bob)
    assert logged.actor == "oauth:reports"
    assert outbox_events(database, bob)[-1] == "edited"


async def test_edit_changes_only_the_fields_sent(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)
    address = {"address_type": 1, "city": "Ottawa", "postal_zip_code": "K1N 6N5"}
    await ask(client, access, {"action": "add", "id": bob, "resources": {ADDRESS: [address]}})

    edited = await ask(
        client, access, {"action": "edit", "id": bob, "resources": {BIOGRAPHY: {"biography": "New"}}}
    )
    person = await ask(
        client, access, {"action": "edit", "id": bob, "resources": {MEMBERSHIP: {"position_title": "Dean"}}}
    )
    read = await ask(
        client, access, {"action": "read", "id": bob, "resources": [BIOGRAPHY, MEMBERSHIP, ADDRESS]}
    )

    assert edited.json() == {"success": True, "changed": [BIOGRAPHY]}
    assert person.json() == {"success": True, "changed": [MEMBERSHIP]}
    assert read.json()[BIOGRAPHY] == "New"
    assert read.json()[MEMBERSHIP]["position_title"] == "Dean"
    assert read.json()[MEMBERSHIP]["first_name"] == "Bob"
    assert read.json()[ADDRESS] == [
        {"address_type": [1, "Primary Affiliation"], "city": "Ottawa", "postal_zip_code": "K1N 6N5"}
    ]


async def test_clear_removes_every_item_of_a_section(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)

    cleared = await ask(client, access, {"action": "clear", "id": bob, "resources": [SELECTED]}, "urlencoded")
    read = await ask(client, access, {"action": "read", "id": bob, "resources": [SELECTED, BIOGRAPHY]})

    assert cleared.json() == {"success": True, "changed": [SELECTED]}
    assert read.json() == {SELECTED: [], BIOGRAPHY: BOB_BIOGRAPHY}


async def test_add_to_a_single_section_changes_its_item(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)

    added = await ask(
        client, access, {"action": "add", "id": bob, "resources": {BIOGRAPHY: [{"biography": "Anew"}]}}
    )
    read = await ask(client, access, {"action": "read", "id": bob, "resources": BIOGRAPHY})

    assert added.json() == {"success": True, "changed": [BIOGRAPHY]}
    assert read.json() == {BIOGRAPHY: "Anew"}


# -- info and options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "title"), [("en", "Address Type"), ("fr", "Type d'adresse")])
async def test_info_names_and_types_the_fields(
    client: httpx.AsyncClient, make_client: MakeClient, language: str, title: str
) -> None:
    access = await token(client, make_client)

    answer = await ask(
        client,
        access,
        {"action": "info", "resources": f"{ADDRESS}/_fields_/address_type/city", "language": language},
    )

    info = answer.json()[ADDRESS]
    assert info["type"] == "section"
    assert list(info["fields"]) == ["address_type", "city"]
    assert info["fields"]["address_type"] == {"name": "address_type", "title": title, "type": "lov"}


@pytest.mark.parametrize(("language", "quebec"), [("en", "Quebec"), ("fr", "Québec")])
async def test_options_list_the_choices_of_a_list_of_values(
    client: httpx.AsyncClient, make_client: MakeClient, language: str, quebec: str
) -> None:
    access = await token(client, make_client)

    answer = await ask(
        client, access, {"action": "options", "resources": [{ADDRESS: ["location"]}], "language": language}
    )

    locations = answer.json()[ADDRESS]["location"]
    assert locations[0] == [1, "Canada"]
    assert [11, quebec, "Canada"] in locations


# -- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_object", "named"),
    [
        ({"action": "read", "id": "bob@mail.ca", "resources": "profile/nothing"}, "profile/nothing"),
        ({"action": "read", "id": "bob@mail.ca", "resources": {SELECTED: ["colour"]}}, f"{SELECTED}/colour"),
        ({"action": "info", "resources": "cv/nothing"}, "cv/nothing"),
        ({"action": "options", "resources": f"{ADDRESS}/_fields_/colour"}, f"{ADDRESS}/colour"),
        ({"action": "clear", "id": "bob@mail.ca", "resources": "profile/nothing"}, "profile/nothing"),
        ({"action": "add", "id": "bob@mail.ca", "resources": {"cv/nothing": [{"a": 1}]}}, "cv/nothing"),
        ({"action": "fetch", "resources": BIOGRAPHY}, "action"),
        ({"resources": BIOGRAPHY}, "action"),
        ({"action": "read", "content": "people", "resources": BIOGRAPHY}, "content"),
        ({"action": "read", "index_by": "email", "resources": BIOGRAPHY}, "index_by"),
        ({"action": "read", "language": "de", "resources": BIOGRAPHY}, "language"),
        ({"action": "read", "filter": {"colour": "red"}, "resources": BIOGRAPHY}, "filter/colour"),
        (
            {"action": "read", "filter": {"modified_since": "yesterday"}, "resources": BIOGRAPHY},
            "modified_since",
        ),
        ({"action": "read", "filter": {"modified_since": "9999-12-31 23:59:59-14:00"}}, "modified_since"),
        ({"action": "read", "filter": {"modified_since": "0001-01-01T00:00:00+01:00"}}, "modified_since"),
        ({"action": "read", "filter": {"modified_since": 1e20}, "resources": BIOGRAPHY}, "modified_since"),
        (
            {"action": "read", "filter": {"modified_since": 253402300800}, "resources": BIOGRAPHY},
            "modified_since",
        ),
        ({"action": "info"}, "resources"),
        ({"action": "read", "resources": 5}, "resources"),
        ({"action": "read", "resources": json.loads("[" * 900 + '"profile"' + "]" * 900)}, "resources"),
        ({"action": "read", "resources": {"a": {"b": {"c": {"d": {"e": {"f": None}}}}}}}, "a/b/c/d/e/f"),
        ({"action": "read", "id": {"login": "bob"}, "resources": BIOGRAPHY}, "id"),
        ({"action": "read", "filter": ["unit"], "resources": BIOGRAPHY}, "filter"),
        ({"action": "add", "id": "bob@mail.ca", "resources": [BIOGRAPHY]}, "resources"),
        ({"action": "add", "id": "bob@mail.ca", "resources": {BIOGRAPHY: "text"}}, BIOGRAPHY),
        ({"action": "edit", "id": "bob@mail.ca", "resources": {BIOGRAPHY: [1]}}, BIOGRAPHY),
        ({"action": "edit", "id": "bob@mail.ca", "resources": {DEGREES: {"credits": "many"}}}, "credits"),
        ("{not json", "request"),
        ([1, 2], "request"),
    ],
)
async def test_a_bad_request_is_a_400_naming_what_is_wrong(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, request_object: Any, named: str
) -> None:
    new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)

    answer = await ask(client, access, request_object)

    assert answer.status_code == 400, answer.text
    error = error_of(answer)
    assert named in error["message"]
    assert error["code"] == 400


async def test_a_request_without_a_request_object_is_a_400(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    access = await token(client, make_client)

    answer = await client.post(f"{RESOURCE}?access_token={access}")

    assert answer.status_code == 400
    assert "request" in error_of(answer)["message"]


@pytest.mark.parametrize("body", [[1, 2], "read", 5])
async def test_a_json_body_that_is_no_object_is_a_400_with_or_without_a_token(
    client: httpx.AsyncClient, make_client: MakeClient, body: Any
) -> None:
    access = await token(client, make_client)

    answer = await client.post(f"{RESOURCE}?access_token={access}", json=body)
    anonymous = await client.post(RESOURCE, json=body)

    assert answer.status_code == 400
    assert error_of(answer)["message"].startswith("request:")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "invalid_request"


async def test_a_request_over_the_size_limit_is_413_in_the_seeds_shape(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    access = await token(client, make_client)
    request = {"action": "read", "resources": BIOGRAPHY, "filter": {"unit": "x" * 5000}}

    answer = await ask(client, access, request)

    assert answer.status_code == 413
    assert error_of(answer)["code"] == 413


async def test_a_bad_item_names_its_field_path_and_writes_nothing(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    bob = new_bob(directory)
    access = await token(client, make_client, READ_AND_WRITE)
    add = {DEGREES: [{"degree_name": "MSc"}], SELECTED: [{"degree_name": "BSc", "year": 2001}]}

    answer = await ask(client, access, {"action": "add", "id": bob, "resources": add})
    read = await ask(client, access, {"action": "read", "id": bob, "resources": DEGREES})

    assert answer.status_code == 400
    assert f"{SELECTED}/year" in error_of(answer)["message"]
    assert read.json() == {DEGREES: []}


async def test_an_unknown_member_is_404(client: httpx.AsyncClient, make_client: MakeClient) -> None:
    access = await token(client, make_client, READ_AND_WRITE)

    read = await ask(client, access, {"action": "read", "id": "nobody@x.org", "resources": BIOGRAPHY})
    write = await ask(client, access, {"action": "clear", "id": "nobody@x.org", "resources": BIOGRAPHY})

    assert read.status_code == write.status_code == 404
    assert error_of(read)["code"] == 404


async def test_a_write_needs_an_id(client: httpx.AsyncClient, make_client: MakeClient) -> None:
    access = await token(client, make_client, READ_AND_WRITE)

    answer = await ask(client, access, {"action": "clear", "resources": BIOGRAPHY})

    assert answer.status_code == 400
    assert "id" in error_of(answer)["message"]


@pytest.mark.parametrize(
    ("permissions", "request_object"),
    [
        ([Permission.USER_UPDATE], {"action": "read", "id": "bob@mail.ca", "resources": BIOGRAPHY}),
        ([Permission.USER_READ], {"action": "clear", "id": "bob@mail.ca", "resources": BIOGRAPHY}),
        ([Permission.USER_READ], {"action": "read", "content": "units", "resources": BIOGRAPHY}),
        ([Permission.USER_READ], {"action": "read", "contentType": "groups", "resources": BIOGRAPHY}),
    ],
)
async def test_a_request_beyond_the_clients_permissions_is_403(
    client: httpx.AsyncClient,
    make_client: MakeClient,
    directory: Directory,
    permissions: Any,
    request_object: Any,
) -> None:
    new_bob(directory)
    access = await token(client, make_client, permissions)

    answer = await ask(client, access, request_object)

    assert answer.status_code == 403
    assert error_of(answer)["code"] == 403


@pytest.mark.parametrize("presented", ["not-a-token", None])
async def test_an_invalid_or_missing_token_keeps_the_token_answer(
    client: httpx.AsyncClient, presented: str | None
) -> None:
    fields = {"request": json.dumps({"action": "read", "resources": BIOGRAPHY})}
    url = RESOURCE if presented is None else f"{RESOURCE}?access_token={presented}"

    answer = await client.post(url, files=multipart(fields))

    assert answer.status_code == 401
    body = answer.json()
    assert body["error"] == ("invalid_token" if presented else "invalid_request")
    assert (body["code"], body["error_subcode"], body["type"]) == (98, 223, "OAuthException")
