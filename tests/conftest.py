"""Fixtures: a migrated database on SQLite and on PostgreSQL, the app, an HTTP client, factories.

PostgreSQL tests run when PROVISIONHUB_TEST_DATABASE_URL names a server (`make test` sets it when one
answers). Each session gets a database of its own there, created and dropped around the run. Under
CI=true a run without PostgreSQL fails: CI must not go green on SQLite alone.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from sqlalchemy import create_engine, insert, select, text
from typer.testing import CliRunner

from devtools.scratch import scratch_postgres_database
from provisionhub import cli as cli_module
from provisionhub.app import create_app
from provisionhub.auth.authenticator import Authenticator
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.operations import Clock, Operations, utcnow
from provisionhub.directory.service import Directory
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

PG_ENV = "PROVISIONHUB_TEST_DATABASE_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: The backends the storage tests run on; PROVISIONHUB_TEST_BACKENDS=sqlite narrows them (`make mutate`
#: does, so that PostgreSQL does not double every mutant's run).
BACKENDS_ENV = "PROVISIONHUB_TEST_BACKENDS"
BACKENDS = [name.strip() for name in os.environ.get(BACKENDS_ENV, "sqlite,postgresql").split(",")]


def pytest_sessionstart(session: pytest.Session) -> None:
    if not set(BACKENDS) <= {"sqlite", "postgresql"}:
        raise pytest.UsageError(f"{BACKENDS_ENV} names sqlite, postgresql or both (comma-separated)")
    if IN_CI and "postgresql" in BACKENDS and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"CI=true but {PG_ENV} is not set: the PostgreSQL tests would be skipped")


def shared_file(*parts: str) -> Path:
    """A file of shared/, the folder beside the checkout; found as well from a copy of tests/ deeper
    below it (`make mutate` runs one in mutants/)."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if folder.joinpath("shared", *parts).exists():
            return folder.joinpath("shared", *parts)
    return here.parents[2].joinpath("shared", *parts)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


# -- server-level databases, made once per session -------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (copying beats migrating every time)."""
    path = tmp_path_factory.mktemp("template") / "provisionhub.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]]]]:
    """A migrated PostgreSQL database for the session, and the rows the migrations put in it."""
    with scratch_postgres_database(postgres_server, "provisionhub_test") as url:
        database = Database(url)
        upgrade(database.engine)
        with database.engine.connect() as conn:
            seeded = {
                t.name: [dict(r) for r in conn.execute(select(t)).mappings()]
                for t in tables.metadata.sorted_tables
            }
        database.dispose()
        yield url, seeded


def _reset_postgres(url: str, seeded: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in tables.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in tables.metadata.sorted_tables:
            if seeded[table.name]:
                conn.execute(insert(table), seeded[table.name])
    engine.dispose()


# -- the per-test database -------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "provisionhub.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, seeded = request.getfixturevalue("postgres_template")
    _reset_postgres(url, seeded)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


class DirectoryUnderTest(Directory):
    """The Directory, with the database it runs on at hand for a test's own setup and checks (dialects
    never get it: they reach the directory through its door alone)."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        super().__init__(database, Authenticator(), clock)
        self.database = database

    def __getattr__(self, name: str) -> Any:
        """The directory's operations inside a test's own transaction (directory.upsert_people(conn, ...)),
        without the door's authorization: for setting up what a test is about."""
        return getattr(self._operations, name)


@pytest.fixture
def directory(database: Database) -> DirectoryUnderTest:
    return DirectoryUnderTest(database)


@pytest.fixture
def operations() -> Operations:
    """The directory's commands inside a test's own transaction, without the door's authorization."""
    return Operations()


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No dispatcher in the dialects' tests: its queries would mix with theirs (tests/provisioning runs one).
    return Settings(
        database_url=database_url, max_body_bytes=65_536, bulk_max_body_bytes=1_048_576, dispatch=False
    )


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process, its lifespan (the write queue) running."""
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


# -- the command line -------------------------------------------------------------------------------

Cli = Callable[..., Result]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """cli("token", "list", code=0): run the command line in process on the test's database, expecting
    the exit code; a wide terminal, so that tables' cells and messages are not wrapped."""
    monkeypatch.setenv("PROVISIONHUB_DATABASE_URL", database_url)
    monkeypatch.setattr(cli_module.out, "width", 250)
    monkeypatch.setattr(cli_module.err, "width", 250)
    runner = CliRunner()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> Result:
        result = runner.invoke(cli_module.app, list(args), input=stdin)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run


# -- factories -------------------------------------------------------------------------------------

MakeToken = Callable[..., str]


@pytest.fixture
def make_token(database: Database) -> MakeToken:
    """make_token("user-create", login_sources=None, name=None, account=None) -> the token's secret."""

    def make(
        *permissions: str,
        login_sources: list[str] | None = None,
        name: str | None = None,
        account: str | None = None,
    ) -> str:
        with database.transaction() as conn:
            return create_token(
                conn,
                name or f"token-{uuid.uuid4().hex[:8]}",
                [Permission(p) for p in permissions],
                login_sources,
                account=account,
            )

    return make


def count_rows(database: Database, table: Any) -> int:
    with database.snapshot() as conn:
        return len(conn.execute(select(table)).all())


def outbox_events(database: Database, public_id: str) -> list[str]:
    """The outbox's events for one person, oldest first."""
    outbox, people = tables.outbox, tables.people
    with database.snapshot() as conn:
        return list(
            conn.execute(
                select(outbox.c.event)
                .join_from(outbox, people, outbox.c.person_id == people.c.id)
                .where(people.c.public_id == public_id)
                .order_by(outbox.c.id)
            ).scalars()
        )
