"""OPS-COM profile push over HTTP: the seed's request, every attribute and alias, every error code."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import httpx
import pytest

from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.reference_data import AddLoginSource, AddUserType
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows, shared_file
from tests.factories import new_organisation, opscom_push

pytestmark = pytest.mark.anyio

PUSH = "/opscom/api/OC_TOMA/v1/profiles/push"
TYPES = "/opscom/api/OC_TOMA/v1/profiles/types/list"
SEED = shared_file("seeds", "000_7dffeb7ee4e2caf5.txt")


def seed_request_body() -> str:
    """The body of the seed's raw request, verbatim (tabs, aliases and all)."""
    text = SEED.read_text()
    raw = text[text.index("Raw Request") :]
    start = raw.index("{")
    return raw[start : raw.index("}", start) + 1]


@pytest.fixture
def pusher(make_token: MakeToken, directory: Directory) -> str:
    directory.apply(AddUserType("6", "Demo", "Public"), "test")
    return make_token("user-create")


async def push(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post(PUSH, json=body)


def written(database: Database) -> tuple[int, int, int]:
    return (
        count_rows(database, tables.people),
        count_rows(database, tables.changes),
        count_rows(database, tables.outbox),
    )


def person_row(database: Database, reference_id: int) -> dict[str, Any]:
    with database.snapshot() as conn:
        row = conn.execute(tables.people.select().where(tables.people.c.id == reference_id)).mappings().one()
    return dict(row)


# -- success ---------------------------------------------------------------------------------------


async def test_the_seed_raw_request_creates_the_person(
    client: httpx.AsyncClient, pusher: str, database: Database
) -> None:
    body = seed_request_body().replace("YOUR-API-TOKEN", pusher)
    response = await client.post(
        PUSH,
        content=body,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Cache-Control": "no-cache",
        },
    )

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "success"
    assert isinstance(answer["reference_id"], int)
    assert response.headers["content-type"] == "application/json"
    row = person_row(database, answer["reference_id"])
    assert (row["login_source"], row["unique_id"], row["username"]) == ("OPSCOM", "tester23", "username")
    assert (row["given_name"], row["family_name"], row["email"]) == ("firstname", "lastname", "test@test.com")
    assert row["street"].startswith("123 Main Street")
    assert (row["city"], row["region"], row["postal_code"]) == ("Everywhere", "BC", "HOHOHO")
    assert (row["mobile_phone"], row["user_type_id"], row["locker_user_type_id"]) == (
        "613-555-1212",
        "6",
        "3",
    )
    assert (row["employee_number"], row["employee_phone"]) == (
        "employee number: default",
        "emp ph. klondike 555",
    )
    assert (row["student_number"], row["student_phone"]) == ("SN 543209854", "999")
    assert (row["drivers_licence_number"], row["drivers_licence_region"]) == ("QC 99999999", "BC")
    assert row["date_of_birth"] == date(1901, 1, 31)


async def test_the_same_person_always_gets_the_same_reference_id(
    client: httpx.AsyncClient, pusher: str, database: Database
) -> None:
    body = opscom_push(pusher)
    first = (await push(client, body)).json()["reference_id"]
    counts = written(database)

    again = await push(client, body)
    changed = await push(client, {**body, "city": "Kingston"})
    other = await push(client, opscom_push(pusher))

    assert again.json() == {"status": "success", "reference_id": first}
    assert written(database)[1] == counts[1] + 2  # the identical push wrote nothing; the change and other did
    assert changed.json()["reference_id"] == first
    assert other.json()["reference_id"] != first
    assert person_row(database, first)["city"] == "Kingston"


