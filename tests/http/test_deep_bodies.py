"""A JSON body nested deeper than the parsers go is bad input (400, in each dialect's own format), never
a 500: orjson stops at 1024 levels, and Python's parser, which reads what orjson refuses, recursed."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeToken

pytestmark = pytest.mark.anyio


def nested(depth: int, inner: str = '"x"') -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/ocl/users/login/", "detail"),
        ("/scim/v2/Users", "detail"),
        ("/myon/users", "message"),
        ("/uniweb/api/resource.php", "error"),
    ],
)
@pytest.mark.parametrize("depth", [1100, 20_000])
async def test_a_body_nested_past_the_parsers_is_400_in_the_dialects_format(
    client: httpx.AsyncClient, make_token: MakeToken, url: str, says: str, depth: int
) -> None:
    token = make_token("admin")

    answer = await client.post(
        url,
        content=nested(depth),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    assert answer.status_code == 400, answer.text
    assert says in answer.json()


async def test_a_nul_deep_in_a_body_is_found_without_recursing(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    token = make_token("admin")

    answer = await client.post(
        "/scim/v2/Users",
        content=nested(1000, '"a\\u0000b"'),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    assert answer.status_code == 400, answer.text
    assert "NUL" in answer.text
