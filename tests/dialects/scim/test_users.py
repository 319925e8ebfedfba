"""SCIM Users over HTTP: create, read, replace, delete, lists (filter, sort, pages, attributes), versions,
and the errors, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from provisionhub.auth.authenticator import directory_over
from provisionhub.dialects.scim.users import ADDRESSES, PHONES
from provisionhub.directory.changes import list_changes
from provisionhub.directory.people import SetStatus, Status
from provisionhub.directory.service import Directory, utcnow
from provisionhub.scheduler import run_lifecycle
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows, outbox_events
from tests.dialects.scim.conftest import new_user
from tests.factories import opscom_push

pytestmark = pytest.mark.anyio

USERS = "/scim/v2/Users"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PROVISIONHUB = "urn:ietf:params:scim:schemas:extension:provisionhub:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


async def create(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    answer = await client.post(USERS, headers=headers, json=new_user(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def _to_the_millisecond(moment: datetime) -> str:
    """A stored time as SCIM's meta shows it: xsd:dateTime in UTC, milliseconds, Z."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def row(database: Database, public_id: str) -> dict[str, Any]:
    with database.snapshot() as conn:
        found = conn.execute(select(tables.people).where(tables.people.c.public_id == public_id))
        return dict(found.mappings().one())


# -- create and read ---------------------------------------------------------------------------------