async def test_a_push_changes_only_the_attributes_it_sends(
    client: httpx.AsyncClient, pusher: str, database: Database
) -> None:
    body = opscom_push(pusher, city="Ottawa", phone_cell="613-555-0000")
    reference_id = (await push(client, body)).json()["reference_id"]

    update = {"apiToken": pusher, "unique_id": body["unique_id"], "login_source": "OPSCOM", "city": "Hull"}
    assert (await push(client, update)).status_code == 200

    row = person_row(database, reference_id)
    assert (row["city"], row["mobile_phone"], row["email"]) == ("Hull", "613-555-0000", body["email"])


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"state": "ny"}, {"region": "NY"}),
        ({"zip": "12345-1212"}, {"postal_code": "12345-1212"}),
        ({"driver_license_num": "NYNY"}, {"drivers_licence_number": "NYNY"}),
        ({"driver_license_state": "CA"}, {"drivers_licence_region": "CA"}),
        ({"province": "ON", "state": "NY"}, {"region": "ON"}),  # both names: the first wins
        (
            {"street2": "1 Side Rd", "city2": "Gatineau", "state2": "QC", "zip2": "J8X 1A1"},
            {
                "alt_street": "1 Side Rd",
                "alt_city": "Gatineau",
                "alt_region": "QC",
                "alt_postal_code": "J8X 1A1",
            },
        ),
        ({"province2": "ON", "postal_code2": "K1A 0A1"}, {"alt_region": "ON", "alt_postal_code": "K1A 0A1"}),
        ({"user_type_id": 6}, {"user_type_id": "6"}),  # an id sent as a number
        ({"first_name": "  Grace  "}, {"given_name": "Grace"}),
    ],
)
async def test_aliases_and_alternate_address(
    client: httpx.AsyncClient,
    pusher: str,
    database: Database,
    attributes: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    response = await push(client, opscom_push(pusher, **attributes))

    assert response.status_code == 200, response.text
    row = person_row(database, response.json()["reference_id"])
    assert {key: row[key] for key in expected} == expected


async def test_an_empty_string_clears_an_optional_attribute(
    client: httpx.AsyncClient, pusher: str, database: Database
) -> None:
    body = opscom_push(pusher, city="Ottawa", date_of_birth="2001-01-31")
    reference_id = (await push(client, body)).json()["reference_id"]

    assert (await push(client, {**body, "city": "", "date_of_birth": ""})).status_code == 200

    row = person_row(database, reference_id)
    assert (row["city"], row["date_of_birth"]) == (None, None)


async def test_a_token_limited_to_a_login_source_may_push_it(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    token = make_token("user-create", login_sources=["OPSCOM"])

    assert (await push(client, opscom_push(token))).status_code == 200


async def test_an_admin_token_may_push(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    assert (await push(client, opscom_push(make_token("admin")))).status_code == 200


async def test_people_of_other_login_sources_need_no_username(
    client: httpx.AsyncClient, pusher: str, directory: Directory
) -> None:
    directory.apply(AddLoginSource("SAML", "Campus SSO"), "test")

    response = await push(client, opscom_push(pusher, login_source="SAML", user_name=None))

    assert response.status_code == 200


# -- errors: each code, its HTTP status, the attribute named, nothing written --------------------------


async def assert_error(
    client: httpx.AsyncClient, database: Database, body: Any, status: int, code: int, names: str | None = None
) -> dict[str, Any]:
    before = written(database)
    response = await (
        client.post(PUSH, content=body) if isinstance(body, str | bytes) else push(client, body)
    )
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"ErrorCode", "ErrorMessage"}
    assert answer["ErrorCode"] == code, answer
    if names is not None:
        assert names in answer["ErrorMessage"]
    assert written(database) == before
    return answer


async def test_9001_when_the_token_is_missing(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, apiToken=None), 401, 9001, "apiToken")
    await assert_error(client, database, opscom_push(pusher, apiToken=""), 401, 9001, "apiToken")
    await assert_error(client, database, opscom_push(pusher, apiToken=12345), 401, 9001, "apiToken")


async def test_9001_when_the_token_is_unknown_or_revoked(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push("ph-" + "x" * 40), 401, 9001)
    with database.transaction() as conn:
        conn.execute(tables.api_tokens.update().values(revoked_at=tables.api_tokens.c.created_at))
    await assert_error(client, database, opscom_push(pusher), 401, 9001)


async def test_9001_comes_before_any_validation(client: httpx.AsyncClient, database: Database) -> None:
    await assert_error(client, database, {"apiToken": "wrong", "unique_id": 5, "bogus": True}, 401, 9001)


async def test_9002_when_the_token_lacks_user_create(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    token = make_token("user-read", "user-update")
    await assert_error(client, database, opscom_push(token), 403, 9002, "user-create")


async def test_9002_when_the_token_may_not_push_that_login_source(
    client: httpx.AsyncClient, database: Database, make_token: MakeToken
) -> None:
    token = make_token("user-create", login_sources=["SAML"])
    await assert_error(client, database, opscom_push(token), 403, 9002, "OPSCOM")


async def test_9002_when_the_token_is_scoped_to_a_myon_account(
    client: httpx.AsyncClient, database: Database, directory: Directory, make_token: MakeToken
) -> None:
    """An account's token reaches its district's own people (login source MYON): not OPS-COM's."""
    token = make_token("admin", account=new_organisation(directory, OrgKind.ACCOUNT))
    await assert_error(client, database, opscom_push(token), 403, 9002, "login source 'OPSCOM'")
    types = await client.post(TYPES, json={"apiToken": token})
    assert types.status_code == 200  # the catalogue is nobody's data


@pytest.mark.parametrize(
    "body",
    ["this is not json", "", "{'single': 'quotes'}", '["a", "list"]', '"a string"', "null", b"\xff\xfe{}"],
)
async def test_9003_when_the_body_is_not_a_json_object(
    client: httpx.AsyncClient, database: Database, pusher: str, body: str | bytes
) -> None:
    await assert_error(client, database, body, 400, 9003)


async def test_9003_and_413_when_the_body_is_too_large(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    answer = await assert_error(client, database, opscom_push(pusher, street="x" * 70_000), 413, 9003)
    assert "65536" in answer["ErrorMessage"]


async def test_9013_when_unique_id_is_missing(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, unique_id=None), 422, 9013, "unique_id")
    await assert_error(client, database, opscom_push(pusher, unique_id=""), 422, 9013, "unique_id")
    await assert_error(client, database, opscom_push(pusher, unique_id="   "), 422, 9013, "unique_id")


async def test_9014_when_login_source_is_missing(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, login_source=None), 422, 9014, "login_source")


async def test_9015_when_login_source_is_unknown(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, login_source="NOWHERE"), 422, 9015, "NOWHERE")


