"""create_app(settings): the ASGI application, assembled from the dialects over one directory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig

from provisionhub import __version__
from provisionhub.auth.authenticator import Authenticator
from provisionhub.auth.credentials import Credentials
from provisionhub.auth.oauth import GrantPolicy
from provisionhub.dialects.comanage.routes import comanage_dialect
from provisionhub.dialects.myon.routes import myon_dialect
from provisionhub.dialects.ocl.routes import ocl_dialect
from provisionhub.dialects.opscom.routes import opscom_dialect
from provisionhub.dialects.scim.routes import scim_dialect
from provisionhub.dialects.uniweb.routes import uniweb_dialect
from provisionhub.directory.service import Directory
from provisionhub.http.dialects import DialectsApp, serve_dialects
from provisionhub.http.route_permissions import public
from provisionhub.provisioning import retention
from provisionhub.provisioning.dispatcher import Dispatcher, Policy
from provisionhub.scheduler import every, run_periodically
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.upkeep import warn_about_upkeep

DESCRIPTION = (
    "One directory of people, many dialects in, many targets out. Each dialect lives under its own prefix "
    "and answers errors in its own wire format."
)

#: FastAPI's OpenTelemetry instrumentation, off: unless PROVISIONHUB_OPENTELEMETRY is set, each request
#: would ask whether a tracer, meter or logger provider was configured.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, database: Database | None = None) -> DialectsApp:
    """Build the application. Nothing connects until the first request or the lifespan starts."""
    settings = settings or Settings()
    database = database or Database.from_settings(settings)
    directory = Directory(database, Authenticator())
    credentials = Credentials(database, GrantPolicy.from_settings(settings), directory.now)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        database.start()
        await warn_about_upkeep(database)
        dispatcher = Dispatcher(database, Policy.from_settings(settings)) if settings.dispatch else None
        interval = settings.lifecycle_interval_seconds
        scheduler = asyncio.create_task(run_periodically(directory, interval)) if interval > 0 else None
        days = settings.retention_days
        pruning = (
            asyncio.create_task(
                every(
                    retention.INTERVAL_SECONDS,
                    "retention",
                    lambda: retention.prune_pass(database, days, directory.now),
                )
            )
            if days
            else None
        )
        try:
            if dispatcher is not None:
                dispatcher.start()
            yield
        finally:
            try:
                for task in (scheduler, pruning):
                    if task is not None:
                        task.cancel()
                        with suppress(asyncio.CancelledError):
                            await task
                if dispatcher is not None:
                    await dispatcher.stop()
            finally:
                database.dispose()

    app = DialectsApp(
        title="provisionhub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=None if settings.opentelemetry else NO_TELEMETRY,
    )

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="The process is up",
        openapi_extra=public("liveness: the process answers, nothing more"),
    )
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database answers",
        openapi_extra=public("readiness: whether the database answers, nothing more"),
    )
    async def readyz() -> JSONResponse:
        try:
            await database.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": database.dialect})

    serve_dialects(
        app,
        [
            opscom_dialect(directory, settings.max_body_bytes),
            myon_dialect(directory, settings.bulk_max_body_bytes),
            ocl_dialect(directory, credentials, settings.max_body_bytes),
            scim_dialect(directory, settings.max_body_bytes),
            uniweb_dialect(directory, credentials, settings.max_body_bytes),
            comanage_dialect(directory, credentials, settings.max_body_bytes),
        ],
        front_door=not settings.opentelemetry,  # the instrumentation is in the stack
    )
    return app