async def test_a_created_user_is_answered_whole_with_its_location_and_version(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    body = new_user(externalId="hr-1001", title="Engineer")

    answer = await client.post(USERS, headers=scim, json=body)

    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("application/scim+json")
    user = answer.json()
    assert answer.headers["Location"] == user["meta"]["location"] == f"http://testserver{USERS}/{user['id']}"
    assert answer.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["version"].startswith('W/"')
    assert user["meta"]["resourceType"] == "User"
    stored = row(database, user["id"])
    assert user["meta"]["created"] == _to_the_millisecond(stored["created_at"])
    assert user["meta"]["lastModified"] == _to_the_millisecond(stored["updated_at"])
    assert (user["userName"], user["externalId"], user["title"], user["active"]) == (
        body["userName"],
        "hr-1001",
        "Engineer",
        True,
    )
    assert user["name"]["givenName"] == "Barbara"
    assert user["name"] == body["name"]
    assert user["emails"] == [{"value": body["emails"][0]["value"], "type": "work", "primary": True}]
    assert PROVISIONHUB not in user  # loginSource, its one value, is returned when asked for
    stored = row(database, user["id"])
    assert (stored["login_source"], stored["unique_id"]) == ("SCIM", "hr-1001")
    assert outbox_events(database, user["id"]) == ["added"]
    fetched = await client.get(f"{USERS}/{user['id']}", headers=scim)
    assert fetched.json() == user


async def test_every_mapped_attribute_round_trips(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    body = new_user(
        name={
            "givenName": "Barbara",
            "familyName": "Jensen",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III",
        },
        title="Tour Guide",
        preferredLanguage="en-US",
        locale="en-US",
        phoneNumbers=[{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        addresses=[
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
            },
        ],
        schemas=[
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE,
            PROVISIONHUB,
        ],
        **{
            ENTERPRISE: {
                "employeeNumber": "701984",
                "organization": "Universal Studios",
                "department": "Tour Operations",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"},
            },
            PROVISIONHUB: {"studentNumber": "S-1", "location": "Lot 3", "dateOfBirth": "1990-04-01"},
        },
    )

    user = (await client.post(USERS, headers=scim, json=body)).json()
    sensitive = (
        await client.get(
            f"{USERS}/{user['id']}", headers=scim, params={"attributes": f"{PROVISIONHUB}:dateOfBirth"}
        )
    ).json()

    assert user["name"] == body["name"]
    assert user["phoneNumbers"] == body["phoneNumbers"]  # as sent, while the columns agree
    assert [a["type"] for a in user["addresses"]] == ["work", "home"]
    assert user["addresses"][0]["locality"] == "Hollywood"
    assert user[ENTERPRISE]["manager"]["value"] == "26118915-6090-4610-87e4-49d8ca9f808d"
    assert user[ENTERPRISE]["organization"] == "Universal Studios"
    assert user[PROVISIONHUB]["studentNumber"] == "S-1"
    assert user[PROVISIONHUB]["dateOfBirth"] == "1990-04-01"
    assert user["addresses"] == body["addresses"]
    assert sensitive[PROVISIONHUB] == {"dateOfBirth": "1990-04-01"}  # attributes: only what was asked
    assert set(sensitive) == {"schemas", "id", PROVISIONHUB}


async def test_a_taken_username_is_409_uniqueness_whatever_its_case(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    first = await create(client, scim)
    before = count_rows(database, tables.people)

    again = await client.post(USERS, headers=scim, json=new_user(userName=first["userName"].upper()))

    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    assert again.json()["status"] == "409"
    assert ERROR in again.json()["schemas"]
    assert count_rows(database, tables.people) == before


async def test_a_taken_external_id_is_409(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    await create(client, scim, externalId="hr-7")

    again = await client.post(USERS, headers=scim, json=new_user(externalId="hr-7"))

    assert again.status_code == 409
    assert "externalId" in again.json()["detail"]


async def test_a_person_pushed_by_opscom_is_a_user(
    client: httpx.AsyncClient, scim: dict[str, str], make_token: MakeToken
) -> None:
    pusher = make_token("user-create")
    await client.post("/opscom/api/OC_TOMA/v1/profiles/push", json=opscom_push(pusher, user_name="ghopper"))

    found = (await client.get(USERS, headers=scim, params={"filter": 'userName eq "GHOPPER"'})).json()

    assert found["totalResults"] == 1
    [user] = found["Resources"]
    assert user["name"]["familyName"] == "Hopper"
    assert "externalId" not in user  # its identity is OPSCOM's, not this token's source
    asked = await client.get(f"{USERS}/{user['id']}", headers=scim, params={"attributes": "loginSource"})
    assert asked.json()[PROVISIONHUB] == {"loginSource": "OPSCOM"}


async def test_a_token_bound_to_one_login_source_creates_people_of_it(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    headers = {"Authorization": f"Bearer {make_token('user-create', 'user-read', login_sources=['OPSCOM'])}"}

    user = (await client.post(USERS, headers=headers, json=new_user(externalId="student-9"))).json()

    assert (row(database, user["id"])["login_source"], user["externalId"]) == ("OPSCOM", "student-9")


async def test_unknown_user_is_404_in_scims_format(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    answer = await client.get(f"{USERS}/00919288221112222", headers=scim)

    assert answer.status_code == 404
    assert answer.json()["schemas"] == [ERROR]
    assert answer.json()["status"] == "404"
    assert answer.json()["detail"]


# -- replace, suspend, delete -------------------------------------------------------------------------


async def test_put_replaces_the_core_attributes_and_keeps_extensions_it_does_not_carry(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    body = new_user(title="Engineer", schemas=["urn:ietf:params:scim:schemas:core:2.0:User", PROVISIONHUB])
    body[PROVISIONHUB] = {"studentNumber": "S-2"}
    user = (await client.post(USERS, headers=scim, json=body)).json()

    replaced = await client.put(
        f"{USERS}/{user['id']}", headers=scim, json=new_user(userName=user["userName"], displayName="B. J.")
    )

    assert replaced.status_code == 200
    assert replaced.json()["displayName"] == "B. J."
    assert "title" not in replaced.json()  # not sent: cleared
    assert replaced.json()[PROVISIONHUB]["studentNumber"] == "S-2"  # extension not sent: kept
    assert row(database, user["id"])["title"] is None


async def test_put_without_multi_valued_attributes_clears_them(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    phones = [{"value": "555-0100", "type": "work"}, {"value": "555-0101", "type": "mobile"}]
    addresses = [{"type": "home", "locality": "Hollywood", "postalCode": "91608"}]
    user = await create(client, scim, phoneNumbers=phones, addresses=addresses)
    columns = ["email", *PHONES.values(), *(c for parts in ADDRESSES.values() for c in parts.values())]
    set_before = {name for name in columns if row(database, user["id"])[name] is not None}

    replaced = await client.put(
        f"{USERS}/{user['id']}", headers=scim, json=new_user(userName=user["userName"], emails=None)
    )

    assert replaced.status_code == 200
    assert not {"emails", "phoneNumbers", "addresses"} & set(replaced.json())
    assert set_before == {"email", "mobile_phone", "employee_phone", "alt_city", "alt_postal_code"}
    assert {name: row(database, user["id"])[name] for name in columns} == dict.fromkeys(columns)


async def test_active_false_suspends_and_the_user_is_still_returned(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    user = await create(client, scim)

    answer = await client.put(
        f"{USERS}/{user['id']}", headers=scim, json={**new_user(userName=user["userName"]), "active": "False"}
    )

    assert answer.json()["active"] is False
    assert row(database, user["id"])["status"] == "suspended"
    assert (await client.get(f"{USERS}/{user['id']}", headers=scim)).json()["active"] is False
    back = await client.put(f"{USERS}/{user['id']}", headers=scim, json=new_user(userName=user["userName"]))
    assert back.json()["active"] is True
    assert row(database, user["id"])["status"] == "active"


async def test_delete_marks_deleted_and_the_id_is_gone(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    user = await create(client, scim)

    deleted = await client.delete(f"{USERS}/{user['id']}", headers=scim)

    assert deleted.status_code == 204
    assert row(database, user["id"])["status"] == "deleted"
    assert (await client.get(f"{USERS}/{user['id']}", headers=scim)).status_code == 404
    assert (await client.delete(f"{USERS}/{user['id']}", headers=scim)).status_code == 404
    listed = (await client.get(USERS, headers=scim)).json()
    assert user["id"] not in [u["id"] for u in listed["Resources"]]
    assert outbox_events(database, user["id"]) == ["added", "deleted"]


# -- versions ----------------------------------------------------------------------------------------


async def test_versions_change_with_every_change_and_preconditions_hold(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    user = await create(client, scim)
    url = f"{USERS}/{user['id']}"
    version = user["meta"]["version"]

    unchanged = await client.get(url, headers={**scim, "If-None-Match": version})
    stale = await client.put(
        url, headers={**scim, "If-Match": 'W/"1"'}, json=new_user(userName=user["userName"])
    )
    fresh = await client.put(
        url, headers={**scim, "If-Match": version}, json=new_user(userName=user["userName"])
    )
    changed = await client.get(url, headers={**scim, "If-None-Match": version})

    assert unchanged.status_code == 304
    assert stale.status_code == 412
    assert fresh.status_code == 200
    assert fresh.json()["meta"]["version"] != version
    assert changed.status_code == 200
    assert (await client.delete(url, headers={**scim, "If-Match": version})).status_code == 412


# -- lists ---------------------------------------------------------------------------------------------


async def test_filters_select_in_sql_and_unknown_attributes_are_invalid_filter(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    a = await create(client, scim, title="Engineer", externalId="x-1")
    b = await create(client, scim, title="Manager")
    await create(client, scim, title=None)

    async def ids(text: str) -> list[str]:
        answer = await client.get(USERS, headers=scim, params={"filter": text})
        assert answer.status_code == 200, answer.text
        return [u["id"] for u in answer.json()["Resources"]]

    assert await ids(f'userName eq "{a["userName"].upper()}"') == [a["id"]]
    assert await ids('title eq "engineer" or title sw "Man"') == [a["id"], b["id"]]
    assert await ids('externalId eq "x-1"') == [a["id"]]
    assert await ids(f'emails[type eq "work" and value co "{b["userName"].split("@")[0]}"]') == [b["id"]]
    assert len(await ids('not (title eq "Engineer")')) == 2
    assert await ids('meta.lastModified gt "2000-01-01T00:00:00Z" and title pr') == [a["id"], b["id"]]
    bad = await client.get(USERS, headers=scim, params={"filter": 'favouriteColour eq "blue"'})
    broken = await client.get(USERS, headers=scim, params={"filter": 'userName eq "x'})
    for answer in (bad, broken):
        assert answer.status_code == 400
        assert answer.json()["scimType"] == "invalidFilter"


async def test_pages_counts_and_sorting(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    made = [await create(client, scim, displayName=name) for name in ("Carol", "alice", "Bob")]

    first = (await client.get(USERS, headers=scim, params={"count": 2})).json()
    second = (await client.get(USERS, headers=scim, params={"count": 2, "startIndex": 3})).json()
    none = (await client.get(USERS, headers=scim, params={"count": 0})).json()
    by_name = (
        await client.get(USERS, headers=scim, params={"sortBy": "displayName", "sortOrder": "descending"})
    ).json()
    below = (await client.get(USERS, headers=scim, params={"startIndex": -5, "count": -1})).json()

    assert (first["totalResults"], first["itemsPerPage"], first["startIndex"]) == (3, 2, 1)
    assert [u["id"] for u in first["Resources"] + second["Resources"]] == [m["id"] for m in made]
    assert (none["totalResults"], none["itemsPerPage"], none["Resources"]) == (3, 0, [])
    assert [u["displayName"] for u in by_name["Resources"]] == ["Carol", "Bob", "alice"]
    assert (below["startIndex"], below["itemsPerPage"]) == (1, 0)
    beyond = (await client.get(USERS, headers=scim, params={"startIndex": "9" * 20})).json()
    assert (beyond["totalResults"], beyond["Resources"]) == (3, [])  # no offset overflow: an empty page
    bad_sort = await client.get(USERS, headers=scim, params={"sortBy": "password"})
    assert bad_sort.status_code == 400


async def test_attributes_and_excluded_attributes(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    user = await create(client, scim)
    url = f"{USERS}/{user['id']}"

    only = (await client.get(url, headers=scim, params={"attributes": "userName,name.givenName"})).json()
    without = (await client.get(url, headers=scim, params={"excludedAttributes": "emails,name"})).json()

    assert set(only) == {"schemas", "id", "userName", "name"}
    assert only["name"] == {"givenName": "Barbara"}
    assert "emails" not in without
    assert "name" not in without
    assert without["userName"] == user["userName"]


async def test_search_by_post(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    user = await create(client, scim)

    answer = await client.post(
        f"{USERS}/.search",
        headers=scim,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'userName eq "{user["userName"]}"',
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        },
    )

    assert answer.status_code == 200
    assert answer.json()["Resources"] == [
        {"schemas": user["schemas"][:1], "id": user["id"], "userName": user["userName"]}
    ]


# -- errors and credentials --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"userName": None}, "userName is required"),
        ({"userName": 7}, "userName must be a string"),
        ({"favouriteColour": "blue"}, "favouriteColour is not an attribute"),
        ({"name": {"nickName": "Babs"}}, "name.nickName is not an attribute"),
        ({"emails": [{"value": "not an email", "type": "work"}]}, "emails.value is not a valid email"),
        ({"emails": "bjensen@example.com"}, "emails must be a list"),
        (
            {"emails": [{"value": "b@example.com", "primary": "perhaps"}]},
            "emails[0].primary must be a boolean",
        ),
        (
            {"emails": [{"value": "b@example.com"}, {"value": "c@example.com", "primary": 2}]},
            "emails[1].primary must be a boolean",
        ),
        ({"active": "maybe"}, "active must be a boolean"),
        ({"phoneNumbers": [{"value": "1", "type": "fax"}]}, "phoneNumbers[0].type must be"),
        ({"title": "T" * 300}, "title must be at most 255 characters"),
        ({"password": "short"}, "password must be at least 8 characters"),
        ({"schemas": ["urn:example:not-a-user"]}, "schemas"),
    ],
)
async def test_bad_attributes_are_400_naming_them_and_nothing_is_written(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database, change: dict[str, Any], words: str
) -> None:
    before = count_rows(database, tables.people), count_rows(database, tables.changes)

    answer = await client.post(USERS, headers=scim, json=new_user(**change))

    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == "invalidValue"
    assert words in answer.json()["detail"]
    assert (count_rows(database, tables.people), count_rows(database, tables.changes)) == before


async def test_bad_json_is_400_invalid_syntax(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    answer = await client.post(
        USERS, headers={**scim, "Content-Type": "application/scim+json"}, content=b'{"userName": '
    )

    assert answer.status_code == 400
    assert answer.json()["scimType"] == "invalidSyntax"


async def test_credentials(client: httpx.AsyncClient, make_token: MakeToken, directory: Directory) -> None:
    reader = {"Authorization": f"Bearer {make_token('user-read')}"}

    missing = await client.get(USERS)
    wrong = await client.get(USERS, headers={"Authorization": "Bearer ph-nope"})
    denied = await client.post(USERS, headers=reader, json=new_user())

    assert missing.status_code == 401
    assert missing.json()["status"] == "401"
    assert "Bearer" in missing.headers["WWW-Authenticate"]
    assert wrong.status_code == 401
    assert denied.status_code == 403
    assert denied.json()["schemas"] == [ERROR]


async def test_discovery_documents(client: httpx.AsyncClient) -> None:
    config = await client.get("/scim/v2/ServiceProviderConfig")
    types = await client.get("/scim/v2/ResourceTypes")
    user_schema = await client.get("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
    all_schemas = await client.get("/scim/v2/Schemas")
    write = await client.post("/scim/v2/Schemas", json={})

    assert config.json()["patch"]["supported"] is True
    assert config.json()["etag"]["supported"] is True
    assert {t["id"] for t in types.json()["Resources"]} == {"User", "Group"}
    names = {a["name"] for a in user_schema.json()["attributes"]}
    assert {"userName", "name", "emails", "active", "groups", "password"} <= names
    assert len(all_schemas.json()["Resources"]) == 4
    assert write.status_code == 405
    assert write.json()["status"] == "405"


async def test_suspended_by_another_dialect_shows_inactive(
    client: httpx.AsyncClient, scim: dict[str, str], directory: Directory, database: Database
) -> None:
    user = await create(client, scim)
    directory.apply(SetStatus(user["id"], Status.EXPIRED), "test")

    answer = await client.get(f"{USERS}/{user['id']}", headers=scim)

    assert answer.json()["active"] is False
    with database.snapshot() as conn:
        actors = {c.actor for c in list_changes(conn, entity_type="person", entity_id=user["id"])}
    assert any(actor.startswith("token:") for actor in actors)


# -- PATCH ---------------------------------------------------------------------------------------------

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def patch(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: str, *ops: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"{USERS}/{user_id}", headers=headers, json={"schemas": [PATCH_OP], "Operations": list(ops)}
    )


async def test_okta_deactivates_with_a_pathless_replace(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    user = await create(client, scim)

    answer = await patch(client, scim, user["id"], {"op": "replace", "value": {"active": False}})

    assert answer.status_code == 200
    assert answer.json()["active"] is False
    assert row(database, user["id"])["status"] == "suspended"


async def test_entra_quirks_capitalised_ops_dotted_keys_string_booleans_and_typed_email_paths(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    user = await create(client, scim)

    answer = await patch(
        client,
        scim,
        user["id"],
        {"op": "Replace", "value": {"name.givenName": "Babs", "active": "False"}},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "babs@example.org"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Tours"},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "m-42"},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["name"]["givenName"] == "Babs"
    assert body["active"] is False
    assert body["emails"][0]["value"] == "babs@example.org"
    assert body[ENTERPRISE]["department"] == "Tours"
    assert body[ENTERPRISE]["manager"]["value"] == "m-42"
    stored = row(database, user["id"])
    assert (stored["given_name"], stored["email"], stored["department"]) == (
        "Babs",
        "babs@example.org",
        "Tours",
    )


async def test_patch_removes_and_sets_a_password(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    user = await create(client, scim, title="Engineer")

    answer = await patch(
        client,
        scim,
        user["id"],
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "password", "value": "a long passphrase"},
    )

    assert answer.status_code == 200, answer.text
    assert "title" not in answer.json()
    assert "password" not in answer.json()
    stored = row(database, user["id"])
    assert stored["title"] is None
    assert stored["password_hash"].startswith("$argon2id$")


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": "id", "value": "other"}, "mutability"),
        ({"op": "replace", "path": "favouriteColour", "value": "blue"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "explode", "path": "title"}, "invalidSyntax"),
        ({"op": "replace", "path": "active", "value": "perhaps"}, "invalidValue"),
        ({"op": "replace", "path": "userName", "value": None}, "invalidValue"),
    ],
)
async def test_bad_patches_are_400_with_their_scim_type_and_change_nothing(
    client: httpx.AsyncClient,
    scim: dict[str, str],
    database: Database,
    operation: dict[str, Any],
    scim_type: str,
) -> None:
    user = await create(client, scim)
    before = count_rows(database, tables.changes)

    answer = await patch(client, scim, user["id"], operation)

    assert answer.status_code == 400, answer.text
    assert answer.json()["scimType"] == scim_type
    assert count_rows(database, tables.changes) == before


async def test_a_patch_taking_anothers_username_is_409(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    first, second = await create(client, scim), await create(client, scim)

    answer = await patch(
        client, scim, second["id"], {"op": "replace", "path": "userName", "value": first["userName"]}
    )

    assert (answer.status_code, answer.json()["scimType"]) == (409, "uniqueness")


async def test_patch_honours_if_match(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    user = await create(client, scim)

    stale = await client.patch(
        f"{USERS}/{user['id']}",
        headers={**scim, "If-Match": 'W/"0"'},
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    )

    assert stale.status_code == 412


async def test_multi_valued_attributes_are_shown_as_sent_until_another_dialect_changes_them(
    client: httpx.AsyncClient, scim: dict[str, str], make_token: MakeToken
) -> None:
    emails = [
        {"value": "home@example.org", "type": "home", "primary": False},
        {"value": "work@example.org", "type": "other", "primary": True},
    ]
    user = await create(client, scim, userName="jdoe", emails=emails, externalId="s-1")
    pusher = make_token("user-create", "user-update", login_sources=["SCIM"])

    shown = (await client.get(f"{USERS}/{user['id']}", headers=scim)).json()
    await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json=opscom_push(
            pusher, login_source="SCIM", unique_id="s-1", user_name="jdoe", email="new@example.org"
        ),
    )
    after = (await client.get(f"{USERS}/{user['id']}", headers=scim)).json()

    assert user["emails"] == emails
    assert shown["emails"] == emails
    assert after["emails"] == [{"value": "new@example.org", "type": "work", "primary": True}]


# -- the validity window -------------------------------------------------------------------------------


def scim_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_user_whose_valid_from_is_to_come_is_created_pending_and_not_active(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    user = await create(client, scim, **{PROVISIONHUB: {"validFrom": scim_time(start)}})  # and active: true

    assert user["active"] is False
    assert row(database, user["id"])["status"] == "pending"
    active = await client.get(
        USERS, headers=scim, params={"filter": f'id eq "{user["id"]}" and active eq true'}
    )
    assert active.json()["totalResults"] == 0
    again = {**{k: v for k, v in user.items() if k != "meta"}, "active": True}
    put = await client.put(f"{USERS}/{user['id']}", headers=scim, json=again)
    assert put.json()["active"] is False  # activation waits for validFrom

    await run_lifecycle(directory_over(database), now=start)

    assert (await client.get(f"{USERS}/{user['id']}", headers=scim)).json()["active"] is True
    assert outbox_events(database, user["id"]) == ["added", "edited"]  # the PUT changed nothing


async def test_a_put_that_extends_valid_through_unexpires_the_user_at_once(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    now = utcnow().replace(microsecond=0)
    user = await create(client, scim, **{PROVISIONHUB: {"validThrough": scim_time(now + timedelta(hours=1))}})
    await run_lifecycle(directory_over(database), now=now + timedelta(hours=2))
    assert (await client.get(f"{USERS}/{user['id']}", headers=scim)).json()["active"] is False

    later = scim_time(now + timedelta(days=365))
    body = {**new_user(userName=user["userName"]), PROVISIONHUB: {"validThrough": later}}
    answer = await client.put(f"{USERS}/{user['id']}", headers=scim, json=body)

    assert answer.status_code == 200
    assert answer.json()["active"] is True
    assert answer.json()[PROVISIONHUB]["validThrough"] == later
    assert row(database, user["id"])["status"] == "active"
    assert outbox_events(database, user["id"])[-2:] == ["expired", "unexpired"]
    with database.snapshot() as conn:
        change = list_changes(conn, entity_type="person", entity_id=user["id"])[-1]
    assert change.fields["status"] == ["expired", "active"]
