"""OCL credentials over HTTP: signing in for a key, Token and Basic, API tokens, and every refusal."""

from __future__ import annotations

import base64
import logging
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from provisionhub.auth.authenticator import directory_over
from provisionhub.auth.person_keys import MAX_KEYS
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.people import SetStatus, Status
from provisionhub.directory.service import Directory, utcnow
from provisionhub.scheduler import run_lifecycle
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows
from tests.dialects.ocl.conftest import PASSWORD, MakeMember, Member, basic, key_auth
from tests.factories import new_organisation, upsert

pytestmark = pytest.mark.anyio

LOGIN = "/ocl/users/login/"


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(LOGIN, json={"username": username, "password": password})


async def test_signing_in_gives_a_key_that_authenticates_as_the_person(
    client: httpx.AsyncClient, member: Member, database: Database
) -> None:
    answer = await sign_in(client, member.username)

    assert answer.status_code == 200
    key = answer.json()["token"]
    assert re.fullmatch("[0-9a-f]{40}", key)  # DRF-shaped: 40 hexadecimal characters
    me = await client.get("/ocl/user/", headers=key_auth(key))
    assert me.status_code == 200
    assert me.json()["username"] == member.username
    with database.snapshot() as conn:
        stored = conn.execute(select(tables.person_keys.c.key_hash)).scalars().all()
    assert len(stored) == 1
    assert key not in stored  # only its hash is kept


async def test_the_login_path_answers_without_its_trailing_slash_and_ignores_username_case(
    client: httpx.AsyncClient, member: Member
) -> None:
    answer = await client.post(
        LOGIN.rstrip("/"), json={"username": member.username.upper(), "password": PASSWORD}
    )

    assert answer.status_code == 200
    me = await client.get("/ocl/user", headers=key_auth(answer.json()["token"]))
    assert me.json()["uuid"] == member.public_id


async def test_each_sign_in_gives_a_new_key_and_a_person_keeps_only_the_newest(
    client: httpx.AsyncClient, member: Member, database: Database
) -> None:
    keys = [(await sign_in(client, member.username)).json()["token"] for _ in range(MAX_KEYS + 2)]

    assert len(set(keys)) == len(keys)
    assert count_rows(database, tables.person_keys) == MAX_KEYS
    assert (await client.get("/ocl/user", headers=key_auth(keys[0]))).status_code == 401
    assert (await client.get("/ocl/user", headers=key_auth(keys[1]))).status_code == 401
    assert (await client.get("/ocl/user", headers=key_auth(keys[2]))).status_code == 200
    assert (await client.get("/ocl/user", headers=key_auth(keys[-1]))).status_code == 200


@pytest.mark.parametrize("password", ["wrong password!", PASSWORD.upper()])
async def test_a_wrong_password_is_401_and_issues_no_key(
    client: httpx.AsyncClient, member: Member, database: Database, password: str
) -> None:
    answer = await client.post(LOGIN, json={"username": member.username, "password": password})

    assert answer.status_code == 401
    assert answer.json() == {"detail": "No such user or wrong password."}
    assert count_rows(database, tables.person_keys) == 0


async def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client: httpx.AsyncClient) -> None:
    answer = await sign_in(client, "nobody-here")

    assert answer.status_code == 401
    assert answer.json() == {"detail": "No such user or wrong password."}


async def test_a_person_without_a_password_cannot_sign_in(
    client: httpx.AsyncClient, make_member: MakeMember
) -> None:
    nopassword = make_member(password_hash=None)

    assert (await sign_in(client, nopassword.username)).status_code == 401


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"username": "someone"}, {"password": ["This field is required."]}),
        ({"password": PASSWORD}, {"username": ["This field is required."]}),
        ({"username": 7, "password": PASSWORD}, {"username": ["Not a valid string."]}),
    ],
)
async def test_sign_in_fields_missing_or_of_the_wrong_type_are_400(
    client: httpx.AsyncClient, body: dict[str, object], errors: dict[str, list[str]]
) -> None:
    answer = await client.post(LOGIN, json=body)

    assert answer.status_code == 400
    assert answer.json() == errors


