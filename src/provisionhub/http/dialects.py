"""Serving several dialects from one app: each under its prefix, with its own error format.

Each dialect's routes join the one application as one route, DialectRoutes, which looks at a request's
path only when it starts with the dialect's prefix: a request is matched against its own dialect's routes,
not against every route of every dialect before it (a flat list of all 49 cost the SCIM read ~60 µs). A
mounted sub-application would run a second middleware stack on every request. What differs per dialect
is chosen by the request's path. CORS is set by the dialects that need it on their own answers, not by a
middleware every request pays for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from provisionhub.directory.errors import DirectoryError
from provisionhub.http.bodies import BodyError

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
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": asked or "Content-Type, Accept",
        "Access-Control-Max-Age": "600",
        "Vary": "Access-Control-Request-Headers",
    }
    return Response(status_code=200, headers=headers)


#: Where DialectRoutes.matches leaves the route it chose, for handle.
_CHOSEN = "provisionhub.route"


class DialectRoutes(BaseRoute):
    """A dialect's routes as one route of the application: a path outside prefix is refused at once,
    one inside is matched against these routes only, in order, as the application's router would."""

    def __init__(self, prefix: str, routes: list[BaseRoute]) -> None:
        self.prefix = prefix
        self.routes = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            return Match.NONE, {}
        partial: Scope | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child_scope, _CHOSEN: route}
            if match is Match.PARTIAL and partial is None:  # the path, not the method: 405 if none is FULL
                partial = {**child_scope, _CHOSEN: route}
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            inner
            for route in self.router.routes
            for inner in (route.routes if isinstance(route, DialectRoutes) else [route])
        ]


class RefuseNulInUrl:
    """Answers 400, in the owning dialect's error format, a request whose path or query string holds a
    NUL character: PostgreSQL cannot store or even compare one (looking up such an id was a 500), and no
    id or parameter holds one. Plain ASGI, not a BaseHTTPMiddleware: about a microsecond a request."""

    def __init__(self, app: ASGIApp, dialects: list[Dialect]) -> None:
        self.app = app
        self.dialects = dialects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            refusal = HTTPException(
                400, "the URL holds a NUL character (%00), which no id or parameter may hold"
            )
            owner = next((d for d in self.dialects if d.owns(scope["path"])), None)
            response = (
                owner.error_response(refusal)
                if owner is not None
                else JSONResponse({"detail": refusal.detail}, status_code=400)
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def serve_dialects(app: DialectsApp, dialects: list[Dialect]) -> None:
    """Add each dialect's routes under its prefix, and answer its errors in its own format."""

    async def answer(request: Request, exc: Exception) -> Response:
        for dialect in dialects:
            if dialect.owns(request.url.path):
                return dialect.error_response(exc)
        if isinstance(exc, HTTPException):  # a path no dialect serves: FastAPI's own answer
            return await http_exception_handler(request, exc)
        raise exc  # only dialects read bodies or call the directory: anything else here is a bug

    handled = {kind for dialect in dialects for kind in dialect.handled} | set(HANDLED)
    for kind in handled:
        app.add_exception_handler(kind, answer)
    app.add_middleware(RefuseNulInUrl, dialects=dialects)
    for dialect in dialects:
        if dialect.router.prefix != dialect.prefix:
            raise ValueError(f"the router of dialect {dialect.prefix} must be made with that prefix")
    # Ahead of the application's own routes (the documentation's, the probes'): the dialects take the
    # traffic, and a prefix is checked faster than a route.
    app.router.routes[:0] = [DialectRoutes(d.prefix, d.router.routes) for d in dialects]
