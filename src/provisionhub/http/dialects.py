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
from fastapi.responses import Response
from starlette.exceptions import HTTPException

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
    for dialect in dialects:
        if dialect.router.prefix != dialect.prefix:
            raise ValueError(f"the router of dialect {dialect.prefix} must be made with that prefix")
        app.router.routes.extend(dialect.router.routes)
