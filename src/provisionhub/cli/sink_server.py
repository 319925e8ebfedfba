"""The sink's server (`provisionhub sink`): aiohttp, answering every call as an agreeable target does."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web


def run(host: str, port: int, status: int | None) -> None:
    """Serve until interrupted, printing each call; a line says when it listens."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{path:.*}", _Answerer(status).answer)
    listening = f"provisionhub sink: listening on http://{host}:{port}/ (Ctrl-C stops it)"
    # aiohttp calls print once the socket is bound: the line says it is ready.
    web.run_app(app, host=host, port=port, print=lambda _: print(listening, flush=True), access_log=None)


#: The statuses a call is answered with when --status does not say otherwise, by method.
STATUS_BY_METHOD = {"POST": 201, "DELETE": 204, "GET": 404}


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
