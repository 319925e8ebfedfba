"""The HTTP protocol `provisionhub serve` runs: uvicorn's, each response handed to the socket in one write.
Served for real on loopback; the coalescing itself seen on a transport that records its writes."""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from provisionhub.http.server import CoalescedTransport, HttpProtocol
from tests.provisioning.receiver import serving

BIG = bytes(range(256)) * 8192  # 2 MiB: more than a socket takes at once, so the transport pauses writing


async def _json(request: Request) -> Response:
    return JSONResponse({"path": request.url.path, "body": (await request.body()).decode()})


async def _stream(_: Request) -> Response:
    async def chunks() -> Any:
        for n in range(50):
            yield f"chunk {n}\n".encode()
            if n % 10 == 0:
                await asyncio.sleep(0.001)  # the next chunks in a later turn of the loop

    return StreamingResponse(chunks(), media_type="text/plain")


async def _big(_: Request) -> Response:
    return Response(BIG, media_type="application/octet-stream")


async def _empty(_: Request) -> Response:
    return Response(status_code=204)


APP = Starlette(
    routes=[
        Route("/json", _json, methods=["GET", "POST", "HEAD"]),
        Route("/stream", _stream),
        Route("/big", _big),
        Route("/empty", _empty),
    ]
)


def test_answers_are_whole_over_one_kept_alive_connection() -> None:
    with serving(APP, http=HttpProtocol, loop="uvloop") as base, httpx.Client(base_url=base) as client:
        for n in range(20):
            answer = client.post("/json", content=f"request {n}")
            assert answer.json() == {"path": "/json", "body": f"request {n}"}
        assert client.get("/stream").text == "".join(f"chunk {n}\n" for n in range(50))
        assert client.get("/big").content == BIG
        assert (client.get("/empty").status_code, client.get("/empty").content) == (204, b"")
        head = client.head("/json")
        assert (head.status_code, head.content) == (200, b"")
        assert client.get("/json").json()["path"] == "/json"  # the connection still serves after all that


def test_a_response_arrives_whole_when_the_client_asks_to_close() -> None:
    with serving(APP, http=HttpProtocol, loop="uvloop") as base:
        parts = urlsplit(base)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
            sock.sendall(b"GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"connection: close" in head.lower()
    assert body == b'{"path":"/json","body":""}'


class _Recording(asyncio.Transport):
    """A transport that keeps what it is given: where the socket would be."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


@pytest.mark.anyio
async def test_writes_within_one_turn_of_the_loop_go_out_as_one() -> None:
    underlying = _Recording()
    transport = CoalescedTransport(underlying, asyncio.get_running_loop())

    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.writelines([b"body, ", b"more"])
    assert underlying.writes == []  # not before the turn ends
    await asyncio.sleep(0)
    transport.write(b"next turn")
    transport.write(b"")
    await asyncio.sleep(0)
    transport.write(b"written, then closed")
    transport.close()

    assert underlying.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody, more", b"next turn", b"written, then closed"]
    assert underlying.closed
    await asyncio.sleep(0)  # the turn's flush finds nothing left to write
    assert len(underlying.writes) == 3


@pytest.mark.anyio
async def test_what_waits_for_the_end_of_the_turn_counts_as_buffered_and_an_abort_drops_it() -> None:
    underlying = _Recording()
    transport = CoalescedTransport(underlying, asyncio.get_running_loop())

    transport.write(b"12345")
    assert transport.get_write_buffer_size() == 5
    transport.abort()
    await asyncio.sleep(0)

    assert underlying.writes == []
    assert underlying.closed
