"""The application itself: liveness, readiness, how the dialects are put together, and the lifecycle it
runs in the background."""

from __future__ import annotations

import contextlib
import socket
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import anyio
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from provisionhub.app import create_app
from provisionhub.directory.changes import list_changes
from provisionhub.directory.people import Status
from provisionhub.directory.service import utcnow
from provisionhub.http.dialects import Dialect, serve_dialects
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest, outbox_events
from tests.factories import upsert

pytestmark = pytest.mark.anyio


async def test_healthz_and_readyz_on_a_reachable_database(
    client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": database_url.split(":")[0].split("+")[0]}


async def test_readyz_is_503_while_the_database_does_not_answer() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        alive = await http.get("/healthz")
        ready = await http.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "reason": "OperationalError"}


def test_a_dialect_whose_router_lacks_its_prefix_is_refused() -> None:
    """Its routes would be served outside the prefix its error format is scoped to."""
    router = APIRouter()  # made without the prefix
    router.add_api_route("/push", lambda: {}, methods=["POST"])
    dialect = Dialect("/elsewhere", router, lambda exc: JSONResponse({}, status_code=500))

    with pytest.raises(ValueError, match="/elsewhere"):
        serve_dialects(FastAPI(), [dialect])


def test_the_openapi_document_has_one_operation_id_per_operation() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        document = create_app(Settings(database_url="sqlite://")).openapi()

    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"/ocl/users/", "/ocl/user/", "/myon/users", "/opscom/api/OC_TOMA/v1/profiles/push"} <= set(
        document["paths"]
    )


@pytest.mark.parametrize("wanted", [False, True])
def test_fastapis_opentelemetry_is_on_only_when_asked_for(
    wanted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONHUB_OPENTELEMETRY", str(wanted).lower())
    app = create_app(Settings(database_url="sqlite://"))

    assert [app._telemetry[kind] for kind in ("tracing", "metrics", "logs")] == [wanted] * 3


# -- the lifecycle inside serve ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(database: Database, interval: float) -> AsyncIterator[None]:
    """The app's lifespan running over database, the lifecycle every interval seconds."""
    app = create_app(Settings(database_url=database.url, lifecycle_interval_seconds=interval), database)
    async with app.router.lifespan_context(app):
        yield


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until check() holds, looking every 10 ms; fail after seconds."""
    with anyio.fail_after(seconds):
        while not check():
            await anyio.sleep(0.01)


def due_person(database: Database) -> str:
    """A person made active yesterday whose valid_through went by an hour ago: the next pass expires them."""
    yesterday = DirectoryUnderTest(database, clock=lambda: utcnow() - timedelta(days=1))
    return yesterday.apply(upsert(valid_through=utcnow() - timedelta(hours=1)), "test").public_id


def status(database: Database, public_id: str) -> Status:
    with database.snapshot() as conn:
        return DirectoryUnderTest(database).find_person(conn, public_id).status


async def test_serve_applies_the_lifecycle_at_start_and_every_interval(database: Database) -> None:
    first = due_person(database)

    async with serving(database, interval=0.05):
        await eventually(lambda: status(database, first) is Status.EXPIRED)
        second = due_person(database)
        await eventually(lambda: status(database, second) is Status.EXPIRED)

    assert outbox_events(database, first) == outbox_events(database, second) == ["added", "expired"]
    with database.snapshot() as conn:
        actors = {c.actor for c in list_changes(conn, entity_type="person") if c.action == "status"}
    assert actors == {"lifecycle"}


async def test_an_interval_of_zero_leaves_the_lifecycle_to_cron(database: Database) -> None:
    person = due_person(database)

    async with serving(database, interval=0):
        await anyio.sleep(0.2)  # long enough for a pass, had one been started

    assert status(database, person) is Status.ACTIVE


async def test_a_failed_pass_is_logged_and_the_next_one_runs(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    person = due_person(database)
    with database.transaction() as conn:
        conn.exec_driver_sql("ALTER TABLE outbox RENAME TO outbox_away")  # every move would fail

    async with serving(database, interval=0.05):
        await eventually(lambda: "lifecycle: the pass failed" in caplog.text)
        assert status(database, person) is Status.ACTIVE  # rolled back whole
        with database.transaction() as conn:
            conn.exec_driver_sql("ALTER TABLE outbox_away RENAME TO outbox")
        await eventually(lambda: status(database, person) is Status.EXPIRED)

    assert outbox_events(database, person) == ["added", "expired"]
