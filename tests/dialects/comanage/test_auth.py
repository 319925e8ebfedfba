"""Who may provision through the COmanage receiver: HTTP Basic with an API token's name and secret or a
staff member's username and password; what each message needs; and every refusal."""

from __future__ import annotations

import httpx
import pytest

from provisionhub.auth.tokens import revoke_token
from provisionhub.dialects.comanage.access import INACTIVE, NOT_PROVIDED, NOT_STAFF, REFUSED
from provisionhub.directory.changes import list_changes
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.people import SetStatus, Status
from provisionhub.directory.people_search import find_by_username
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows
from tests.dialects.comanage.conftest import (
    PASSWORD,
    PEOPLE,
    MakeStaff,
    TokenAuth,
    basic,
    delete_message,
    message,
    new_identifier,
    nobody,
    provision,
    stored,
)
from tests.factories import new_organisation

pytestmark = pytest.mark.anyio

CHALLENGE = 'Basic realm="provisionhub"'


def actors(database: Database, public_id: str) -> list[str]:
    with database.snapshot() as conn:
        return [change.actor for change in list_changes(conn, entity_type="person", entity_id=public_id)]


async def test_an_api_token_s_name_and_secret_provision_as_that_token(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()

    await provision(client, registry, message(identifier, names=[{"given": "Ada"}]), 201)

    assert actors(database, stored(database, identifier).public_id) == ["token:registry"]


async def test_a_staff_member_s_username_and_password_provision_as_that_person(
    client: httpx.AsyncClient, make_staff: MakeStaff, database: Database
) -> None:
    operator = make_staff()
    identifier = new_identifier()

    await provision(client, basic(operator, PASSWORD), message(identifier, names=[{"given": "Ada"}]), 201)
    await provision(client, basic(operator.upper(), PASSWORD), delete_message(identifier), 204)

    assert actors(database, stored(database, identifier).public_id) == [f"person:{operator}"] * 2


async def _refused(client: httpx.AsyncClient, headers: dict[str, str], status: int) -> httpx.Response:
    return await provision(client, headers, message(new_identifier(), names=[{"given": "Ada"}]), status)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic YWRh"},  # "ada": no colon
        {"Authorization": "Bearer ph-0123456789"},
    ],
    ids=["missing", "empty", "not-base64", "no-colon", "bearer"],
)
async def test_missing_or_malformed_credentials_are_401_with_a_basic_challenge(
    client: httpx.AsyncClient, database: Database, headers: dict[str, str]
) -> None:
    answer = await _refused(client, headers, 401)

    assert answer.headers["WWW-Authenticate"] == CHALLENGE
    assert answer.json()["error"] == "unauthenticated"
    assert count_rows(database, tables.people) == 0


