"""End to end: `provisionhub serve` as a real process on loopback, from an empty database."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import BACKENDS, count_rows, fresh_postgres_database
from tests.dialects.opscom.test_push import PUSH, seed_request_body
from tests.factories import opscom_push

CLI = [sys.executable, "-m", "provisionhub.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `provisionhub serve` process; its stdout and stderr go to a file."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.env = {**os.environ, "PROVISIONHUB_DATABASE_URL": database_url}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port)], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
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
    with fresh_postgres_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    server = Server(empty_database_url, tmp_path / "serve.log")
    server.start()
    yield server
    server.stop()


def first_token(output: str) -> str:
    found = re.findall(r"^\s+(ph-[A-Za-z0-9]{40})$", output, flags=re.M)
    assert len(found) == 1, output
    return found[0]


def test_first_start_migrates_prints_an_admin_token_once_and_serves(server: Server) -> None:
    token = first_token(server.output())
    assert f'"apiToken": "{token}"' in server.output()  # the curl example uses it
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    assert "/opscom/api/OC_TOMA/v1/profiles/push" in httpx.get(f"{server.base}/openapi.json").json()["paths"]
    assert httpx.get(f"{server.base}/docs").status_code == 200

    server.stop()
    server.start()
    assert server.output().count(token) == 2  # the banner and its curl line, from the first start only
    assert len(re.findall(r"first start", server.output())) == 1


def test_the_seed_raw_request_succeeds_with_a_cli_token(server: Server, empty_database_url: str) -> None:
    server.cli("user-type", "add", "6", "Demo")
    token = server.cli("token", "create", "banner", "--permission", "user-create").strip()
    body = seed_request_body().replace("YOUR-API-TOKEN", token)
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Cache-Control": "no-cache"}

    first = httpx.post(f"{server.base}{PUSH}", content=body, headers=headers)
    again = httpx.post(f"{server.base}{PUSH}", content=body, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "success"
    assert again.json() == first.json()
    server.stop()
    for secret in ("1901-01-31", "QC 99999999", "NYNY", token):
        assert secret not in server.output()


def test_concurrent_pushes_are_each_durable(server: Server, empty_database_url: str) -> None:
    token = server.cli("token", "create", "load", "--permission", "user-create").strip()
    bodies = [opscom_push(token) for _ in range(60)]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            return await asyncio.gather(*(http.post(PUSH, json=body) for body in bodies))

    responses = asyncio.run(send_all())

    assert [r.status_code for r in responses] == [200] * 60
    assert len({r.json()["reference_id"] for r in responses}) == 60
    database = Database(empty_database_url)
    try:
        assert count_rows(database, tables.people) == 60
        assert count_rows(database, tables.outbox) == 60
    finally:
        database.dispose()
