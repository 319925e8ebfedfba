"""Routes whose endpoints FastAPI need not call for them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoute(APIRoute):
    """An APIRoute whose endpoint takes the Request and its path parameters (by name) and returns a
    Response: it is called directly, without FastAPI's dependency solving and exit stacks (their cost:
    docs/benchmarks). The OpenAPI document describes it as it would any APIRoute; an endpoint that asks
    for anything else (a query parameter, a body, a dependency) is refused here."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # Seam, pinned: APIRoute.dependant; self.app, what handle() calls (tests/http/test_library_seams.py).
        taken = self.dependant
        if taken.query_params or taken.header_params or taken.cookie_params or taken.body_params:
            raise TypeError(f"{path}: a DirectRoute's endpoint takes only the request and path parameters")
        if taken.dependencies:
            raise TypeError(f"{path}: a DirectRoute's endpoint takes no dependencies")
        self.app = _asgi_app(endpoint, taken.request_param_name)


def _asgi_app(endpoint: Callable[..., Any], request_name: str | None) -> ASGIApp:
    """endpoint as an ASGI app: called with the request and its path parameters by name (a plain function
    on a worker thread, as FastAPI runs one), its response sent. What it raises is left to whoever called
    the app: the application's exception handlers, or the dialects' front door."""
    is_async = inspect.iscoroutinefunction(endpoint)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        arguments = dict(request.path_params)
        if request_name is not None:
            arguments[request_name] = request
        if is_async:
            response = await endpoint(**arguments)
        else:
            response = await run_in_threadpool(endpoint, **arguments)
        await response(scope, receive, send)

    return app