async def test_a_good_token_under_another_scheme_than_basic_is_401(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    encoded = basic("registry", make_token("user-create", name="registry"))["Authorization"].split(" ")[1]

    for scheme in ("Bearer", "Token"):
        answer = await _refused(client, {"Authorization": f"{scheme} {encoded}"}, 401)
        assert answer.json()["message"] == NOT_PROVIDED
    assert count_rows(database, tables.people) == 0


async def test_a_wrong_token_secret_name_or_a_revoked_token_is_401(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    secret = make_token("user-create", name="registry")
    other = make_token("user-create", name="other")

    near_miss = secret[:-1] + ("y" if secret.endswith("x") else "x")  # its last character, changed

    for headers in (basic("registry", near_miss), basic("other", secret), basic("registry", other)):
        answer = await _refused(client, headers, 401)
        assert answer.headers["WWW-Authenticate"] == CHALLENGE
    with database.transaction() as conn:
        revoke_token(conn, "registry")
    await _refused(client, basic("registry", secret), 401)
    assert count_rows(database, tables.people) == 0


async def test_a_wrong_password_an_unknown_user_and_an_inactive_staff_member_are_401(
    client: httpx.AsyncClient, make_staff: MakeStaff, directory: Directory
) -> None:
    operator, gone = make_staff(), make_staff()
    with directory.database.transaction() as conn:
        person = find_by_username(conn, gone)
        assert person is not None
        directory.set_status(conn, SetStatus(person.public_id, Status.SUSPENDED), "test")

    wrong = await _refused(client, basic(operator, PASSWORD + "!"), 401)
    unknown = await _refused(client, basic("nobody", PASSWORD), 401)
    inactive = await _refused(client, basic(gone, PASSWORD), 401)

    assert wrong.json() == unknown.json()  # nothing tells who exists
    assert wrong.json()["message"] == REFUSED
    assert inactive.json()["message"] == INACTIVE  # told only with the right password


async def test_a_person_who_is_not_staff_is_403(client: httpx.AsyncClient, make_staff: MakeStaff) -> None:
    member = make_staff(staff=False)

    answer = await _refused(client, basic(member, PASSWORD), 403)

    assert answer.json()["error"] == "forbidden"
    assert answer.json()["message"] == NOT_STAFF  # refused as no provisioner, before the message is read


async def test_creating_needs_user_create_and_a_repeat_needs_no_more(
    client: httpx.AsyncClient, token_auth: TokenAuth, database: Database
) -> None:
    identifier = new_identifier()
    updater, creator = token_auth("user-update"), token_auth("user-create")
    body = message(identifier, names=[{"given": "Ada"}])

    assert (await provision(client, updater, body, 403)).json()["error"] == "forbidden"
    assert nobody(database, identifier)
    await provision(client, creator, body, 201)
    assert (await provision(client, creator, body, 200)).json()["result"] == "unchanged"  # a retry


async def test_a_source_token_keeps_its_people_up_to_date_and_user_update_alone_changes_them(
    client: httpx.AsyncClient, token_auth: TokenAuth, database: Database
) -> None:
    """As for any source's upsert (OPS-COM's push): user-create creates and changes, user-update changes;
    a token with neither may not provision at all."""
    identifier = new_identifier()
    creator, updater, reader = token_auth("user-create"), token_auth("user-update"), token_auth("user-read")
    await provision(client, creator, message(identifier, names=[{"given": "Ada"}]), 201)

    await provision(client, creator, message(identifier, names=[{"given": "Ada"}], status="suspended"), 200)
    assert stored(database, identifier).status is Status.SUSPENDED
    logged = count_rows(database, tables.changes)
    await provision(client, reader, message(identifier, names=[{"given": "Augusta"}]), 403)
    assert count_rows(database, tables.changes) == logged
    await provision(client, updater, message(identifier, names=[{"given": "Augusta"}]), 200)
    assert stored(database, identifier)["given_name"] == "Augusta"


async def test_deleting_needs_user_delete(
    client: httpx.AsyncClient, token_auth: TokenAuth, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier), 201)
    writer = token_auth("user-create", "user-update")

    await provision(client, writer, delete_message(identifier), 403)
    assert (await client.delete(PEOPLE + identifier, headers=writer)).status_code == 403
    assert stored(database, identifier).status is Status.ACTIVE
    assert (await client.delete(PEOPLE + identifier, headers=token_auth("user-delete"))).status_code == 204


async def test_a_token_that_may_not_provision_at_all_is_403_before_its_body_is_read(
    client: httpx.AsyncClient, token_auth: TokenAuth
) -> None:
    reader = token_auth("user-read", "group-write")

    answer = await client.post(PEOPLE, content=b"not json", headers=reader)

    assert answer.status_code == 403


@pytest.mark.parametrize(("sources", "status"), [(["OPSCOM"], 403), (["OPSCOM", "COMANAGE"], 201)])
async def test_a_token_limited_to_login_sources_must_be_allowed_comanage(
    client: httpx.AsyncClient, token_auth: TokenAuth, sources: list[str], status: int
) -> None:
    headers = token_auth(login_sources=sources)

    answer = await _refused(client, headers, status)

    if status == 403:
        assert "COMANAGE" in answer.json()["message"]


async def test_a_token_scoped_to_an_account_is_403(
    client: httpx.AsyncClient, make_token: MakeToken, directory: Directory
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    secret = make_token("user-create", name="district", account=account)

    await _refused(client, basic("district", secret), 403)
