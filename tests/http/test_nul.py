"""NUL characters, which PostgreSQL can neither store nor compare, are refused as bad input (400, in each
dialect's own format) wherever a request can carry one: its path, its query string, its body."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeToken

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "url", "says"),
    [
        ("GET", "/ocl/users/a%00b/", "detail"),
        ("PUT", "/ocl/users/a%00b/reactivate/", "detail"),
        ("GET", "/ocl/users/?q=a%00b", "detail"),
        ("GET", "/scim/v2/Users/a%00b", "detail"),
        ("DELETE", "/scim/v2/Groups/a%00b", "detail"),
        ("GET", "/myon/users/a%00b", "message"),
        ("GET", "/myon/accounts/a%00b", "message"),
        ("POST", "/uniweb/api/token.php?x=%00", "error"),
    ],
)
async def test_a_nul_in_the_url_is_400_in_the_dialects_format(
    client: httpx.AsyncClient, make_token: MakeToken, method: str, url: str, says: str
) -> None:
    token = make_token("admin")

    answer = await client.request(method, url, headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 400, answer.text
    assert says in answer.json()
    assert "NUL" in answer.text


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/ocl/users/login/", {"username": "a\u0000b", "password": "x" * 9}),
        ("/scim/v2/Users", {"userName": "a\u0000b"}),
        ("/scim/v2/Users/.search", {"filter": "userName pr", "attributes": ["user\u0000Name"]}),
        ("/myon/users", [{"myon_id": "a\u0000b"}]),
        ("/opscom/api/OC_TOMA/v1/profiles/push", {"apiToken": "ph-x", "unique_id": "a\u0000b"}),
    ],
)
async def test_a_nul_in_a_json_body_is_400(
    client: httpx.AsyncClient, make_token: MakeToken, url: str, body: object
) -> None:
    token = make_token("admin")

    answer = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code in (400, 422), answer.text  # OPS-COM answers refusals 422
    assert "NUL" in answer.text


async def test_a_nul_in_a_form_is_400(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/uniweb/api/token.php", data={"grant_type": "password", "username": "a\u0000b", "password": "x"}
    )

    assert answer.status_code == 400
    assert "NUL" in answer.text