async def test_signing_in_with_a_password_hash_is_refused(client: httpx.AsyncClient, member: Member) -> None:
    # oclapi v1 let a client sign in by presenting the stored hash itself: a stolen hash was a password.
    answer = await client.post(LOGIN, json={"username": member.username, "hashed_password": "pbkdf2..."})

    assert answer.status_code == 400
    assert set(answer.json()) == {"password", "hashed_password"}


async def test_sign_in_bodies_that_are_not_json_objects_are_400(client: httpx.AsyncClient) -> None:
    not_json = await client.post(LOGIN, content=b"{username", headers={"Content-Type": "application/json"})
    a_list = await client.post(LOGIN, json=["username", "password"])

    assert not_json.status_code == 400
    assert not_json.json()["detail"].startswith("JSON parse error")
    assert a_list.status_code == 400
    assert "non_field_errors" in a_list.json()


async def test_a_deactivated_person_cannot_sign_in_or_use_a_key(
    client: httpx.AsyncClient, member: Member, directory: Directory
) -> None:
    key = (await sign_in(client, member.username)).json()["token"]
    directory.apply(SetStatus(member.public_id, Status.DELETED), "test")

    refused = await sign_in(client, member.username)
    with_key = await client.get("/ocl/user", headers=key_auth(key))
    with_basic = await client.get("/ocl/user", headers=member.basic)

    assert refused.status_code == 401
    assert refused.json() == {"detail": "User inactive or deleted."}
    assert with_key.status_code == 401
    assert with_key.json() == {"detail": "User inactive or deleted."}
    assert with_basic.status_code == 401


async def test_a_person_in_their_grace_period_still_signs_in(
    client: httpx.AsyncClient, member: Member, directory: Directory
) -> None:
    directory.apply(SetStatus(member.public_id, Status.GRACE_PERIOD), "test")

    assert (await sign_in(client, member.username)).status_code == 200


async def test_a_person_whose_valid_from_has_not_come_signs_in_once_the_lifecycle_activates_them(
    client: httpx.AsyncClient, make_member: MakeMember, database: Database
) -> None:
    start = utcnow() + timedelta(hours=1)
    member = make_member(valid_from=start)

    refused = await sign_in(client, member.username)
    await run_lifecycle(directory_over(database), now=start)  # the hour has passed
    admitted = await sign_in(client, member.username)

    assert refused.status_code == 401
    assert refused.json() == {"detail": "User inactive or deleted."}
    assert admitted.status_code == 200


async def test_basic_authentication_works_and_a_wrong_password_is_401(
    client: httpx.AsyncClient, member: Member
) -> None:
    right = await client.get("/ocl/user", headers=member.basic)
    wrong = await client.get("/ocl/user", headers=basic(member.username, "not the password"))
    nobody = await client.get("/ocl/user", headers=basic("nobody", PASSWORD))

    assert right.status_code == 200
    assert right.json()["username"] == member.username
    for answer in (wrong, nobody):
        assert answer.status_code == 401
        assert answer.json() == {"detail": "Invalid username/password."}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Token", "Authentication credentials were not provided."),
        ("Digest abc", "Authentication credentials were not provided."),
        ("Token 0123456789abcdef0123456789abcdef01234567", "Invalid token."),
        ("Basic !!!", "Invalid basic header. Credentials not correctly base64 encoded."),
        (
            "Basic " + base64.b64encode(b"no-colon").decode(),
            "Invalid basic header. No colon between username and password.",
        ),
    ],
)
async def test_missing_or_bad_credentials_are_401_with_a_challenge(
    client: httpx.AsyncClient, header: str | None, detail: str
) -> None:
    headers = {"Authorization": header} if header is not None else {}

    answer = await client.get("/ocl/users/", headers=headers)

    assert answer.status_code == 401
    assert answer.json() == {"detail": detail}
    assert "Token" in answer.headers["WWW-Authenticate"]
    assert "Basic" in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
async def test_api_tokens_are_accepted_as_token_and_bearer(
    client: httpx.AsyncClient, make_token: MakeToken, member: Member, scheme: str
) -> None:
    reader = make_token("user-read")

    answer = await client.get(f"/ocl/users/{member.username}/", headers=key_auth(reader, scheme))

    assert answer.status_code == 200
    assert answer.json()["email"] == member.email  # a token is an operator's: it sees emails


async def test_a_person_key_is_accepted_as_bearer_too(client: httpx.AsyncClient, member: Member) -> None:
    key = (await sign_in(client, member.username)).json()["token"]

    assert (await client.get("/ocl/user", headers=key_auth(key, "Bearer"))).status_code == 200


