"""SCIM service providers on loopback for the SCIM connector's tests, each under uvicorn in a thread:
provisionhub's own /scim/v2 (a second app, on a SQLite database of its own) and the reference peer
scim2-server. Each notes the method and path of every request the connector makes (those that carry its
X-Provisionhub-Event header: a test's own reads and writes are not noted)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from scim2_models import Patch
from scim2_server.utils import load_default_service_provider_config

from bench.scim_peer import peer_app
from provisionhub.app import create_app
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from tests.provisioning.receiver import serving

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


class Recording:
    """An ASGI app that notes the method and path of each request of the connector's, then passes every
    request on to app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(name == b"x-provisionhub-event" for name, _ in scope["headers"]):
            self.calls.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@dataclass
class Peer:
    """A SCIM service provider under test: its name, SCIM base URL, bearer token, and the (method, path)
    of each request the connector made, the SCIM prefix taken off (("PATCH", "/Users/...")). A test reads
    and writes its Users here, over HTTP, as any client would."""

    name: str
    base: str
    token: str
    calls: list[tuple[str, str]] = field(default_factory=list)
    prefix: str = ""

    def requests(self) -> list[tuple[str, str]]:
        return [(method, path.removeprefix(self.prefix)) for method, path in self.calls]

    async def user(self, remote_id: str) -> tuple[int, dict[str, Any]]:
        """The status of a GET of the User, and the User (or the error) it answered."""
        response = await self._call("GET", f"/Users/{remote_id}")
        return response.status_code, response.json()

    async def users(self) -> list[dict[str, Any]]:
        response = await self._call("GET", "/Users")
        assert response.status_code == 200, response.text
        return list(response.json().get("Resources", []))

    async def create_user(self, user_name: str, **attributes: Any) -> str:
        """A User made at the peer directly; its id."""
        document = {"schemas": [USER], "userName": user_name, **attributes}
        response = await self._call("POST", "/Users", document)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def delete_user(self, remote_id: str) -> None:
        response = await self._call("DELETE", f"/Users/{remote_id}")
        assert response.status_code == 204, response.text

    async def _call(self, method: str, path: str, body: Any | None = None) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await client.request(
                method, self.base + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
            )


@contextmanager
def provisionhub_peer(database_path: Path, template: Path) -> Iterator[Peer]:
    """provisionhub serving SCIM from a copy of a migrated SQLite database at database_path, with a token
    that may read, create, update and delete Users."""
    shutil.copyfile(template, database_path)
    url = f"sqlite:///{database_path}"
    database = Database(url)
    with database.transaction() as conn:
        permissions = [
            Permission.USER_READ,
            Permission.USER_CREATE,
            Permission.USER_UPDATE,
            Permission.USER_DELETE,
        ]
        token = create_token(conn, "scim-connector", permissions)
    database.dispose()
    recording = Recording(create_app(Settings(database_url=url, dispatch=False)))
    with serving(recording) as base:
        yield Peer("provisionhub", f"{base}/scim/v2", token, recording.calls, "/scim/v2")


@contextmanager
def scim2_server_peer(*, patch: bool = True) -> Iterator[Peer]:
    """scim2-server over its in-memory storage; patch: whether its ServiceProviderConfig says it supports
    PATCH (it refuses a PATCH with 501 when not)."""
    config = load_default_service_provider_config()
    if not patch:
        config = config.model_copy(update={"patch": Patch(supported=False)})
    token = secrets.token_urlsafe(16)
    recording = Recording(peer_app(token, config))
    with serving(recording) as base:
        yield Peer("scim2-server", f"{base}/v2", token, recording.calls, "/v2")
