"""A delivery sink for the delivery benchmark: answers every call 200 and keeps when each arrived.

GET /stats?since=N answers the arrivals from the N-th on as [[method, path, unix time], ...]; GET /sample
the first call's headers (less those of the connection) and body, as {"headers": {...}, "body": ...}.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import orjson

Scope = dict[str, Any]
#: Headers of the connection and the body's framing, which the sender's client sets itself.
_CONNECTION_HEADERS = frozenset(
    {b"host", b"content-length", b"content-type", b"connection", b"accept-encoding", b"user-agent"}
)


def create_sink() -> Any:
    """uvicorn --factory target."""
    arrivals: list[tuple[str, str, float]] = []
    sample: dict[str, Any] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        received = []
        while True:
            message = await receive()
            received.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        if scope["path"] == "/sample":
            body = orjson.dumps(sample)
        elif scope["path"] == "/stats":
            since = int(parse_qs(scope["query_string"].decode()).get("since", ["0"])[0])
            body = orjson.dumps(arrivals[since:])
        elif scope["path"] == "/ready":
            body = b"{}"
        else:
            arrivals.append((scope["method"], scope["path"], time.time()))
            if not sample:
                sample["headers"] = {
                    name.decode(): value.decode()
                    for name, value in scope["headers"]
                    if name.lower() not in _CONNECTION_HEADERS
                }
                sample["body"] = orjson.loads(b"".join(received))
            body = b"{}"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    return app