async def test_an_api_token_without_user_read_cannot_read_and_a_revoked_one_is_401(
    client: httpx.AsyncClient, make_token: MakeToken, member: Member, database: Database
) -> None:
    from provisionhub.auth.tokens import revoke_token

    orgs_only = make_token("org-read")
    revoked = make_token("user-read", name="soon-revoked")
    with database.transaction() as conn:
        revoke_token(conn, "soon-revoked")

    denied = await client.get("/ocl/users/", headers=key_auth(orgs_only))
    gone = await client.get("/ocl/users/", headers=key_auth(revoked))

    assert denied.status_code == 403
    assert "user-read" in denied.json()["detail"]
    assert gone.status_code == 401


async def test_a_token_scoped_to_a_myon_account_sees_only_that_account_s_people(
    client: httpx.AsyncClient, make_token: MakeToken, directory: Directory
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    member = {"account_id": account, "user_role_id": 6, "username": "member@district.example.org"}
    made = await client.post(
        "/myon/users", json=[member], headers={"Authorization": f"Bearer {make_token('admin')}"}
    )
    assert made.status_code == 201, made.text
    directory.apply(upsert(username="outsider"), "test")
    scoped = make_token("admin", account=account)

    listed = await client.get("/ocl/users/", headers=key_auth(scoped))
    outsider = await client.get("/ocl/users/outsider/", headers=key_auth(scoped))

    assert [user["username"] for user in listed.json()] == ["member@district.example.org"]
    assert outsider.status_code == 404


async def test_get_user_with_an_api_token_is_403_for_a_token_is_no_person(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    answer = await client.get("/ocl/user", headers=key_auth(make_token("admin")))

    assert answer.status_code == 403
    assert "not a user" in answer.json()["detail"]


async def test_a_new_password_signs_every_key_out(client: httpx.AsyncClient, member: Member) -> None:
    key = (await sign_in(client, member.username)).json()["token"]

    changed = await client.post(
        "/ocl/user/", headers=key_auth(key), json={"password": "a brand new passphrase"}
    )

    assert changed.status_code == 200
    assert (await client.get("/ocl/user", headers=key_auth(key))).status_code == 401
    assert (await sign_in(client, member.username)).status_code == 401
    assert (await sign_in(client, member.username, "a brand new passphrase")).status_code == 200


async def test_a_password_set_through_another_dialect_signs_every_key_out_too(
    client: httpx.AsyncClient, member: Member, make_token: MakeToken
) -> None:
    key = (await sign_in(client, member.username)).json()["token"]
    scim = {"Authorization": f"Bearer {make_token('user-update', 'user-read')}"}
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "set through SCIM"}],
    }

    changed = await client.patch(f"/scim/v2/Users/{member.public_id}", json=body, headers=scim)

    assert changed.status_code == 200, changed.text
    assert (await client.get("/ocl/user", headers=key_auth(key))).status_code == 401
    assert (await sign_in(client, member.username, "set through SCIM")).status_code == 200


async def test_passwords_and_keys_never_reach_the_log(
    client: httpx.AsyncClient, member: Member, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    key = (await sign_in(client, member.username)).json()["token"]
    await client.get("/ocl/user", headers=key_auth(key))
    await client.get("/ocl/user", headers=basic(member.username, "a wrong one, logged?"))

    assert PASSWORD not in caplog.text
    assert key not in caplog.text
    assert "a wrong one, logged?" not in caplog.text


async def test_credentials_are_checked_before_the_body_or_the_parameters(
    client: httpx.AsyncClient, member: Member
) -> None:
    bad_key = key_auth("0" * 40)
    garbage = {"Content-Type": "application/json"}

    create = await client.post("/ocl/users/", headers={**bad_key, **garbage}, content=b"{oops")
    update = await client.put("/ocl/user/", headers={**bad_key, **garbage}, content=b"{oops")
    listed = await client.get("/ocl/users/?limit=oops", headers=bad_key)
    not_staff = await client.post("/ocl/users/", headers={**member.basic, **garbage}, content=b"{oops")

    assert [create.status_code, update.status_code, listed.status_code] == [401, 401, 401]
    assert not_staff.status_code == 403
