"""Text that is not Unicode text (a lone surrogate escape such as `"\\ud800"`, bytes that are not UTF-8 such
as `%ED%A0%80`) is refused as bad input (400, in each dialect's own format) wherever a request can carry
it: a JSON value, key or id, a form field, the query string, the path. Nothing is written. Such text was a
500: it can be neither encoded, stored nor answered."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

from provisionhub.auth.oauth import create_client
from provisionhub.directory.access import Permission
from provisionhub.directory.service import utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken

pytestmark = pytest.mark.anyio

#: What each dialect's 400 looks like: a check of the answer's JSON body.
Format = Callable[[Any], bool]
FORMATS: dict[str, Format] = {
    "ocl": lambda body: set(body) == {"detail"},
    "scim": lambda body: (
        body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "400"
    ),
    "myon": lambda body: body["status"] == 400 and set(body) == {"status", "message"},
    "opscom": lambda body: body["ErrorCode"] == 9003 and "ErrorMessage" in body,
    "comanage": lambda body: body["error"] == "invalid" and set(body) == {"error", "field", "message"},
    "uniweb": lambda body: body["error"]["code"] == 400 and "message" in body["error"],
    "oauth": lambda body: body["error"] == "invalid_request" and "error_description" in body,
}

LONE = [r"\ud800", r"\udfff", r"\uDBFF"]
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PUSH = "/opscom/api/OC_TOMA/v1/profiles/push"
TOKEN = "/uniweb/api/token.php"
RESOURCE = "/uniweb/api/resource.php"

#: (what, method, url, JSON body with X where the lone surrogate goes, the dialect's format); each body is
#: one the endpoint would otherwise take or refuse for another reason, after reading it.
JSON_CASES = [
    ("ocl sign-in value", "POST", "/ocl/users/login/", '{"username": "X", "password": "secret-123"}', "ocl"),
    ("ocl sign-in key", "POST", "/ocl/users/login/", '{"username": "a", "password": "p", "X": 1}', "ocl"),
    ("ocl create value", "POST", "/ocl/users/", '{"username": "ann", "first_name": "X"}', "ocl"),
    ("ocl create key", "POST", "/ocl/users/", '{"username": "ann", "X": "Ann"}', "ocl"),
    ("ocl update value", "PUT", "/ocl/users/ann/", '{"first_name": "X"}', "ocl"),
    ("myon users id", "POST", "/myon/users", '[{"myon_id": "X", "role": "district_admin"}]', "myon"),
    ("myon users key", "POST", "/myon/users", '[{"myon_id": "u-1", "X": 1}]', "myon"),
    ("myon accounts id", "POST", "/myon/accounts", '[{"myon_id": "X", "name": "North"}]', "myon"),
    ("myon buildings value", "POST", "/myon/buildings", '[{"myon_id": "b-1", "name": "X"}]', "myon"),
    ("myon permissions id", "POST", "/myon/permissions", '[{"myon_id": "X", "permissions": []}]', "myon"),
    ("scim users schemas", "POST", "/scim/v2/Users", '{"schemas": ["X"], "userName": "ann"}', "scim"),
    ("scim users key", "POST", "/scim/v2/Users", f'{{"schemas": ["{USER}"], "X": "ann"}}', "scim"),
    ("scim users put", "PUT", "/scim/v2/Users/u-1", '{"schemas": ["X"], "userName": "ann"}', "scim"),
    (
        "scim groups members",
        "POST",
        "/scim/v2/Groups",
        f'{{"schemas": ["{GROUP}"], "displayName": "g", "members": [{{"value": "X"}}]}}',
        "scim",
    ),
    (
        "scim groups patch",
        "PATCH",
        "/scim/v2/Groups/g-1",
        f'{{"schemas": ["{PATCH}"], "Operations": [{{"op": "add", "path": "members", '
        '"value": [{"value": "X"}]}]}',
        "scim",
    ),
    (
        "scim bulk bulkId",
        "POST",
        "/scim/v2/Bulk",
        f'{{"schemas": ["{BULK}"], "Operations": [{{"method": "POST", "path": "/Users", "bulkId": "X", '
        f'"data": {{"schemas": ["{USER}"], "userName": "ann"}}}}]}}',
        "scim",
    ),
    ("opscom push id", "POST", PUSH, '{"apiToken": "ph-x", "unique_id": "X"}', "opscom"),
    ("comanage value", "POST", "/comanage/people/", '{"CoPerson": [{"Id": "X"}]}', "comanage"),
    ("uniweb token", "POST", TOKEN, '{"grant_type": "password", "username": "X", "password": "p"}', "oauth"),
    ("uniweb resource id", "POST", RESOURCE, '{"action": "read", "id": "X"}', "uniweb"),
    ("uniweb resource key", "POST", RESOURCE, '{"action": "read", "X": "1"}', "uniweb"),
]

#: (what, method, url, raw form body, its media type, the dialect's format): %ED%A0%80 is the UTF-8-like
#: encoding of the surrogate U+D800, which UTF-8 forbids; \xff is no UTF-8 at all.
FORM_CASES = [
    ("token urlencoded", TOKEN, b"grant_type=password&username=%ED%A0%80&password=p", "urlencoded", "oauth"),
    (
        "token urlencoded name",
        TOKEN,
        b"grant_type=password&%FF=1&username=a&password=p",
        "urlencoded",
        "oauth",
    ),
    ("token multipart", TOKEN, b"\xed\xa0\x80", "multipart", "oauth"),
    ("resource multipart", RESOURCE, b"\xff", "multipart", "uniweb"),
    ("ocl sign-in urlencoded", "/ocl/users/login/", b"username=%ED%A0%80&password=p", "urlencoded", "ocl"),
]

#: (what, method, url, the dialect's format): an id in the path, a parameter in the query string.
URL_CASES = [
    ("scim user id", "PUT", "/scim/v2/Users/%ED%A0%80", "scim"),
    ("scim group id", "PATCH", "/scim/v2/Groups/a%ED%BF%BFb", "scim"),
    ("scim filter", "GET", "/scim/v2/Users?filter=userName%20eq%20%22%ED%A0%80%22", "scim"),
    ("ocl user id", "PUT", "/ocl/users/%ED%A0%80/", "ocl"),
    ("ocl query", "GET", "/ocl/users/?q=%ED%A0%80", "ocl"),
    ("myon user id", "GET", "/myon/users/%ED%A0%80", "myon"),
    ("myon account id", "GET", "/myon/accounts/%FF", "myon"),
    ("comanage id", "PUT", "/comanage/people/%ED%A0%80", "comanage"),
    ("uniweb query", "GET", f"{RESOURCE}?action=read&id=%ED%A0%80", "uniweb"),
    ("uniweb token query", "POST", f"{TOKEN}?x=%C3", "uniweb"),
    ("opscom query", "POST", f"{PUSH}?x=%ED%A0%80", "opscom"),
]


def changes_logged(database: Database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.changes)).scalar_one()


@pytest.fixture
def headers(make_token: MakeToken) -> dict[str, str]:
    """A token that may do everything, as Bearer."""
    return {"Authorization": f"Bearer {make_token('admin', name='everything')}"}


Refuse = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def refuse(client: httpx.AsyncClient, database: Database, headers: dict[str, str]) -> Refuse:
    """refuse(dialect, says, method, url, content=None, media_type="application/json", auth=None): send
    the request with auth, else the everything token (to COmanage as Basic, by its name); assert it is a
    400 in the dialect's format that says why, and wrote nothing."""
    secret = headers["Authorization"].removeprefix("Bearer ")
    basic = {"Authorization": "Basic " + base64.b64encode(f"everything:{secret}".encode()).decode()}

    async def send(
        dialect: str,
        says: str,
        method: str,
        url: str,
        content: bytes | None = None,
        media_type: str = "application/json",
        auth: dict[str, str] | None = None,
    ) -> httpx.Response:
        auth = auth or (basic if url.startswith("/comanage") else headers)
        before = changes_logged(database)

        answer = await client.request(
            method, url, content=content, headers={**auth, "Content-Type": media_type}
        )

        assert answer.status_code == 400, answer.text
        assert FORMATS[dialect](answer.json()), answer.text
        assert says in answer.text
        assert changes_logged(database) == before
        return answer

    return send


