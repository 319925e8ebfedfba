"""UNIWeb fixtures: a small hold-off policy, OAuth clients, and an app with a route that only says who a
presented access token belongs to (the resource endpoint's way of reading tokens, tested alone)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import Request

from provisionhub.app import create_app
from provisionhub.auth.oauth import NewClient, create_client
from provisionhub.dialects.uniweb.access import access_token
from provisionhub.directory.access import Permission
from provisionhub.directory.service import utcnow
from provisionhub.http.bodies import read_fields
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest

TOKEN = "/uniweb/api/token.php"
WHOAMI = "/uniweb/api/whoami.php"
#: Wrong secrets a client id may send before it is held off, in these tests.
FAILURES_BEFORE_HOLD = 2

MakeClient = Callable[..., NewClient]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        max_body_bytes=4096,
        oauth_failures_before_hold=FAILURES_BEFORE_HOLD,
        oauth_hold_seconds=30,
        oauth_max_hold_seconds=120,
    )


@pytest.fixture
def make_client(database: Database) -> MakeClient:
    """make_client(name="reports", permissions=None, login_sources=None) -> the new client's id and
    secret."""

    def make(
        name: str = "reports",
        permissions: list[Permission] | None = None,
        login_sources: list[str] | None = None,
    ) -> NewClient:
        with database.transaction() as conn:
            return create_client(conn, name, permissions, utcnow(), login_sources=login_sources)

    return make


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app, plus POST /uniweb/api/whoami.php: the actor of the token the request presents."""
    app = create_app(settings, database)

    async def whoami(request: Request) -> dict[str, Any]:
        fields = await read_fields(request, settings.max_body_bytes) if await request.body() else None
        who = await DirectoryUnderTest(database).principal(access_token(request, utcnow(), fields))
        return {"actor": who.actor}

    app.add_api_route(WHOAMI, whoami, methods=["POST"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def password_grant(client: NewClient, secret: str | None = None) -> dict[str, str]:
    """The fields UNIWeb's PHP client posts for a token."""
    return {
        "grant_type": "password",
        "username": client.client_id,
        "password": client.secret if secret is None else secret,
    }


def multipart(fields: dict[str, str]) -> dict[str, tuple[None, str]]:
    """fields as httpx sends them multipart/form-data (as PHP's cURL does with an array body)."""
    return {name: (None, value) for name, value in fields.items()}
