"""create_app(settings): the ASGI application, assembled from the dialects over one directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from provisionhub import __version__
from provisionhub.dialects.opscom.routes import create_opscom_app
from provisionhub.directory.service import Directory
from provisionhub.settings import Settings
from provisionhub.store.database import Database

DESCRIPTION = (
    "One directory of people, many dialects in, many targets out. Each dialect lives under its own prefix "
    "and answers errors in its own wire format."
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the application. Nothing connects until the first request or the lifespan starts."""
    settings = settings or Settings()
    database = database or Database(
        settings.database_url, write_batch_size=settings.write_batch_size, write_mode=settings.write_mode
    )
    directory = Directory(database)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        database.start()
        try:
            yield
        finally:
            database.dispose()

    app = FastAPI(title="provisionhub", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.directory = directory

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers")
    async def readyz() -> JSONResponse:
        try:
            await database.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": database.dialect})

    dialects = {"/opscom": create_opscom_app(directory, settings.max_body_bytes)}
    for prefix, dialect in dialects.items():
        app.mount(prefix, dialect)
    app.openapi = lambda: _openapi(app, dialects)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, dialects: dict[str, FastAPI]) -> dict[str, Any]:
    """One OpenAPI document for the whole service: the dialects' paths under their prefixes."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for prefix, dialect in dialects.items():
            part = get_openapi(title=dialect.title, version=app.version, routes=dialect.routes)
            tag = prefix.strip("/")
            for path, operations in part.get("paths", {}).items():
                for operation in operations.values():
                    operation.setdefault("tags", [tag])
                schema["paths"][prefix + path] = operations
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(part.get("components", {}).get("schemas", {}))
        app.openapi_schema = schema
    return app.openapi_schema
