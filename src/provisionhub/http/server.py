"""The HTTP protocol `provisionhub serve` runs under uvicorn: uvicorn's own (httptools), each response sent
in one write.

uvicorn writes a response's status line and headers as soon as the application starts the response, and
its body when the application sends it: two writes, two TCP segments, for every answer. The application
sends both in the same turn of the event loop, so writes made in one turn are gathered here and handed to
the socket together when the turn ends. On loopback, where the kernel delivers each segment inside the
sending call, the second write was a fifth of a SCIM read's CPU (docs/benchmarks); on a network it is
one segment where there were two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescedTransport(asyncio.Transport):
    """A transport whose writes within one turn of the event loop reach the socket as one write, at the
    end of the turn (or when it is closed first). Everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand what was written to the socket now."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a CoalescedTransport (uvicorn's --http takes this class's path)."""

    # Seam, pinned: uvicorn's self.transport, read by each request's cycle (tests/http/test_library_seams.py).
    # The override narrows asyncio's BaseTransport to a Transport, as uvicorn's own does: a stream has one.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescedTransport(transport, self.loop)


#: What `provisionhub serve` gives uvicorn as its HTTP protocol, and bench/ its --http.
HTTP_PROTOCOL = f"{HttpProtocol.__module__}:{HttpProtocol.__qualname__}"
