"""`provisionhub sink`, run as a process on loopback: what it answers, and what it prints."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.conftest import free_port


@contextmanager
def sink(log: Path, *options: str) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "provisionhub.cli", "sink", "--port", str(port), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while "listening" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def test_the_sink_answers_as_an_agreeable_target_and_prints_each_call(tmp_path: Path) -> None:
    log = tmp_path / "sink.log"
    with sink(log) as base:
        put = httpx.put(f"{base}/people/ada", json={"person": {"meta": {"id": "ada"}}})
        post = httpx.post(f"{base}/Users", json={"userName": "ada"})
        delete = httpx.delete(f"{base}/Users/1")
        get = httpx.get(f"{base}/ServiceProviderConfig")

    assert (put.status_code, put.json()) == (200, {"person": {"meta": {"id": "ada"}}})
    assert post.status_code == 201
    assert post.json()["userName"] == "ada"
    assert post.json()["id"]
    assert delete.status_code == 204
    assert get.status_code == 404
    printed = log.read_text().splitlines()
    assert printed[1:] == [
        "PUT /people/ada -> 200",
        '  {"person":{"meta":{"id":"ada"}}}',
        "POST /Users -> 201",
        '  {"userName":"ada"}',
        "DELETE /Users/1 -> 204",
        "GET /ServiceProviderConfig -> 404",
    ]


def test_the_sink_answers_every_call_with_the_status_it_is_given(tmp_path: Path) -> None:
    with sink(tmp_path / "sink.log", "--status", "503") as base:
        answer = httpx.put(f"{base}/people/ada", content=b"not json")

    assert answer.status_code == 503
    assert "PUT /people/ada -> 503\n  not json\n" in (tmp_path / "sink.log").read_text()
