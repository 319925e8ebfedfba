"""Serving several dialects from one app: each under its prefix, with its own error format and CORS.

The dialects' routes join the one application (a mounted sub-application would run a second
middleware stack on every request); what differs per dialect is chosen by the request's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from provisionhub.directory.errors import DirectoryError
from provisionhub.http.bodies import BodyError

ErrorResponse = Callable[[Exception], Response]

#: Exceptions a dialect answers in its own format. Anything else is a bug: a 500.
HANDLED: tuple[type[Exception], ...] = (DirectoryError, BodyError, HTTPException)


@dataclass(frozen=True, slots=True)
class Dialect:
    """A wire format served under prefix: its routes, how it words errors, whether browsers may call it."""

    prefix: str
    router: APIRouter
    error_response: ErrorResponse
    handled: tuple[type[Exception], ...] = ()
    cors: bool = False

    def owns(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")


class PathCORS:
    """Starlette's CORS middleware (any origin, no credentials) for the given path prefixes only."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes
        self.cors = CORSMiddleware(
            app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], max_age=600
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(path == p or path.startswith(p + "/") for p in self.prefixes):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def serve_dialects(app: FastAPI, dialects: list[Dialect]) -> None:
    """Add each dialect's routes under its prefix, its error format and, where asked, CORS."""

    async def answer(request: Request, exc: Exception) -> Response:
        for dialect in dialects:
            if dialect.owns(request.url.path):
                return dialect.error_response(exc)
        if isinstance(exc, HTTPException):
            return await http_exception_handler(request, exc)
        status = 413 if "too large" in str(exc) or "larger than" in str(exc) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    handled = {kind for dialect in dialects for kind in dialect.handled} | set(HANDLED)
    for kind in handled:
        app.add_exception_handler(kind, answer)
    for dialect in dialects:
        app.include_router(dialect.router, prefix=dialect.prefix, tags=[dialect.prefix.strip("/")])
    prefixes = tuple(dialect.prefix for dialect in dialects if dialect.cors)
    if prefixes:
        app.add_middleware(PathCORS, prefixes=prefixes)