@pytest.mark.parametrize(("attribute", "code"), [("email", 9016), ("first_name", 9017), ("last_name", 9018)])
async def test_9016_to_9018_when_a_new_person_lacks_a_required_attribute(
    client: httpx.AsyncClient, database: Database, pusher: str, attribute: str, code: int
) -> None:
    await assert_error(client, database, opscom_push(pusher, **{attribute: None}), 422, code, attribute)
    await assert_error(client, database, opscom_push(pusher, **{attribute: ""}), 422, code, attribute)


async def test_9019_when_the_email_belongs_to_someone_else(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await push(client, opscom_push(pusher, email="taken@school.example.org"))
    await assert_error(
        client, database, opscom_push(pusher, email="TAKEN@school.example.org"), 409, 9019, "email"
    )


async def test_9020_when_the_user_name_belongs_to_someone_else(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await push(client, opscom_push(pusher, user_name="ghopper"))
    await assert_error(client, database, opscom_push(pusher, user_name="GHopper"), 409, 9020, "user_name")


@pytest.mark.parametrize(
    ("attribute", "limit"),
    [
        ("unique_id", 50),
        ("login_source", 20),
        ("first_name", 50),
        ("last_name", 50),
        ("user_name", 50),
        ("email", 100),
        ("city", 50),
        ("postal_code", 20),
        ("zip", 20),
        ("phone_cell", 20),
        ("employ_no", 50),
        ("employee_phone", 50),
        ("student_no", 50),
        ("student_phone", 50),
        ("driver_licence_num", 255),
        ("street", 255),
    ],
)
async def test_9030_when_an_attribute_is_too_long(
    client: httpx.AsyncClient, database: Database, pusher: str, attribute: str, limit: int
) -> None:
    await assert_error(
        client, database, opscom_push(pusher, **{attribute: "a" * (limit + 1)}), 422, 9030, attribute
    )


async def test_9030_for_a_three_letter_province(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, province="ONT"), 422, 9030, "province")


async def test_9031_when_a_native_login_person_has_no_user_name(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, user_name=None), 422, 9031, "user_name")


