"""Serving several dialects from one app: each under its prefix, with its own error format.

Each dialect's routes join the one application as one route, DialectRoutes, which looks at a request's
path only when it starts with the dialect's prefix: a request is matched against its own dialect's routes,
not against every route of every dialect before it (a flat list of all 49 made every SCIM read slower:
docs/benchmarks). A mounted sub-application would run a second middleware stack on every request. What
differs per dialect is chosen by the request's path. CORS is set by the dialects that need it on their own
answers, not by a middleware every request pays for.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette._utils import get_route_path  # Seam, pinned: tests/http/test_library_seams.py
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisionhub.directory.errors import DirectoryError
from provisionhub.http.bodies import BodyError, spelled_text_refusal
from provisionhub.http.openapi import hoist_definitions
from provisionhub.http.routes import DirectRoute

ErrorResponse = Callable[[Exception], Response]

#: Exceptions a dialect answers in its own format. Anything else is a bug: a 500.
HANDLED: tuple[type[Exception], ...] = (DirectoryError, BodyError, HTTPException)


@dataclass(frozen=True, slots=True)
class Dialect:
    """A wire format served under prefix: its routes (an APIRouter made with that prefix), how it words
    errors, and which exceptions it answers in its own format."""

    prefix: str
    router: APIRouter
    error_response: ErrorResponse
    handled: tuple[type[Exception], ...] = ()

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


#: CORS for an API any web page may call without credentials, as the seed's nginx sets it on every answer.
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}


def preflight(request: Request) -> Response:
    """The answer to a CORS preflight (OPTIONS) on a path that allows any origin."""
    asked = request.headers.get("access-control-request-headers")
    headers = {
        **ANY_ORIGIN,
        "Allow": "OPTIONS, POST",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": asked or "Content-Type, Accept",
        "Access-Control-Max-Age": "600",
        "Vary": "Access-Control-Request-Headers",
    }
    return Response(status_code=200, headers=headers)


#: Where DialectRoutes.matches leaves the route it chose, for handle.
# Seam, pinned: the router hands matches()' child scope to handle() (tests/http/test_library_seams.py).
_CHOSEN = "provisionhub.route"
#: Where DialectRoutes.matches leaves, for a path no route takes the method of, the methods it takes.
_ALLOWED = "provisionhub.allowed"


class DialectRoutes(BaseRoute):
    """A dialect's routes as one route of the application: a path outside prefix is refused at once,
    one inside is matched against these routes only, in order, as the application's router would."""

    def __init__(self, prefix: str, routes: list[BaseRoute]) -> None:
        self.prefix = prefix
        self.routes = routes
        # For each path without parameters (/Users, /Bulk), the routes whose pattern takes it, in order:
        # a request for it is matched against those alone, as if against all.
        self._by_path: dict[str, list[BaseRoute]] = {}
        # Seam, pinned: Route.param_convertors, path_regex (tests/http/test_library_seams.py).
        plain = [route for route in routes if isinstance(route, Route)]
        if len(plain) == len(routes):
            for route in plain:
                if not route.param_convertors:
                    self._by_path[route.path] = [r for r in plain if r.path_regex.match(route.path)]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            return Match.NONE, {}
        partial: Scope | None = None
        allowed: set[str] = set()
        for route in self._by_path.get(path, self.routes):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child_scope, _CHOSEN: route}
            if match is Match.PARTIAL:  # the path, not the method: 405 if none is FULL
                # Every route that takes the path says which methods: Allow lists them all, not the
                # first route's alone (several routes may share a path, one a method).
                allowed |= getattr(route, "methods", None) or set()
                if partial is None:
                    partial = {**child_scope, _CHOSEN: route}
        if partial is None:
            return Match.NONE, {}
        return Match.PARTIAL, {**partial, _ALLOWED: ", ".join(sorted(allowed))}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = scope.get(_ALLOWED)
        if allowed is not None:
            raise HTTPException(405, headers={"Allow": allowed})
        await scope[_CHOSEN].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


