"""`provisionhub sink`: a receiver to point a target at, on this machine, that prints every call it gets.

For trying provisionhub out (the README's tour, `provisionhub demo`) and for watching what a target would be
sent. It answers as an agreeable target does: 201 with the body given back (and an `id`, so a SCIM
target links to it) for a POST, 204 for a DELETE, the body given back for a PUT or PATCH, and 404 for a
GET (no SCIM discovery: the SCIM connector then sends every attribute). `--status` answers every call with
another status instead, to watch retries (5xx), dead letters (4xx) or a paused target (401).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
import typer
from aiohttp import web

#: The statuses a call is answered with when --status does not say otherwise, by method.
STATUS_BY_METHOD = {"POST": 201, "DELETE": 204, "GET": 404}


def sink(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    status: Annotated[
        int | None,
        typer.Option(min=200, max=599, help="Answer every call with this status (default: as targets do)."),
    ] = None,
) -> None:
    """Listen for deliveries and print each: method, path, the status answered, then its JSON body."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{path:.*}", _Answerer(status).answer)
    listening = f"provisionhub sink: listening on http://{host}:{port}/ (Ctrl-C stops it)"
    # aiohttp calls print once the socket is bound: the line says it is ready.
    web.run_app(app, host=host, port=port, print=lambda _: print(listening, flush=True), access_log=None)


class _Answerer:
    def __init__(self, status: int | None) -> None:
        self.status = status

    async def answer(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = _json(raw)
        status = self.status or STATUS_BY_METHOD.get(request.method, 200)
        print(f"{request.method} {request.path_qs} -> {status}", flush=True)
        if raw:
            shown = orjson.dumps(body).decode() if body is not None else raw.decode(errors="replace")
            print(f"  {shown}", flush=True)
        if status == 204 or status >= 300 or request.method == "GET":
            return web.Response(status=status)
        answer = dict(body) if isinstance(body, dict) else {}
        if request.method == "POST":
            answer.setdefault("id", str(uuid.uuid4()))
        return web.Response(status=status, body=orjson.dumps(answer), content_type="application/json")


def _json(raw: bytes) -> Any:
    """The body as JSON, or None when it is empty or not JSON."""
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