async def test_9032_when_a_province_is_one_letter(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    await assert_error(client, database, opscom_push(pusher, province="O"), 422, 9032, "province")
    await assert_error(client, database, opscom_push(pusher, driver_license_state="C"), 422, 9032)
    await assert_error(client, database, opscom_push(pusher, state2=" Q"), 422, 9032, "state2")


@pytest.mark.parametrize(
    ("attributes", "names"),
    [
        ({"date_of_birth": "1901-02-30"}, "date_of_birth"),  # no such day
        ({"date_of_birth": "31/01/1901"}, "date_of_birth"),
        ({"date_of_birth": "19010131"}, "date_of_birth"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "two@@example.org"}, "email"),
        ({"province": "1A"}, "province"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"first_name": None}, "first_name"),  # explicit null
        ({"first_name": 42}, "first_name"),
        ({"last_name": ["Hopper"]}, "last_name"),
        ({"city": {"name": "Ottawa"}}, "city"),
        ({"user_type_id": True}, "user_type_id"),
        ({"user_type_id": "99"}, "user_type_id"),  # not in the catalogue
        ({"unique_id": 123}, "unique_id"),
        ({"login_source": ["OPSCOM"]}, "login_source"),
    ],
)
async def test_9033_when_a_value_is_invalid(
    client: httpx.AsyncClient, database: Database, pusher: str, attributes: dict[str, Any], names: str
) -> None:
    body = opscom_push(pusher)
    body.update(attributes)
    await assert_error(client, database, body, 422, 9033, names)


