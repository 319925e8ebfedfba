"""UNIWeb's token endpoint and access tokens over HTTP: the password grant as the PHP client sends it
(multipart) and as the docs show it (urlencoded), every refusal, holding off wrong secrets, and the
answers to a missing, unknown, expired or revoked token that make the PHP client fetch a new one."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from provisionhub.app import create_app
from provisionhub.auth.oauth import GrantPolicy, IssuedToken, issue_token, revoke_client
from provisionhub.auth.tokens import digest
from provisionhub.directory.service import utcnow
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.dialects.uniweb.conftest import (
    FAILURES_BEFORE_HOLD,
    TOKEN,
    WHOAMI,
    MakeClient,
    multipart,
    password_grant,
)

pytestmark = pytest.mark.anyio

SEED_FIELDS = {"message": "Error validating access token.", "type": "OAuthException", "code": 98}


async def token_for(client: httpx.AsyncClient, fields: dict[str, str]) -> str:
    answer = await client.post(TOKEN, data=fields)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the grant -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
async def test_a_password_grant_gives_a_bearer_token_for_an_hour(
    client: httpx.AsyncClient, make_client: MakeClient, database: Database, encoding: str
) -> None:
    credentials = make_client("reports")
    fields = password_grant(credentials)
    body = {"data": fields} if encoding == "urlencoded" else {"files": multipart(fields)}

    answer = await client.post(TOKEN, **body)  # type: ignore[arg-type]

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    token = answer.json()["access_token"]
    assert answer.json() == {"access_token": token, "token_type": "bearer", "expires_in": 3600}
    with database.snapshot() as conn:
        stored = conn.execute(select(tables.oauth_tokens.c.token_hash)).scalars().all()
    assert stored == [digest(token)]  # only its hash
    me = await client.post(WHOAMI, headers=bearer(token))
    assert me.json() == {"actor": "oauth:reports"}


async def test_a_tokens_lifetime_is_a_setting(
    settings: Settings, database: Database, make_client: MakeClient
) -> None:
    app = create_app(settings.model_copy(update={"oauth_token_seconds": 60}), database)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        answer = await client.post(TOKEN, data=password_grant(make_client()))

    assert answer.json()["expires_in"] == 60
    with database.snapshot() as conn:
        expires_at = conn.execute(select(tables.oauth_tokens.c.expires_at)).scalar_one()
    assert timedelta(seconds=55) < expires_at - utcnow() <= timedelta(seconds=60)


async def test_a_json_body_is_taken_too(client: httpx.AsyncClient, make_client: MakeClient) -> None:
    answer = await client.post(TOKEN, json=password_grant(make_client()))
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "bearer"


async def test_each_grant_gives_a_new_token_and_the_old_ones_keep_working(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    fields = password_grant(make_client())
    first, second = await token_for(client, fields), await token_for(client, fields)

    assert first != second
    for token in (first, second):
        assert (await client.post(WHOAMI, headers=bearer(token))).status_code == 200


@pytest.mark.parametrize(
    ("fields", "status", "error", "description"),
    [
        ({"username": "u", "password": "p"}, 400, "invalid_request", "The grant type was not specified"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type", '"client_credentials" not'),
        ({"grant_type": "password"}, 400, "invalid_request", 'Missing parameters: "username" and "password"'),
        ({"grant_type": "password", "username": "u"}, 400, "invalid_request", "Missing parameters"),
        ({"grant_type": "password", "username": "", "password": "p"}, 400, "invalid_request", "Missing"),
        (
            {"grant_type": "password", "username": "phc-nobody", "password": "p"},
            401,
            "invalid_grant",
            "Invalid",
        ),
    ],
)
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
async def test_bad_requests_get_oauth_errors(
    client: httpx.AsyncClient,
    fields: dict[str, str],
    status: int,
    error: str,
    description: str,
    encoding: str,
) -> None:
    body = {"data": fields} if encoding == "urlencoded" else {"files": multipart(fields)}

    answer = await client.post(TOKEN, **body)  # type: ignore[arg-type]

    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert description in answer.json()["error_description"]
    assert set(answer.json()) == {"error", "error_description"}  # the PHP client throws "Error: <error>"


async def test_a_wrong_secret_is_401_invalid_grant(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    answer = await client.post(TOKEN, data=password_grant(make_client(), "phs-wrong"))

    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid username and password combination.",
    }


async def test_a_revoked_client_gets_no_token(
    client: httpx.AsyncClient, make_client: MakeClient, database: Database
) -> None:
    credentials = make_client()
    with database.transaction() as conn:
        revoke_client(conn, credentials.client_id, utcnow())

    answer = await client.post(TOKEN, data=password_grant(credentials))

    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_grant", "error_description": "This client was revoked."}


@pytest.mark.parametrize(
    ("request_args", "status", "words"),
    [
        (
            {"content": b"grant_type=password", "headers": {"Content-Type": "text/plain"}},
            400,
            "not valid JSON",
        ),
        ({"json": ["grant_type", "password"]}, 400, "must be a form"),
        ({"files": {"grant_type": ("a.txt", b"password", "text/plain")}}, 400, "is a file"),
        ({"data": {"grant_type": "password", "padding": "x" * 5000}}, 413, "larger than 4096 bytes"),
    ],
)
async def test_bodies_that_are_no_form_are_invalid_requests(
    client: httpx.AsyncClient, request_args: dict, status: int, words: str
) -> None:
    answer = await client.post(TOKEN, **request_args)

    assert answer.status_code == status
    assert answer.json()["error"] == "invalid_request"
    assert words in answer.json()["error_description"]


async def test_only_post_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.get(TOKEN)

    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json()["error"] == "invalid_request"


# -- holding off wrong secrets ---------------------------------------------------------------------


async def test_repeated_wrong_secrets_hold_the_client_id_off_with_retry_after(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    credentials, other = make_client("attacked"), make_client("other")
    for _ in range(FAILURES_BEFORE_HOLD + 1):
        assert (await client.post(TOKEN, data=password_grant(credentials, "phs-guess"))).status_code == 401

    held = await client.post(TOKEN, data=password_grant(credentials))  # even the right secret waits

    assert held.status_code == 429
    assert held.json()["error"] == "slow_down"
    wait = int(held.headers["retry-after"])
    assert 29 <= wait <= 30  # the hold is 30 s from the last wrong secret
    assert held.json()["error_description"] == (
        f"Too many failed attempts for this client id: try again in {wait} seconds."
    )
    assert (await client.post(TOKEN, data=password_grant(other))).status_code == 200  # others are not held


# -- presented tokens, as the resource endpoint will read them -------------------------------------


async def test_a_token_is_read_from_the_query_a_form_field_or_a_bearer_header(
    client: httpx.AsyncClient, make_client: MakeClient
) -> None:
    token = await token_for(client, password_grant(make_client("reports")))
    request = '{"action": "read"}'

    ways = [
        client.post(WHOAMI, params={"access_token": token}, files=multipart({"request": request})),
        client.post(WHOAMI, files=multipart({"access_token": token, "request": request})),
        client.post(WHOAMI, data={"access_token": token, "request": request}),
        client.post(WHOAMI, json={"access_token": token, "action": "read"}),
        client.post(WHOAMI, headers=bearer(token), json={"action": "read"}),
        client.post(WHOAMI, params={"access_token": token}, headers=bearer(token)),  # twice, the same
    ]
    for way in ways:
        answer = await way
        assert answer.json() == {"actor": "oauth:reports"}, answer.text


def assert_token_error(answer: httpx.Response, status: int, error: str, description: str) -> None:
    """The seed's OAuthException 98 / 223, with the string error the PHP client refreshes on."""
    assert answer.status_code == status
    assert answer.json() == {
        "error": error,
        "error_description": description,
        **SEED_FIELDS,
        "error_subcode": 223,
    }
    assert answer.headers["www-authenticate"].startswith('Bearer realm="uniweb"')


