"""Routes whose endpoints FastAPI need not call for them."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint takes the Request and its path parameters (by name) and returns a
    Response: Starlette's request_response calls it directly, without FastAPI's dependency solving and
    exit stacks (~15 µs a request). The OpenAPI document describes it as it would any APIRoute; an
    endpoint that asks for anything else (a query parameter, a body, a dependency) is refused here."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        taken = self.dependant
        if taken.query_params or taken.header_params or taken.cookie_params or taken.body_params:
            raise TypeError(f"{path}: a DirectRoute's endpoint takes only the request and path parameters")
        if taken.dependencies:
            raise TypeError(f"{path}: a DirectRoute's endpoint takes no dependencies")
        self.app = _answering(_called_directly(endpoint, taken.request_param_name))


def _answering(call: Callable[[Request], Awaitable[Response] | Response]) -> ASGIApp:
    """The ASGI app of an endpoint: its response sent, its exceptions left to whoever called it (the
    application's exception handlers, or the dialect's front door)."""
    if inspect.iscoroutinefunction(call):

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await call(Request(scope, receive, send))  # type: ignore[misc]
            await response(scope, receive, send)

        return app

    async def app_sync(scope: Scope, receive: Receive, send: Send) -> None:
        response = await run_in_threadpool(call, Request(scope, receive, send))
        await response(scope, receive, send)  # type: ignore[operator]

    return app_sync


def _called_directly(
    endpoint: Callable[..., Any], request_name: str | None
) -> Callable[[Request], Awaitable[Response] | Response]:
    """endpoint as Starlette calls an endpoint: with the request, its path parameters by name."""
    if inspect.iscoroutinefunction(endpoint):

        async def call(request: Request) -> Response:
            arguments = dict(request.path_params)
            if request_name is not None:
                arguments[request_name] = request
            return await endpoint(**arguments)  # type: ignore[no-any-return]

        return call

    def call_sync(request: Request) -> Response:  # run on a worker thread, as FastAPI runs it
        arguments = dict(request.path_params)
        if request_name is not None:
            arguments[request_name] = request
        return endpoint(**arguments)  # type: ignore[no-any-return]

    return call_sync