@pytest.mark.parametrize("lone", LONE)
@pytest.mark.parametrize(
    ("what", "method", "url", "body", "dialect"), JSON_CASES, ids=[c[0] for c in JSON_CASES]
)
async def test_a_lone_surrogate_in_a_json_body_is_400(
    refuse: Refuse, lone: str, what: str, method: str, url: str, body: str, dialect: str
) -> None:
    await refuse(dialect, "lone surrogate", method, url, body.replace("X", lone, 1).encode())


@pytest.mark.parametrize(
    ("what", "url", "body", "dialect", "named"),
    [
        ("scim schemas", "/scim/v2/Users", '{"schemas": ["X"], "userName": "a"}', "scim", "schemas[0]"),
        ("scim key", "/scim/v2/Users", '{"name": {"X": "a"}}', "scim", "a key of name"),
        ("myon item", "/myon/users", '[{"myon_id": "a"}, {"myon_id": "X"}]', "myon", "[1].myon_id"),
        ("under a bad key", "/scim/v2/Users", r'{"name": {"X": {"a": "\udfff"}}}', "scim", "a key of name"),
        (
            "bulk id",
            "/scim/v2/Bulk",
            f'{{"schemas": ["{BULK}"], "Operations": [{{"bulkId": "X"}}]}}',
            "scim",
            "Operations[0].bulkId",
        ),
    ],
)
async def test_the_refusal_names_the_field(
    refuse: Refuse, what: str, url: str, body: str, dialect: str, named: str
) -> None:
    content = body.replace("X", r"\ud800", 1).encode()

    answer = await refuse(dialect, r"lone surrogate (\\ud800)", "POST", url, content)

    assert f"{named} holds a lone surrogate" in answer.json()[{"scim": "detail", "myon": "message"}[dialect]]


