"""End-to-end fixtures: `provisionhub serve` as a real process on loopback, from an empty database."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.scratch import scratch_postgres_database
from tests.conftest import BACKENDS

CLI = [sys.executable, "-m", "provisionhub.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `provisionhub serve` process; its stdout and stderr go to a file."""

    def __init__(
        self,
        database_url: str,
        log: Path,
        *args: str,
        scheme: str = "http",
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.env = {**os.environ, "PROVISIONHUB_DATABASE_URL": database_url}
        self.port = free_port()
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.log = log
        self.args = args  # more options for serve
        self.verify = verify  # how clients check its certificate (a CA file), over HTTPS
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port), *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,  # what it keeps beside itself (a first token on PostgreSQL) stays there
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1, verify=self.verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not become ready:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'provisionhub.db'}"
        return
    with scratch_postgres_database(request.getfixturevalue("postgres_server"), "provisionhub_test") as url:
        yield url


@pytest.fixture
def server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(empty_database_url, tmp_path / "serve.log")
    server.start()
    yield server
    server.stop()
