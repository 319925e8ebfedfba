"""SCIM's request conditions over HTTP, in detail: If-Match on PUT, PATCH and DELETE of Users and Groups,
If-None-Match on their GETs. A header may hold one entity tag, a list of them (commas, spaces around
them or none), or `*`; a tag matches in its weak (`W/"5"`) or strong (`"5"`) form, both taken as the
resource's weak version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.dialects.scim.conftest import new_user

pytestmark = pytest.mark.anyio

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
KINDS = ["Users", "Groups"]
WRITES = [(kind, method) for kind in KINDS for method in ("PUT", "PATCH", "DELETE")]

#: What a client may send that names a version, made from the current one (`W/"n"`).
Header = Callable[[str], str]


def strong(version: str) -> str:
    """`W/"n"` as a strong tag: `"n"`."""
    assert version.startswith('W/"'), version
    return version.removeprefix("W/")


def other(version: str) -> str:
    """A weak tag that is not the current version (nor any earlier one): `W/"n0"`."""
    return f'{version[:-1]}0"'


#: Headers that hold the current version, by what they test.
HOLDING: dict[str, Header] = {
    "the version itself": lambda v: v,
    "its strong form": strong,
    "a star": lambda v: "*",
    "a list, the version last": lambda v: f'W/"0", {v}',
    "a list, the version first": lambda v: f"{v}, {other(v)}",
    "a list without spaces": lambda v: f'W/"0",{v}',
    "a list with spaces around its commas": lambda v: f'W/"0"  ,  {v}  ,  {other(v)}',
    "a list of strong tags": lambda v: f'"0", {strong(v)}',
    "a list holding a star": lambda v: f'W/"0", {other(v)}, *',
}
#: Headers that do not.
NOT_HOLDING: dict[str, Header] = {
    "another version": other,
    "another version, strong": lambda v: strong(other(v)),
    "a list of other versions": lambda v: f'W/"0", {other(v)}',
    "a list of other versions without spaces": lambda v: f'W/"0",{other(v)}',
    "two tags without a comma": lambda v: f"{other(v)} {v}",
}


async def created(client: httpx.AsyncClient, scim: dict[str, str], kind: str) -> dict[str, Any]:
    """A new User, or a new Group with a member; its document."""
    user = await client.post("/scim/v2/Users", headers=scim, json=new_user())
    assert user.status_code == 201, user.text
    if kind == "Users":
        return user.json()
    name = f"Staff of {user.json()['userName']}"
    body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": user.json()["id"]}]}
    group = await client.post("/scim/v2/Groups", headers=scim, json=body)
    assert group.status_code == 201, group.text
    return group.json()


async def write(
    client: httpx.AsyncClient,
    scim: dict[str, str],
    document: dict[str, Any],
    method: str,
    if_match: str | None,
) -> httpx.Response:
    """A PUT, PATCH or DELETE of the resource, with If-Match: if_match (None: none)."""
    url = document["meta"]["location"]
    headers = scim if if_match is None else {**scim, "If-Match": if_match}
    is_user = document["meta"]["resourceType"] == "User"
    if method == "PUT":
        if is_user:
            body = new_user(userName=document["userName"], title="Changed")
        else:
            name = f"{document['displayName']} (changed)"
            body = {"schemas": [GROUP_SCHEMA], "displayName": name, "members": document["members"]}
        return await client.put(url, headers=headers, json=body)
    if method == "PATCH":
        path, value = (
            ("title", "Changed") if is_user else ("displayName", f"{document['displayName']} (changed)")
        )
        operations = [{"op": "replace", "path": path, "value": value}]
        return await client.patch(
            url, headers=headers, json={"schemas": [PATCH_OP], "Operations": operations}
        )
    return await client.delete(url, headers=headers)


async def state(client: httpx.AsyncClient, scim: dict[str, str], document: dict[str, Any]) -> str:
    """What became of the resource since document was read: gone, changed or unchanged."""
    now = await client.get(document["meta"]["location"], headers=scim)
    if now.status_code == 404:
        return "gone"
    assert now.status_code == 200, now.text
    if now.json() == document:
        return "unchanged"
    assert now.json()["meta"]["version"] != document["meta"]["version"], "changed without a new version"
    return "changed"


# -- If-Match --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "method"), WRITES)
async def test_if_match_holding_the_current_version_lets_the_write_through(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str, method: str
) -> None:
    done = (204, "gone") if method == "DELETE" else (200, "changed")
    outcomes = {}

    for form, header in HOLDING.items():
        document = await created(client, scim, kind)
        answer = await write(client, scim, document, method, header(document["meta"]["version"]))
        outcomes[form] = (answer.status_code, await state(client, scim, document))

    assert outcomes == dict.fromkeys(HOLDING, done)


@pytest.mark.parametrize(("kind", "method"), WRITES)
async def test_if_match_not_holding_the_current_version_is_412_and_changes_nothing(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str, method: str
) -> None:
    outcomes = {}

    for form, header in NOT_HOLDING.items():
        document = await created(client, scim, kind)
        version = document["meta"]["version"]
        answer = await write(client, scim, document, method, header(version))
        outcomes[form] = (answer.status_code, await state(client, scim, document))
        if answer.status_code == 412:
            detail = answer.json()["detail"]
            assert version in detail, (form, detail)  # the 412 says which version is current

    assert outcomes == dict.fromkeys(NOT_HOLDING, (412, "unchanged"))


@pytest.mark.parametrize(("kind", "method"), WRITES)
async def test_without_if_match_a_write_goes_through_whatever_version_the_client_saw(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str, method: str
) -> None:
    seen = await created(client, scim, kind)
    meanwhile = await write(client, scim, seen, "PATCH", None)

    answer = await write(client, scim, seen, method, None)

    assert meanwhile.status_code == 200, meanwhile.text
    assert meanwhile.json()["meta"]["version"] != seen["meta"]["version"]
    assert answer.status_code == (204 if method == "DELETE" else 200), answer.text


# -- If-None-Match ---------------------------------------------------------------------------------


async def read(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str, forms: dict[str, Header]
) -> dict[str, Any]:
    """For each form, a GET of a new resource with If-None-Match in that form: what it answered (status,
    ETag, and the body: the resource's document, or empty)."""
    outcomes: dict[str, Any] = {}
    for form, header in forms.items():
        document = await created(client, scim, kind)
        version = document["meta"]["version"]
        answer = await client.get(
            document["meta"]["location"], headers={**scim, "If-None-Match": header(version)}
        )
        body = answer.json() == document if answer.content else "empty"
        outcomes[form] = (answer.status_code, answer.headers.get("ETag") == version, body)
    return outcomes


@pytest.mark.parametrize("kind", KINDS)
async def test_if_none_match_holding_the_current_version_is_304_with_the_etag_and_no_body(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str
) -> None:
    outcomes = await read(client, scim, kind, HOLDING)

    assert outcomes == dict.fromkeys(HOLDING, (304, True, "empty"))


@pytest.mark.parametrize("kind", KINDS)
async def test_if_none_match_not_holding_the_current_version_is_the_resource(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str
) -> None:
    outcomes = await read(client, scim, kind, NOT_HOLDING)

    assert outcomes == dict.fromkeys(NOT_HOLDING, (200, True, True))


@pytest.mark.parametrize("kind", KINDS)
async def test_no_if_none_match_is_the_resource(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str
) -> None:
    document = await created(client, scim, kind)

    answer = await client.get(document["meta"]["location"], headers=scim)

    assert answer.status_code == 200
    assert answer.json() == document


@pytest.mark.parametrize("kind", KINDS)
async def test_a_version_held_before_a_change_is_modified(
    client: httpx.AsyncClient, scim: dict[str, str], kind: str
) -> None:
    document = await created(client, scim, kind)
    held = document["meta"]["version"]
    changed = await write(client, scim, document, "PATCH", held)

    answer = await client.get(document["meta"]["location"], headers={**scim, "If-None-Match": held})

    assert changed.status_code == 200
    assert answer.status_code == 200
    assert answer.json()["meta"]["version"] == changed.json()["meta"]["version"] != held
