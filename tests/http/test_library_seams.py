"""The internals of FastAPI, Starlette and uvicorn that http/ steps past their public API to use, each in the
shape and behaviour relied on. pyproject.toml pins these libraries below their next minor release: when an
upgrade moves one of these, the test named after it fails, before a request does."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import BaseRoute, Match, NoMatchFound, Route, Router
from starlette.types import Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG, Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from provisionhub.app import create_app
from provisionhub.http.dialects import Dialect, DialectsApp, RefuseBadTextInUrl, serve_dialects
from provisionhub.http.routes import DirectRoute
from provisionhub.http.server import HTTP_PROTOCOL, CoalescedTransport, HttpProtocol
from provisionhub.settings import Settings


async def _ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def _get(app: Any, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.get(path)


# -- Starlette ---------------------------------------------------------------------------------------


def test_starlette_get_route_path_is_the_path_below_the_root_path() -> None:
    # DialectRoutes.matches and FrontDoor.route (http/dialects.py): the path a route is matched against.
    assert list(inspect.signature(get_route_path).parameters) == ["scope"]
    assert get_route_path({"path": "/scim/v2/Users", "root_path": ""}) == "/scim/v2/Users"
    assert get_route_path({"path": "/hub/scim/v2/Users", "root_path": "/hub"}) == "/scim/v2/Users"
    assert get_route_path({"path": "/scim/v2/Users"}) == "/scim/v2/Users"


def test_starlette_route_has_its_path_param_convertors_and_path_regex() -> None:
    # DialectRoutes.__init__ (http/dialects.py): the routes a path without parameters can reach.
    for route_class in (Route, APIRoute):
        plain, with_id = route_class("/Users", _ok), route_class("/Users/{user_id}", _ok)
        assert plain.path == "/Users"
        assert plain.param_convertors == {}
        assert set(with_id.param_convertors) == {"user_id"}
        assert isinstance(plain.path_regex, re.Pattern)
        assert plain.path_regex.match("/Users")
        assert with_id.path_regex.match("/Users/abc")
        assert not with_id.path_regex.match("/Users")


def test_starlettes_router_hands_a_routes_child_scope_to_its_handle() -> None:
    # DialectRoutes (http/dialects.py) leaves the inner route it chose in the child scope of matches()
    # and takes it back in handle(); a PARTIAL match (the method, not the path, is wrong) is handled too.
    handled: list[tuple[str, Any]] = []

    class Chooser(BaseRoute):
        def __init__(self, match: Match) -> None:
            self.match = match

        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            return self.match, {"chosen": self.match.name}

        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            handled.append((scope["chosen"], scope["route"]))
            await PlainTextResponse("handled")(scope, receive, send)

        def url_path_for(self, name: str, /, **path_params: Any) -> Any:
            raise NoMatchFound(name, path_params)

    assert {m.name for m in Match} >= {"NONE", "PARTIAL", "FULL"}
    assert "name" in inspect.signature(BaseRoute.url_path_for).parameters
    for match in (Match.FULL, Match.PARTIAL):
        route = Chooser(match)
        answer = asyncio.run(_get(Router(routes=[Chooser(Match.NONE), route]), "/x"))
        assert answer.text == "handled"
        assert handled.pop() == (match.name, route)


# -- FastAPI -----------------------------------------------------------------------------------------


def test_fastapi_user_middleware_names_each_added_middlewares_class() -> None:
    # FrontDoor.route (http/dialects.py) stands aside when middleware other than RefuseBadTextInUrl was added;
    # FastAPI itself must add none to the application create_app builds.
    app = create_app(Settings(database_url="sqlite://"))
    assert [m.cls for m in app.user_middleware] == [RefuseBadTextInUrl]


def test_fastapi_exception_handlers_are_keyed_by_class_and_status_as_the_stack_reads_them() -> None:
    # FrontDoor.serve (http/dialects.py) answers an exception as the stack would: the handler of the
    # nearest class in the exception's MRO, and a bug by the handler for 500 (or Exception).
    def teapot(request: Request, exc: Exception) -> Response:
        return Response(status_code=418)

    def server_error(request: Request, exc: Exception) -> Response:
        return Response(status_code=500)

    app = FastAPI()
    app.add_exception_handler(KeyError, teapot)
    app.add_exception_handler(500, server_error)
    assert isinstance(app.exception_handlers, dict)
    assert app.exception_handlers[KeyError] is teapot
    assert app.exception_handlers[500] is server_error
    stack = app.build_middleware_stack()
    assert isinstance(stack, ServerErrorMiddleware)
    assert stack.handler is server_error


def test_fastapi_router_routes_is_the_list_the_router_matches_in_order() -> None:
    # serve_dialects (http/dialects.py) and bench/app.py put routes ahead of others in app.router.routes.
    app = FastAPI()
    app.add_api_route("/x", _ok)
    app.router.routes[:0] = [Route("/x", lambda request: PlainTextResponse("first"))]
    assert isinstance(app.router.routes, list)
    assert asyncio.run(_get(app, "/x")).text == "first"


def test_fastapi_openapi_lists_what_the_apps_routes_property_gives() -> None:
    # DialectsApp.routes (http/dialects.py): the dialects' routes, grouped in the router, still documented.
    router = APIRouter(prefix="/d", route_class=DirectRoute)
    router.add_api_route("/items/{item_id}", _ok, methods=["GET"])
    app = DialectsApp()
    serve_dialects(app, [Dialect("/d", router, lambda exc: Response(status_code=500))])
    assert "/d/items/{item_id}" in app.openapi()["paths"]


def test_fastapi_apiroute_exposes_its_dependant_and_is_served_by_its_app() -> None:
    # DirectRoute (http/routes.py) reads what its endpoint takes from self.dependant, and replaces
    # self.app, which Starlette's Route.handle calls.

    async def endpoint(item_id: str, request: Request) -> Response:
        return PlainTextResponse(item_id)

    async def with_query(q: int) -> Response:
        return PlainTextResponse(str(q))

    route = APIRoute("/items/{item_id}", endpoint)
    assert isinstance(route.dependant, Dependant)
    taken = route.dependant
    for name in ("query_params", "header_params", "cookie_params", "body_params", "dependencies"):
        assert getattr(taken, name) == []
    assert [p.name for p in taken.path_params] == ["item_id"]
    assert taken.request_param_name == "request"
    assert [p.name for p in APIRoute("/q", with_query).dependant.query_params] == ["q"]

    async def replaced(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("replaced")(scope, receive, send)

    route.app = replaced
    assert asyncio.run(_get(Router(routes=[route]), "/items/1")).text == "replaced"


def test_the_front_door_gives_an_endpoint_the_scope_the_stack_gives_but_its_own_bookkeeping() -> None:
    # FrontDoor.serve (http/dialects.py) sets app and router in the scope as Starlette and its router do;
    # a key the stack starts to add is a key an endpoint served by the front door would lack.
    seen: list[set[str]] = []

    async def endpoint(request: Request) -> Response:
        seen.append(set(request.scope))
        return JSONResponse({})

    for front_door in (True, False):
        router = APIRouter(prefix="/d", route_class=DirectRoute)
        router.add_api_route("/x", endpoint, methods=["GET"])
        app = DialectsApp()
        serve_dialects(app, [Dialect("/d", router, lambda exc: Response(status_code=500))])
        if not front_door:
            app.front = None
        assert asyncio.run(_get(app, "/d/x")).status_code == 200

    front, stack = seen
    assert front <= stack
    assert stack - front == {"starlette.exception_handlers", "fastapi_middleware_astack"}


# -- uvicorn -----------------------------------------------------------------------------------------


def test_uvicorn_takes_the_http_protocol_class_by_its_import_path() -> None:
    # `provisionhub serve` and bench/server.py hand uvicorn HTTP_PROTOCOL (http/server.py) as --http.
    config = Config(lambda scope, receive, send: None, http=HTTP_PROTOCOL, log_config=None)
    config.load()
    assert config.http_protocol_class is HttpProtocol


class _Socket(asyncio.Transport):
    """Where the socket would be: keeps each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


