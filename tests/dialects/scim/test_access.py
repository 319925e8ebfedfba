"""How SCIM reads its credential: an `Authorization: Bearer <API token>` header, the scheme in any case,
one or more spaces before the token; anything else is a 401 that says what is wanted."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeToken

pytestmark = pytest.mark.anyio

USERS = "/scim/v2/Users"
WANTED = "an Authorization: Bearer <API token> header is required"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "Bearer ", "Bearer   "])
async def test_the_bearer_scheme_is_taken_in_any_case_and_with_any_spaces_before_the_token(
    client: httpx.AsyncClient, make_token: MakeToken, scheme: str
) -> None:
    token = make_token("user-read")

    answer = await client.get(USERS, headers={"Authorization": f"{scheme} {token}"})

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic {token}",
        "Token {token}",
        "{token}",
        "Bearer",
        "Bearer    ",
        "Bearer{token}",
        "NotBearer {token}",
    ],
)
async def test_a_token_without_the_bearer_scheme_is_401_saying_what_is_wanted(
    client: httpx.AsyncClient, make_token: MakeToken, authorization: str
) -> None:
    token = make_token("user-read")

    answer = await client.get(USERS, headers={"Authorization": authorization.format(token=token)})

    assert answer.status_code == 401
    assert answer.json()["detail"] == WANTED
    assert "Bearer" in answer.headers["WWW-Authenticate"]


async def test_no_authorization_header_is_401_saying_what_is_wanted(client: httpx.AsyncClient) -> None:
    answer = await client.get(USERS)

    assert answer.status_code == 401
    assert answer.json()["detail"] == WANTED
