"""`provisionhub serve` (every dialect over HTTP), `provisionhub worker` (the deliveries alone) and
`provisionhub db`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from provisionhub.auth.tokens import any_token_exists, create_token
from provisionhub.cli.doors import database as _database
from provisionhub.cli.doors import err, fail
from provisionhub.directory.access import Permission
from provisionhub.directory.errors import Conflict
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.engine import sqlite_file
from provisionhub.store.migrate import upgrade

db_app = typer.Typer(help="The database: its schema, retention and backups.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="PEM certificate (chain) file: serve HTTPS with it.")
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option(help="PEM private key file, when the certificate file does not hold it.")
    ] = None,
) -> None:
    """Apply migrations, then serve every dialect over HTTP (HTTPS with a certificate)."""
    import uvicorn

    from provisionhub.app import create_app
    from provisionhub.http.access_log import log_config
    from provisionhub.http.server import HttpProtocol
    from provisionhub.runtime import tune_for_serving

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    certfile = ssl_certfile or settings.ssl_certfile
    keyfile = ssl_keyfile or settings.ssl_keyfile
    if keyfile and not certfile:
        fail("a key file without a certificate", "give --ssl-certfile (or PROVISIONHUB_SSL_CERTFILE) too")
    _upgrade()
    database = Database.from_settings(settings)
    _first_token(database, base_url(host, port, tls=certfile is not None))
    app = create_app(settings, database)
    tune_for_serving()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(),
        proxy_headers=False,
        http=HttpProtocol,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


def _first_token(database: Database, base: str) -> None:
    """On a database with no tokens at all, create an admin token and show it, once: on a terminal, printed;
    otherwise (stdout a log file, a service's journal) written to a file only its owner may read, whose
    path is printed, so that the token never lands in a log. base: where clients reach serve."""
    try:
        with database.transaction() as conn:
            if any_token_exists(conn):
                return
            secret = create_token(conn, "admin", [Permission.ADMIN], actor="serve")
    except Conflict:
        return  # another process made it first
    if sys.stdout.isatty():
        shown, used = f"It is shown only this once; keep it somewhere safe:\n\n    {secret}\n", secret
    else:
        kept = _keep_secret(_token_file(database), secret).resolve()
        shown = (
            f"It is in {kept}, readable only by you (not printed: this output is not a terminal).\n"
            "Keep it somewhere safe, then delete that file.\n"
        )
        used = f"'\"$(cat {kept})\"'"
    print(
        "\nprovisionhub: first start. Created the API token 'admin' (permission admin).\n"
        f"{shown}\n"
        "Try it:\n"
        f"    curl -s -X POST {base}/opscom/api/OC_TOMA/v1/profiles/types/list "
        f"-H 'Content-Type: application/json' -d '{{\"apiToken\": \"{used}\"}}'\n",
        flush=True,
    )


def _token_file(database: Database) -> Path:
    """Where the first token is kept when it is not printed: beside a SQLite database, else ./var/."""
    file = sqlite_file(database.url)
    return (file.parent if file is not None else Path("var")) / "admin-token"


def _keep_secret(path: Path, secret: str) -> Path:
    """Write secret to path, readable and writable by its owner only (mode 0600, whatever was there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(secret + "\n")
    return path


def base_url(host: str, port: int, *, tls: bool = False) -> str:
    """Where a client on this machine reaches serve listening on host and port (tls: over HTTPS)."""
    scheme = "https" if tls else "http"
    return f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    _upgrade()
    err.print("database is up to date")


def _upgrade() -> None:
    """Apply every pending migration; a database out of reach ends the command, saying so."""
    with _database(create=True) as database:
        upgrade(database.engine)


def worker() -> None:
    """Run the delivery dispatcher alone (no HTTP), until SIGTERM or SIGINT."""
    settings = Settings()
    _upgrade()
    database = Database.from_settings(settings)

    # Imported here: the dispatcher and its HTTP client are a quarter of the command line's start.
    from provisionhub.provisioning.dispatcher import Dispatcher, Policy

    async def run() -> None:
        database.start()
        dispatcher = Dispatcher(database, Policy.from_settings(settings))
        dispatcher.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        err.print(f"worker {dispatcher.name} delivering")
        await stop.wait()
        await dispatcher.stop()

    try:
        asyncio.run(run())
    finally:
        database.dispose()
