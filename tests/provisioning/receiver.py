"""A real HTTP receiver on loopback for deliveries: a small ASGI app under uvicorn, in a thread of the test
process. It records every request and answers from a script (status and headers), 200 by default.
serving() runs any ASGI app so (the SCIM peers)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Receiver:
    """The receiver's record and script. answers: (status, headers) to give, in turn; then `status`.
    delay: seconds each answer waits (a slow target)."""

    base: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    status: int = 200
    delay: float = 0.0
    #: Held while a request is recorded and its answer taken from the script (the server's thread).
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        for status in statuses:
            self.answers.append(status if isinstance(status, tuple) else (status, {}))

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait (letting the test's event loop run) until count requests have arrived; AssertionError
        after timeout."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")
            await asyncio.sleep(0.005)
        return list(self.requests)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["raw_path"].decode()
        with self.lock:
            self.requests.append(Received(scope["method"], path, headers, body, time.monotonic()))
            status, extra = self.answers.popleft() if self.answers else (self.status, {})
        if self.delay:
            await asyncio.sleep(self.delay)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    *((k.encode(), v.encode()) for k, v in extra.items()),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b'{"ok": true}' if status < 300 else b'{"error": "no"}'}
        )


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver listening on a free loopback port until the block ends."""
    receiver = Receiver()
    with serving(receiver) as base:
        receiver.base = base
        yield receiver


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """An ASGI app under uvicorn (options: more of uvicorn's configuration) on a free loopback port, in a
    thread, until the block ends; its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
