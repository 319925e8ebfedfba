"""How requests find their routes: each dialect's routes behind its prefix (DialectRoutes), endpoints
called directly (DirectRoute), and those served ahead of the middleware stack (FrontDoor)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from provisionhub.app import create_app
from provisionhub.http.dialects import Dialect, DialectsApp, serve_dialects
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


# -- the front door: a dialect's DirectRoutes served ahead of the middleware stack ---------------------


class Teapot(Exception):
    """An error the test dialect answers in its own format."""


def _dialect_app(**routes: Exception | None) -> DialectsApp:
    """A DialectsApp serving one dialect under /d, its DirectRoutes at /d/{name}: each says whether it
    ran inside the middleware stack (whose exception middleware leaves its handlers in the scope)."""
    router = APIRouter(prefix="/d", route_class=DirectRoute)
    for name, outcome in routes.items():
        router.add_api_route(f"/{name}", _endpoint(outcome), methods=["GET"], name=name)

    def error_response(exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 418
        return JSONResponse({"dialect": type(exc).__name__}, status_code=status)

    app = DialectsApp()
    serve_dialects(app, [Dialect("/d", router, error_response, handled=(Teapot,))])
    return app


def _endpoint(outcome: Exception | None) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if outcome is not None:
            raise outcome
        return JSONResponse({"stack": "starlette.exception_handlers" in request.scope})

    return endpoint


async def _get(app: DialectsApp, path: str, *, raise_app_exceptions: bool = True) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_a_dialects_direct_route_is_served_ahead_of_the_middleware_stack() -> None:
    app = _dialect_app(ok=None)

    assert (await _get(app, "/d/ok")).json() == {"stack": False}
    assert (await _get(app, "/healthz-is-not-here")).status_code == 404  # the app's own: the stack's


async def test_the_front_door_answers_errors_as_the_stack_does() -> None:
    routes = {"teapot": Teapot(), "gone": HTTPException(410), "bug": RuntimeError("a bug")}
    front, stack = _dialect_app(**routes), _dialect_app(**routes)
    stack.front = None

    for app in (front, stack):
        teapot, gone = await _get(app, "/d/teapot"), await _get(app, "/d/gone")
        assert (teapot.status_code, teapot.json()) == (418, {"dialect": "Teapot"})
        assert (gone.status_code, gone.json()) == (410, {"dialect": "HTTPException"})
        with pytest.raises(RuntimeError, match="a bug"):  # raised on to the server, which logs it
            await _get(app, "/d/bug")
        bug = await _get(app, "/d/bug", raise_app_exceptions=False)
        assert (bug.status_code, bug.text) == (500, "Internal Server Error")


async def test_the_front_door_stands_aside_for_middleware_it_does_not_know() -> None:
    seen: list[str] = []

    class Counting:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen.append(scope["path"])
            await self.app(scope, receive, send)

    app = _dialect_app(ok=None)
    app.add_middleware(Counting)

    assert (await _get(app, "/d/ok")).json() == {"stack": True}
    assert seen == ["/d/ok"]


async def test_a_url_holding_a_nul_is_refused_by_the_stack_even_on_a_direct_route() -> None:
    app = _dialect_app(ok=None)

    answer = await _get(app, "/d/ok?x=%00")

    assert (answer.status_code, answer.json()) == (400, {"dialect": "HTTPException"})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/scim/v2/Users", b'{"userName": "ada"}'),  # no token: 401
        ("POST", "/scim/v2/Users", b"{not json"),
        ("GET", "/scim/v2/Users/no-such-user", None),
        ("GET", "/scim/v2/ServiceProviderConfig", None),
        ("PUT", "/scim/v2/ServiceProviderConfig", b"{}"),  # 405
        ("GET", "/scim/v2/Nothing", None),
    ],
)
async def test_scim_answers_the_same_with_and_without_the_front_door(
    method: str, path: str, body: bytes | None
) -> None:
    answers = []
    for front_door in (True, False):
        app = create_app(Settings(database_url="sqlite://", dispatch=False))
        if not front_door:
            app.front = None
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.request(method, path, content=body)
        answers.append((answer.status_code, answer.headers.get("content-type"), answer.json()))

    assert answers[0] == answers[1]
    assert answers[0][0] != 500


def test_with_opentelemetry_every_request_goes_through_the_instrumented_stack() -> None:
    assert create_app(Settings(database_url="sqlite://")).front is not None
    assert create_app(Settings(database_url="sqlite://", opentelemetry=True)).front is None


async def test_the_front_door_calls_plain_function_exception_handlers_as_the_stack_does() -> None:
    """A handler the app registers (a plain function, run on a worker thread) answers through the front
    door too; one registered for Exception answers a bug with its own 500, which is still raised on."""

    def teapot(request: Request, exc: Exception) -> Response:
        return JSONResponse({"registered": type(exc).__name__}, status_code=418)

    def server_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"bug": str(exc)}, status_code=500)

    routes = {"teapot": Teapot(), "bug": RuntimeError("a bug")}
    front, stack = _dialect_app(**routes), _dialect_app(**routes)
    stack.front = None
    for app in (front, stack):
        app.add_exception_handler(Teapot, teapot)
        app.add_exception_handler(Exception, server_error)

    for app in (front, stack):
        answer = await _get(app, "/d/teapot")
        assert (answer.status_code, answer.json()) == (418, {"registered": "Teapot"})
        bug = await _get(app, "/d/bug", raise_app_exceptions=False)
        assert (bug.status_code, bug.json()) == (500, {"bug": "a bug"})
        with pytest.raises(RuntimeError, match="a bug"):
            await _get(app, "/d/bug")
