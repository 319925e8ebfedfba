"""`provisionhub sink`: a receiver to point a target at, on this machine, that prints every call it gets.

For trying provisionhub out (the README's tour, `provisionhub demo`) and for watching what a target would be
sent. It answers as an agreeable target does: 201 with the body given back (and an `id`, so a SCIM
target links to it) for a POST, 204 for a DELETE, the body given back for a PUT or PATCH, and 404 for a
GET (no SCIM discovery: the SCIM connector then sends every attribute). `--status` answers every call with
another status instead, to watch retries (5xx), dead letters (4xx) or a paused target (401).
"""

from __future__ import annotations

from typing import Annotated

import typer


def sink(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    status: Annotated[
        int | None,
        typer.Option(min=200, max=599, help="Answer every call with this status (default: as targets do)."),
    ] = None,
) -> None:
    """Listen for deliveries and print each: method, path, the status answered, then its JSON body."""
    # Imported here: the other commands start without aiohttp.
    from provisionhub.cli.sink_server import run

    run(host, port, status)
