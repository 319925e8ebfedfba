"""A delivery sink for the delivery benchmark: answers every call 200 and keeps when each arrived.

GET /stats?since=N answers the arrivals from the N-th on as [[method, path, unix time], ...].
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import orjson

Scope = dict[str, Any]


def create_sink() -> Any:
    """uvicorn --factory target."""
    arrivals: list[tuple[str, str, float]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        if scope["path"] == "/stats":
            since = int(parse_qs(scope["query_string"].decode()).get("since", ["0"])[0])
            body = orjson.dumps(arrivals[since:])
        elif scope["path"] == "/ready":
            body = b"{}"
        else:
            arrivals.append((scope["method"], scope["path"], time.time()))
            body = b"{}"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    return app
