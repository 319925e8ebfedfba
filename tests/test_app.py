"""The application itself: liveness, readiness, and how the dialects are put together."""

from __future__ import annotations

import socket
import warnings

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from provisionhub.app import create_app
from provisionhub.http.dialects import Dialect, serve_dialects
from provisionhub.settings import Settings

pytestmark = pytest.mark.anyio


async def test_healthz_and_readyz_on_a_reachable_database(
    client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": database_url.split(":")[0].split("+")[0]}


async def test_readyz_is_503_while_the_database_does_not_answer() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        alive = await http.get("/healthz")
        ready = await http.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "OperationalError"}


def test_a_dialect_whose_router_lacks_its_prefix_is_refused() -> None:
    """Its routes would be served outside the prefix its error format is scoped to."""
    router = APIRouter()  # made without the prefix
    router.add_api_route("/push", lambda: {}, methods=["POST"])
    dialect = Dialect("/elsewhere", router, lambda exc: JSONResponse({}, status_code=500))

    with pytest.raises(ValueError, match="/elsewhere"):
        serve_dialects(FastAPI(), [dialect])


def test_the_openapi_document_has_one_operation_id_per_operation() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        document = create_app(Settings(database_url="sqlite://")).openapi()

    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"/ocl/users/", "/ocl/user/", "/myon/users", "/opscom/api/OC_TOMA/v1/profiles/push"} <= set(
        document["paths"]
    )