async def test_an_invalid_push_to_an_existing_person_changes_nothing(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    body = opscom_push(pusher, city="Ottawa")
    reference_id = (await push(client, body)).json()["reference_id"]

    await assert_error(client, database, {**body, "city": "Hull", "date_of_birth": "2001-13-01"}, 422, 9033)

    assert person_row(database, reference_id)["city"] == "Ottawa"


@pytest.mark.parametrize(
    "body",
    [
        {"apiToken": None},
        {"apiToken": ["x"]},
        {"apiToken": {"nested": True}},
        {"apiToken": 1.5e308},
        {"apiToken": "x" * 10_000},
        {"apiToken": "\u0000"},
        {"apiToken": "\ud83d\ude00"},
    ],
)
async def test_odd_bodies_are_never_a_server_error(
    client: httpx.AsyncClient, database: Database, pusher: str, body: dict[str, Any]
) -> None:
    response = await client.post(PUSH, content=json.dumps(body))
    assert 400 <= response.status_code < 500
    assert "ErrorCode" in response.json()


async def test_odd_attribute_values_are_never_a_server_error(
    client: httpx.AsyncClient, database: Database, pusher: str
) -> None:
    odd_values: list[Any] = [
        None,
        "",
        " ",
        0,
        -1,
        1e300,
        True,
        [],
        {},
        "\u0000",
        "a\u0007b",
        "é" * 60,
        "😀" * 30,
    ]
    for attribute in ("unique_id", "email", "date_of_birth", "province", "user_type_id", "street"):
        for value in odd_values:
            response = await push(client, opscom_push(pusher, **{attribute: value}))
            assert response.status_code < 500, (attribute, value, response.text)
        lone_surrogate = json.dumps(opscom_push(pusher)).replace('"Grace"', '"\\ud83d"')
        response = await client.post(PUSH, content=lone_surrogate)
        # Refused with the body, before any attribute is read: no text of a request may be other than
        # Unicode text (tests/http/test_invalid_unicode.py).
        assert (response.status_code, response.json()["ErrorCode"]) == (400, 9003)


async def test_paths_outside_every_dialect_answer_in_fastapis_format(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    opscom_lookalike = await client.post("/opscomething", json={})

    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    assert (opscom_lookalike.status_code, opscom_lookalike.json()) == (404, {"detail": "Not Found"})


async def test_unknown_paths_and_methods_answer_in_opscom_format(client: httpx.AsyncClient) -> None:
    missing = await client.post("/opscom/api/OC_TOMA/v1/profiles/nothing", json={})
    wrong_method = await client.get(PUSH)

    assert missing.status_code == 404
    assert missing.json()["ErrorCode"] == 9003
    assert wrong_method.status_code == 405
    assert wrong_method.json()["ErrorCode"] == 9003


# -- CORS, types list, logs ---------------------------------------------------------------------------


async def test_cors_allows_any_origin_on_every_answer_and_preflight(
    client: httpx.AsyncClient, pusher: str
) -> None:
    origin = {"Origin": "https://portal.school.example.org"}
    preflight = await client.options(
        PUSH,
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    answers = [
        await client.post(PUSH, json=opscom_push(pusher), headers=origin),
        await client.post(PUSH, json=opscom_push(pusher)),  # like nginx's add_header: Origin or not
        await client.post(PUSH, json={"apiToken": ""}, headers=origin),
        await client.post(TYPES, json={"apiToken": pusher}),
        await client.post("/opscom/api/OC_TOMA/v1/nowhere", json={}),
    ]

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert [a.headers.get("access-control-allow-origin") for a in answers] == ["*"] * len(answers)
    assert "access-control-allow-origin" not in (await client.get("/healthz")).headers  # only OPS-COM's paths


async def test_types_list_answers_the_catalogue(
    client: httpx.AsyncClient, directory: Directory, make_token: MakeToken
) -> None:
    directory.apply(AddUserType("1", "Full Time Student", "Student"), "test")
    directory.apply(AddUserType("10", "Staff", None), "test")
    directory.apply(AddUserType("6", "Demo", "Public"), "test")

    for token in (make_token("user-create"), make_token("user-read")):
        response = await client.post(TYPES, json={"apiToken": token})
        assert response.status_code == 200
        assert response.json() == {
            "status": "success",
            "user_types": [
                {"id": "1", "type_name": "Full Time Student", "ext_info": "Student"},
                {"id": "6", "type_name": "Demo", "ext_info": "Public"},
                {"id": "10", "type_name": "Staff", "ext_info": None},
            ],
        }


async def test_types_list_errors(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    cases = [
        ({}, 401, 9001),
        ({"apiToken": "ph-unknown"}, 401, 9001),
        ({"apiToken": make_token("user-delete")}, 403, 9002),
    ]
    for body, status, code in cases:
        response = await client.post(TYPES, json=body)
        assert (response.status_code, response.json()["ErrorCode"]) == (status, code)
    not_json = await client.post(TYPES, content="nope")
    assert (not_json.status_code, not_json.json()["ErrorCode"]) == (400, 9003)


async def test_sensitive_values_never_reach_a_log_line(
    client: httpx.AsyncClient, pusher: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = opscom_push(pusher, date_of_birth="1987-06-05", driver_licence_num="SECRET-DL-555")
    await push(client, body)
    await push(client, {**body, "date_of_birth": "1987-06-31"})  # an error that names the attribute

    assert caplog.records  # something was logged (SQL, HTTP), so the check below means something
    for forbidden in ("1987-06-05", "1987-06-31", "SECRET-DL-555", pusher):
        assert forbidden not in caplog.text
