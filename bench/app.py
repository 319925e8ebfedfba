"""The app under load: provisionhub's create_app plus POST /bench/noop, the no-op ceiling."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from provisionhub.app import create_app
from provisionhub.dialects.opscom.routes import PREFIX
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import DialectRoutes
from provisionhub.runtime import tune_for_serving
from provisionhub.settings import Settings

NOOP_PATH = "/bench/noop"


def create_bench_app() -> FastAPI:
    """uvicorn --factory target: the product app (configured from PROVISIONHUB_*) and the no-op route,
    with the process tuned as `provisionhub serve` tunes it."""
    settings = Settings()
    app = create_app(settings)

    async def noop(request: Request) -> JSONResponse:
        await read_json(request, settings.max_body_bytes)  # the dialects' own body reader and parser
        return JSONResponse({"status": "success"})

    # Routes are matched in order: the no-op goes right before the OPS-COM dialect's routes, so that it
    # pays for the same routes ahead of it as the OPS-COM push (appended, it paid for every dialect's).
    app.add_api_route(NOOP_PATH, noop, methods=["POST"], include_in_schema=False)
    # Seam, pinned: app.router.routes, the list the router matches (tests/http/test_library_seams.py).
    routes = app.router.routes
    noop_route = routes.pop()
    opscom_at = next(
        i for i, route in enumerate(routes) if isinstance(route, DialectRoutes) and route.prefix == PREFIX
    )
    routes.insert(opscom_at, noop_route)

    tune_for_serving()  # as `provisionhub serve` does
    return app