def test_uvicorns_httptools_protocol_answers_through_the_transport_it_holds_at_the_request() -> None:
    # HttpProtocol (http/server.py) swaps self.transport after uvicorn's connection_made, and uses
    # self.loop; uvicorn's request cycle, made when a request's headers are complete, writes through
    # the protocol's transport as it is then. The access log (http/access_log.py) gets the path with its
    # query string as one of its record's arguments.
    assert list(inspect.signature(HttpToolsProtocol.__init__).parameters)[:4] == [
        "self",
        "config",
        "server_state",
        "app_state",
    ]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("hello")(scope, receive, send)

    async def exchange() -> tuple[HttpProtocol, _Socket]:
        config = Config(app, http=HTTP_PROTOCOL, log_config=None)
        config.load()
        protocol = HttpProtocol(config, ServerState(), {}, _loop=asyncio.get_running_loop())
        assert protocol.loop is asyncio.get_running_loop()
        sock = _Socket()
        protocol.connection_made(sock)
        assert isinstance(protocol.transport, CoalescedTransport)
        protocol.data_received(b"GET /p?access_token=pha-x HTTP/1.1\r\nHost: t\r\n\r\n")
        assert protocol.cycle.transport is protocol.transport
        for _ in range(20):
            await asyncio.sleep(0)
        return protocol, sock

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    access = logging.getLogger("uvicorn.access")
    keep, level = Keep(), access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)
    try:
        _, sock = asyncio.run(exchange())
    finally:
        access.removeHandler(keep)
        access.setLevel(level)

    assert len(sock.writes) == 1  # the status line, headers and body: one write
    assert sock.writes[0].startswith(b"HTTP/1.1 200")
    assert sock.writes[0].endswith(b"hello")
    [record] = records
    assert isinstance(record.args, tuple)
    assert "/p?access_token=pha-x" in record.args


def test_uvicorns_logging_config_has_the_access_handler_the_filter_goes_on() -> None:
    # log_config (http/access_log.py) puts RedactCredentials on LOGGING_CONFIG's "access" handler.
    assert isinstance(LOGGING_CONFIG["handlers"]["access"], dict)
    assert "uvicorn.access" in LOGGING_CONFIG["loggers"]
