"""Serving several dialects from one app: each under its prefix, with its own error format.

The dialects' routes join the one application's own route list (a mounted sub-application would run
a second middleware stack on every request, and an included router a second routing pass: measured,
6 µs a request); what differs per dialect is chosen by the request's path. CORS is
set by the dialects that need it on their own answers, not by a middleware every request pays for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
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


def serve_dialects(app: FastAPI, dialects: list[Dialect]) -> None:
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
        app.router.routes.extend(dialect.router.routes)
