"""The app under load: provisionhub's create_app plus POST /bench/noop, the no-op ceiling."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from provisionhub.app import create_app
from provisionhub.http.bodies import read_json
from provisionhub.runtime import tune_for_serving
from provisionhub.settings import Settings

NOOP_PATH = "/bench/noop"


def create_bench_app() -> FastAPI:
    """uvicorn --factory target: the product app (configured from PROVISIONHUB_*) and the no-op route,
    with the process tuned as `provisionhub serve` tunes it."""
    settings = Settings()
    app = create_app(settings)

    @app.post(NOOP_PATH, include_in_schema=False)
    async def noop(request: Request) -> JSONResponse:
        await read_json(request, settings.max_body_bytes)  # the dialects' own body reader and parser
        return JSONResponse({"status": "success"})

    tune_for_serving()  # as `provisionhub serve` does
    return app