class DialectsApp(FastAPI):
    """FastAPI whose routes, as the OpenAPI document lists them, include each dialect's: its router
    holds them grouped (DialectRoutes)."""

    #: Set by serve_dialects: serves the dialects' DirectRoutes without the middleware stack.
    front: FrontDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None and scope["type"] == "http":
            found = self.front.route(scope)
            if found is not None:
                await self.front.serve(*found, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with the nested models of the bodies routes read themselves among its
        components, where their references point (http/openapi.py)."""
        if self.openapi_schema is None:
            self.openapi_schema = hoist_definitions(super().openapi())
        return self.openapi_schema

    # Seam, pinned: FastAPI's openapi() documents self.routes (tests/http/test_library_seams.py).
    @property
    def routes(self) -> list[BaseRoute]:
        return [
            inner
            for route in self.router.routes
            for inner in (route.routes if isinstance(route, DialectRoutes) else [route])
        ]


def url_refusal(scope: Scope) -> str | None:
    """Why a request's URL (path, query string) cannot be read as text, or None. A NUL: PostgreSQL cannot
    store or even compare one (looking up such an id was a 500), and no id or parameter holds one. Bytes
    that are not UTF-8 (%ED%A0%80): the server and Starlette replace them with U+FFFD, so an id or a
    parameter would silently be another. Every request pays for this check: it must cost next to nothing
    (docs/benchmarks)."""
    query: bytes = scope["query_string"]
    if "\x00" in scope["path"] or b"%00" in query:
        return "the URL holds a NUL character (%00), which no id or parameter may hold"
    raw: bytes = scope.get("raw_path") or b""
    if b"%" not in raw and b"%" not in query and raw.isascii() and query.isascii():
        return None  # most requests: nothing spelled beyond ASCII
    refusal = spelled_text_refusal(raw) or spelled_text_refusal(query)
    return None if refusal is None else f"the URL {refusal}"


class RefuseBadTextInUrl:
    """Answers 400, in the owning dialect's error format, a request whose URL cannot be read as text
    (url_refusal). Plain ASGI, not a BaseHTTPMiddleware, for every request pays for it."""

    def __init__(self, app: ASGIApp, dialects: list[Dialect]) -> None:
        self.app = app
        self.dialects = dialects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = url_refusal(scope) if scope["type"] == "http" else None
        if refused is not None:
            refusal = HTTPException(400, refused)
            owner = next((d for d in self.dialects if d.owns(scope["path"])), None)
            response = (
                owner.error_response(refusal)
                if owner is not None
                else JSONResponse({"detail": refusal.detail}, status_code=400)
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class FrontDoor:
    """Serves the requests for the dialects' DirectRoutes ahead of the application's middleware stack.

    FastAPI wraps every request in about ten layers (server errors, telemetry, body limits, exception
    handlers, exit stacks, the router): a measurable share of a SCIM create (docs/benchmarks), whose
    endpoint needs none of them. Here such a request is matched against its dialect's routes only and its
    endpoint called; what it raises is answered as the stack would answer it: by the application's
    exception handler for it (the dialects' own formats), else a 500 raised on to the server, which logs
    it. Every other request (the app's own routes, the dialects' FastAPI routes, a path no route matches,
    a URL that is not text) goes through the stack.

    It stands aside when the stack does more than it knows: when middleware other than RefuseBadTextInUrl
    was added, or the app runs in debug mode (decided at the first request, when Starlette builds its
    stack too).
    """

    def __init__(self, app: FastAPI, doors: list[tuple[Dialect, DialectRoutes]]) -> None:
        self.app = app
        self.doors = doors
        self._open: bool | None = None

    def route(self, scope: Scope) -> tuple[DirectRoute, Scope] | None:
        """The DirectRoute that serves a request, with what matching adds to its scope; None: the stack's."""
        if self._open is None:
            # Seam, pinned: FastAPI's user_middleware (tests/http/test_library_seams.py). Starlette types
            # Middleware.cls with the ParamSpec of Middleware.__init__, which no class can match for mypy.
            self._open = not self.app.debug and all(
                m.cls is RefuseBadTextInUrl  # type: ignore[comparison-overlap]
                for m in self.app.user_middleware
            )
        if not self._open or url_refusal(scope) is not None:
            return None
        path = get_route_path(scope)
        for dialect, routes in self.doors:
            if dialect.owns(path):
                match, child = routes.matches(scope)
                chosen = child.get(_CHOSEN)
                return (chosen, child) if match is Match.FULL and isinstance(chosen, DirectRoute) else None
        return None

    async def serve(
        self, route: DirectRoute, child: Scope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # Seam, pinned: the stack's scope, app.exception_handlers (tests/http/test_library_seams.py).
        scope["app"] = self.app
        scope["router"] = self.app.router
        scope.update(child)
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await route.app(scope, receive, sending)
        except Exception as exc:
            handlers = self.app.exception_handlers
            handler = next((handlers[k] for k in type(exc).__mro__ if k in handlers), None)
            if handler is None or handler is handlers.get(Exception):
                handler = handlers.get(500) or handlers.get(Exception)
                if not started:
                    response = await _answer(handler, Request(scope), exc) if handler else _SERVER_ERROR
                    await response(scope, receive, send)
                raise
            if started:
                raise
            await (await _answer(handler, Request(scope, receive), exc))(scope, receive, send)


_SERVER_ERROR = PlainTextResponse("Internal Server Error", status_code=500)


async def _answer(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    """An exception handler's response, as Starlette calls it: a plain function on a worker thread."""
    if inspect.iscoroutinefunction(handler):
        response: Response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    return response


def serve_dialects(app: FastAPI, dialects: list[Dialect], *, front_door: bool = True) -> None:
    """Add each dialect's routes under its prefix, and answer its errors in its own format.

    front_door: a DialectsApp serves the dialects' DirectRoutes ahead of its middleware (FrontDoor);
    False sends every request through the stack (where OpenTelemetry's instrumentation is).
    """

    async def answer(request: Request, exc: Exception) -> Response:
        for dialect in dialects:
            if dialect.owns(request.url.path):
                response = dialect.error_response(exc)
                if isinstance(exc, HTTPException) and exc.headers:
                    # A 405's Allow (and whatever else the router said) whatever the dialect's format.
                    for name, value in exc.headers.items():
                        response.headers.setdefault(name, value)
                return response
        if isinstance(exc, HTTPException):  # a path no dialect serves: FastAPI's own answer
            return await http_exception_handler(request, exc)
        raise exc  # only dialects read bodies or call the directory: anything else here is a bug

    handled = {kind for dialect in dialects for kind in dialect.handled} | set(HANDLED)
    for kind in handled:
        app.add_exception_handler(kind, answer)
    app.add_middleware(RefuseBadTextInUrl, dialects=dialects)
    for dialect in dialects:
        if dialect.router.prefix != dialect.prefix:
            raise ValueError(f"the router of dialect {dialect.prefix} must be made with that prefix")
    # Ahead of the application's own routes (the documentation's, the probes'): the dialects take the
    # traffic, and a prefix is checked faster than a route.
    grouped = [DialectRoutes(d.prefix, d.router.routes) for d in dialects]
    # Seam, pinned: app.router.routes, the list the router matches (tests/http/test_library_seams.py).
    app.router.routes[:0] = grouped
    if front_door and isinstance(app, DialectsApp):
        app.front = FrontDoor(app, list(zip(dialects, grouped, strict=True)))
