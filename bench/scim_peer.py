"""The SCIM benchmark's reference peer: scim2-server's ASGI application over its in-memory storage, with
the RFC 7643 schemas and resource types, accepting one static bearer token (BENCH_SCIM_PEER_TOKEN). The
outbound SCIM connector's tests serve it too (peer_app), in process."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scim2_models import ScimProvider, ServiceProviderConfig, UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from bench.server import AS_SERVE_SERVES, LOGGED, QUIET, Server, serve_app
from provisionhub.runtime import tune_for_serving

TOKEN_ENV = "BENCH_SCIM_PEER_TOKEN"  # noqa: S105 (the variable that holds it, not a token)
#: Where the peer serves SCIM (scim2-server's prefix), and its unauthenticated discovery document.
PREFIX = "/v2"
READY_PATH = f"{PREFIX}/ServiceProviderConfig"
PEER_APP = "bench.scim_peer:create_peer_app"


class BearerTokenASGIApplication(ASGIApplication):
    """scim2-server's ASGI application, refusing requests without the one bearer token (as its own
    `scim2-server --bearer-token` does over WSGI)."""

    def __init__(self, storage: AsyncInMemoryStorage, provider: ScimProvider, token: str) -> None:
        # The secret seals cursors, which the default configuration does not offer; drawn as the CLI does.
        super().__init__(storage, provider, ScimService(provider, secret=secrets.token_urlsafe(32)))
        self.token = token

    def check_auth(self, request: ScimRequest) -> None:
        """Refuse a request without the token."""
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token, self.token):
            raise UnauthorizedException


def create_peer_app() -> BearerTokenASGIApplication:
    """uvicorn --factory target: an empty in-memory peer, its token from the environment, with the process
    tuned as provisionhub's is under load (bench.app), so that neither side has a tuning the other lacks."""
    app = peer_app(os.environ[TOKEN_ENV])
    tune_for_serving()
    return app


def peer_app(token: str, config: ServiceProviderConfig | None = None) -> BearerTokenASGIApplication:
    """An empty in-memory peer accepting token, with the RFC 7643 schemas and resource types, and config
    as its ServiceProviderConfig (scim2-server's default: PATCH, bulk, filter, sort, ETags)."""
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=config or load_default_service_provider_config(),
    )
    return BearerTokenASGIApplication(AsyncInMemoryStorage(), provider, token)


@contextmanager
def serve_peer(token: str, log_path: Path, *, logged: bool = False) -> Iterator[Server]:
    """Start the peer under uvicorn as provisionhub is started (the same HTTP protocol: each response in
    one write; quiet or logged alike), accepting token; always stop it."""
    environment = {TOKEN_ENV: token}
    options = (*AS_SERVE_SERVES, *(LOGGED if logged else QUIET))
    with serve_app(PEER_APP, READY_PATH, environment, log_path, options, name="scim2-server") as server:
        yield server
