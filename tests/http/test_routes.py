"""How requests find their routes: each dialect's routes behind its prefix (DialectRoutes), and endpoints
called directly (DirectRoute)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import NoMatchFound

from provisionhub.app import create_app
from provisionhub.http.routes import DirectRoute
from provisionhub.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("method", "url", "status", "says"),
    [
        ("GET", "/scim/v2/Nothing", 404, "schemas"),  # inside a dialect's prefix: its own format
        ("DELETE", "/scim/v2/Users", 405, "schemas"),
        ("GET", "/myon/nothing", 404, "message"),
        ("GET", "/scimmy", 404, "detail"),  # a prefix is a whole path segment: FastAPI's own answer
        ("GET", "/nothing", 404, "detail"),
    ],
)
async def test_a_path_no_route_serves_is_answered_by_the_dialect_that_owns_it(
    client: httpx.AsyncClient, method: str, url: str, status: int, says: str
) -> None:
    answer = await client.request(method, url)

    assert answer.status_code == status, answer.text
    assert says in answer.json()


async def test_the_applications_own_routes_are_served_behind_the_dialects(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert "/scim/v2/Users/{resource_id}" in (await client.get("/openapi.json")).json()["paths"]


async def test_a_direct_route_passes_the_request_and_path_parameters_by_name() -> None:
    async def endpoint(item_id: str, request: Request) -> Response:
        return JSONResponse({"item": item_id, "query": request.query_params.get("q")})

    def sync_endpoint(item_id: str) -> Response:  # run on a worker thread, as FastAPI would
        return JSONResponse({"sync": item_id})

    app = FastAPI()
    app.router.routes.append(DirectRoute("/items/{item_id}", endpoint, methods=["GET"]))
    app.router.routes.append(DirectRoute("/sync/{item_id}", sync_endpoint, methods=["GET"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/items/a1?q=x")).json() == {"item": "a1", "query": "x"}
        assert (await client.get("/sync/b2")).json() == {"sync": "b2"}
        assert (await client.post("/items/a1")).status_code == 405
    assert "/items/{item_id}" in app.openapi()["paths"]


def test_a_direct_route_refuses_an_endpoint_that_asks_for_more_than_it_passes() -> None:
    async def with_query(q: int) -> Response:
        return Response()

    async def with_dependency(value: str = Depends(lambda: "x")) -> Response:
        return Response()

    with pytest.raises(TypeError, match="only the request and path parameters"):
        DirectRoute("/q", with_query)
    with pytest.raises(TypeError, match="no dependencies"):
        DirectRoute("/d", with_dependency)


def test_a_dialects_route_is_found_by_its_name() -> None:
    app = create_app(Settings(database_url="sqlite://"))

    assert app.url_path_for("push") == "/opscom/api/OC_TOMA/v1/profiles/push"
    assert app.url_path_for("healthz") == "/healthz"
    with pytest.raises(NoMatchFound):
        app.url_path_for("no-such-route")
