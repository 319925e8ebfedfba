"""Deliveries survive a killed server, and several workers share the queue without sending twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade
from tests.conftest import DirectoryUnderTest
from tests.e2e.conftest import CLI, Server
from tests.e2e.test_serve import first_token
from tests.factories import opscom_push
from tests.provisioning.conftest import new_person, new_target
from tests.provisioning.receiver import Receiver, receiving

FAST_RETRIES = {
    "PROVISIONHUB_DELIVERY_LEASE_SECONDS": "1",
    "PROVISIONHUB_DELIVERY_BACKOFF_SECONDS": "0.1",
    "PROVISIONHUB_DELIVERY_BACKOFF_MAX_SECONDS": "0.5",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


def people_received(receiver: Receiver) -> Counter[str]:
    """How many times each person's message arrived (by the path's identifier)."""
    return Counter(r.path.rsplit("/", 1)[-1] for r in list(receiver.requests))


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_server_killed_with_deliveries_in_flight_delivers_every_event_after_restart(
    empty_database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    server = Server(empty_database_url, tmp_path / "serve.log")
    server.env.update(FAST_RETRIES)
    server.start()
    token = first_token(server.output())
    server.cli("target", "add", "sink", "--kind", "apiprovisioner", "--url", f"{receiver.base}/people")
    receiver.delay = 3.0  # every answer takes 3 s: the deliveries are in flight when the server dies
    pushed = []
    for _ in range(20):
        body = opscom_push(token)
        answer = httpx.post(f"{server.base}/opscom/api/OC_TOMA/v1/profiles/push", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        pushed.append(answer.json())
    wait_until(lambda: len(receiver.requests) >= 1, 10, "no delivery started")

    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    receiver.delay = 0.0
    server.start()

    try:
        wait_until(
            lambda: len(people_received(receiver)) == 20, 30, f"delivered: {people_received(receiver)}"
        )
    finally:
        server.stop()
    assert len(receiver.requests) >= 20  # some more than once: the receiver drops them by event id


def test_two_workers_share_the_queue_and_never_send_one_delivery_twice(
    empty_database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    database = Database(empty_database_url)
    upgrade(database.engine)
    new_target(database, f"{receiver.base}/people", name="shared")
    # Leases long enough that a loaded machine's slow renewal never lets one run out: a run-out lease is
    # the one way a delivery goes out twice (at least once, as after the kill above).
    leases = {"PROVISIONHUB_DELIVERY_LEASE_SECONDS": "10"}
    env = {**os.environ, "PROVISIONHUB_DATABASE_URL": empty_database_url, **FAST_RETRIES, **leases}
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = [
        subprocess.Popen([*CLI, "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        for log in logs
    ]
    try:
        # Both up and listening (a loaded machine may take seconds to start one).
        wait_until(
            lambda: all("delivering" in log.read_text(errors="replace") for log in logs),
            60,
            "the workers did not start",
        )
        directory = DirectoryUnderTest(database)
        for _ in range(200):
            new_person(directory)
        wait_until(
            lambda: len(people_received(receiver)) == 200,
            60,
            "\n".join(log.read_text(errors="replace")[-2000:] for log in logs),
        )
        time.sleep(0.5)  # a second copy of any delivery would arrive now
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(20)
        database.dispose()

    assert all(worker.returncode == 0 for worker in workers), [log.read_text() for log in logs]
    events = Counter(r.headers["x-provisionhub-event"] for r in receiver.requests)
    assert max(events.values()) == 1
    assert set(people_received(receiver).values()) == {1}
