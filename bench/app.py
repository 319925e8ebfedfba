"""The app under load: provisionhub's create_app plus POST /bench/noop, the no-op ceiling."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from provisionhub.app import create_app
from provisionhub.settings import Settings

NOOP_PATH = "/bench/noop"


def create_bench_app() -> FastAPI:
    """uvicorn --factory target: the product app (configured from PROVISIONHUB_*) and the no-op route."""
    app = create_app(Settings())

    @app.post(NOOP_PATH, include_in_schema=False)
    async def noop(request: Request) -> JSONResponse:
        json.loads(await request.body())
        return JSONResponse({"status": "success"})

    return app