async def test_a_surrogate_pair_is_one_character_and_taken(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = f'{{"schemas": ["{USER}"], "userName": "smile\\ud83d\\ude00", "active": true}}'.encode()

    answer = await client.post(
        "/scim/v2/Users", content=body, headers={**headers, "Content-Type": "application/json"}
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["userName"] == "smile\U0001f600"


@pytest.mark.parametrize(
    ("what", "url", "body", "kind", "dialect"), FORM_CASES, ids=[c[0] for c in FORM_CASES]
)
async def test_bytes_that_are_not_utf8_in_a_form_are_400(
    refuse: Refuse, what: str, url: str, body: bytes, kind: str, dialect: str
) -> None:
    media_type = "application/x-www-form-urlencoded"
    if kind == "multipart":
        body = (
            b'--b0undary\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\npassword\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="username"\r\n\r\n' + body + b"\r\n"
            b"--b0undary--\r\n"
        )
        media_type = "multipart/form-data; boundary=b0undary"

    await refuse(dialect, "not UTF-8", "POST", url, body, media_type)


async def test_a_lone_surrogate_in_a_form_fields_json_is_400(
    client: httpx.AsyncClient, database: Database, refuse: Refuse
) -> None:
    with database.transaction() as conn:
        made = create_client(conn, "reports", [Permission.USER_UPDATE], utcnow())
    grant = {"grant_type": "password", "username": made.client_id, "password": made.secret}
    access = (await client.post(TOKEN, data=grant)).json()["access_token"]
    form = urlencode({"request": '{"action": "edit", "id": "\\ud800", "resources": {}}'}).encode()

    await refuse(
        "uniweb",
        r"request: id holds a lone surrogate (\\ud800)",
        "POST",
        RESOURCE,
        form,
        "application/x-www-form-urlencoded",
        auth={"Authorization": f"Bearer {access}"},
    )


@pytest.mark.parametrize(("what", "method", "url", "dialect"), URL_CASES, ids=[c[0] for c in URL_CASES])
async def test_bytes_that_are_not_utf8_in_the_url_are_400(
    refuse: Refuse, what: str, method: str, url: str, dialect: str
) -> None:
    body = b'{"schemas": ["' + USER.encode() + b'"], "userName": "ann"}' if method != "GET" else None

    await refuse(dialect, "not UTF-8", method, url, body)


async def test_text_beyond_ascii_is_taken_in_the_url_and_forms(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    created = await client.post(
        "/scim/v2/Users",
        json={"schemas": [USER], "userName": "zoë", "name": {"givenName": "Zoë"}},
        headers=headers,
    )
    assert created.status_code == 201, created.text

    found = await client.get("/scim/v2/Users?filter=userName%20eq%20%22zo%C3%AB%22", headers=headers)
    read = await client.get(f"/scim/v2/Users/{created.json()['id']}", headers=headers)
    token = await client.post(TOKEN, data={"grant_type": "password", "username": "zoë", "password": "p"})

    assert found.json()["totalResults"] == 1, found.text
    assert read.status_code == 200
    assert token.json()["error"] == "invalid_grant", token.text  # read, then refused for what it says


async def test_a_refused_request_among_concurrent_writes_leaves_them_whole(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    json_headers = {**headers, "Content-Type": "application/json"}

    def create(name: str) -> Any:
        body = f'{{"schemas": ["{USER}"], "userName": "{name}"}}'.encode()
        return client.post("/scim/v2/Users", content=body, headers=json_headers)

    names = [f"user{n}" if n % 5 else f"bad{n}\\ud800" for n in range(40)]
    answers = await asyncio.gather(*(create(name) for name in names))

    statuses = {name: answer.status_code for name, answer in zip(names, answers, strict=True)}
    assert {s for n, s in statuses.items() if n.startswith("bad")} == {400}
    assert {s for n, s in statuses.items() if n.startswith("user")} == {201}
    listed = await client.get("/scim/v2/Users?count=100", headers=headers)
    assert listed.json()["totalResults"] == 32