async def test_an_expired_token_says_invalid_token_so_the_php_client_fetches_another(
    client: httpx.AsyncClient, make_client: MakeClient, database: Database
) -> None:
    credentials = make_client()
    with database.transaction() as conn:
        issued = issue_token(
            conn, credentials.client_id, credentials.secret, utcnow() - timedelta(hours=2), GrantPolicy()
        )
    assert isinstance(issued, IssuedToken)

    answer = await client.post(WHOAMI, params={"access_token": issued.access_token})

    assert_token_error(answer, 401, "invalid_token", "The access token has expired.")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    fresh = await token_for(client, password_grant(credentials))  # what the PHP client does next
    assert (await client.post(WHOAMI, params={"access_token": fresh})).status_code == 200


async def test_unknown_revoked_missing_and_ambiguous_tokens_are_refused(
    client: httpx.AsyncClient, make_client: MakeClient, database: Database
) -> None:
    credentials = make_client()
    token = await token_for(client, password_grant(credentials))
    other = await token_for(client, password_grant(make_client("other")))

    unknown = await client.post(WHOAMI, params={"access_token": "pha-made-up"})
    missing = await client.post(WHOAMI)
    ambiguous = await client.post(WHOAMI, params={"access_token": token}, headers=bearer(other))
    with database.transaction() as conn:
        revoke_client(conn, credentials.client_id, utcnow())
    revoked = await client.post(WHOAMI, headers=bearer(token))
    other_scheme = await client.post(WHOAMI, headers={"Authorization": f"Basic {other}"})

    assert_token_error(unknown, 401, "invalid_token", "The access token is not valid.")
    assert_token_error(revoked, 401, "invalid_token", "The access token's client was revoked.")
    assert_token_error(missing, 401, "invalid_request", "No access token was given.")
    assert missing.headers["www-authenticate"] == 'Bearer realm="uniweb"'
    assert_token_error(other_scheme, 401, "invalid_request", "No access token was given.")
    assert_token_error(ambiguous, 400, "invalid_request", "The request gives more than one access token.")


# -- secrets stay secret ---------------------------------------------------------------------------


async def test_secrets_and_tokens_are_never_logged(
    client: httpx.AsyncClient, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials = make_client()

    token = await token_for(client, password_grant(credentials))
    await client.post(TOKEN, files=multipart(password_grant(credentials)))
    await client.post(TOKEN, data=password_grant(credentials, credentials.secret + "x"))
    await client.post(WHOAMI, headers=bearer(token))
    await client.post(WHOAMI, headers=bearer(token + "x"))

    assert caplog.records  # something was logged: the check below has something to look at
    assert credentials.secret not in caplog.text
    assert token not in caplog.text
