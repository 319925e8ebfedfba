"""The delivery pipeline against a real receiver: coalescing, order, retries, Retry-After, dead letters,
replay, pause and resume, tripping and probing, the rate limit."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import event, select, update

from provisionhub.directory.people import UpdatePerson
from provisionhub.directory.service import Directory
from provisionhub.provisioning.breaker import TRIP_MINIMUM
from provisionhub.provisioning.claims import next_due
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.overview import DeliveryInfo, attempts_of, list_deliveries
from provisionhub.provisioning.requeue import replay
from provisionhub.provisioning.targets import IdentifierType, Kind, set_paused
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken
from tests.factories import opscom_push
from tests.provisioning.conftest import FAST, new_person, new_target
from tests.provisioning.receiver import Receiver

pytestmark = pytest.mark.anyio


def rename(directory: Directory, public_id: str, given_name: str) -> None:
    directory.apply(UpdatePerson(public_id, {"given_name": given_name}), "test")


def pause(database: Database, name: str, paused: bool) -> None:
    with database.transaction() as conn:
        set_paused(conn, name, paused, "test", datetime.now(UTC))


def deliveries_of(database: Database, name: str) -> list[DeliveryInfo]:
    with database.snapshot() as conn:
        return list_deliveries(conn, name)


async def settled(database: Database, name: str, state: str, count: int = 1, timeout: float = 10) -> None:
    """Wait until count deliveries of the target are in state."""
    deadline = time.monotonic() + timeout
    while sum(d.state == state for d in deliveries_of(database, name)) < count:
        assert time.monotonic() < deadline, deliveries_of(database, name)
        await asyncio.sleep(0.02)


async def test_changes_queued_while_paused_go_out_as_one_delivery_of_the_newest_state(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    target = new_target(database, f"{receiver.base}/p", name="hr")
    pause(database, "hr", True)
    public_id = new_person(directory, given_name="One")
    for name in ("Two", "Three", "Four"):
        rename(directory, public_id, name)
    await asyncio.sleep(0.3)
    assert receiver.requests == []
    [pending] = deliveries_of(database, target.name)
    assert pending.state == "pending"

    pause(database, "hr", False)
    dispatcher.wake()
    [sent] = await receiver.wait_for(1)
    await asyncio.sleep(0.2)

    assert len(receiver.requests) == 1
    assert sent.json["person"]["names"][0]["given"] == "Four"
    assert sent.headers["x-provisionhub-sequence"] == "4"


async def test_one_persons_deliveries_go_out_one_at_a_time_in_order(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="ordered")
    receiver.delay = 0.3
    public_id = new_person(directory, given_name="First")
    await receiver.wait_for(1)
    rename(directory, public_id, "Second")  # while the first is being answered
    rename(directory, public_id, "Third")

    first, second = await receiver.wait_for(2)
    await settled(database, "ordered", "delivered", 2)

    assert second.at - first.at >= 0.29  # not sent before the first was answered
    assert [r.json["person"]["names"][0]["given"] for r in (first, second)] == ["First", "Third"]
    assert len(receiver.requests) == 2


async def test_failures_are_retried_with_backoff_and_every_attempt_is_recorded(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="flaky")
    receiver.answer(500, 502)
    new_person(directory)

    first, second, third = await receiver.wait_for(3)
    await settled(database, "flaky", "delivered")

    assert first.headers["x-provisionhub-event"] == third.headers["x-provisionhub-event"]
    [delivery] = deliveries_of(database, "flaky")
    assert delivery.attempts == 3
    with database.snapshot() as conn:
        tries = attempts_of(conn, delivery.id)
    assert [(t["status"], t["ok"]) for t in tries] == [(500, False), (502, False), (200, True)]
    assert tries[0]["next_attempt_at"] is not None
    assert tries[2]["next_attempt_at"] is None
    assert "HTTP 500" in tries[0]["error"]
    assert second.at - first.at >= 0.02  # a half of the first 0.05 s step at least
    assert third.at - second.at >= 0.04  # and of the doubled second


async def test_retry_after_is_honoured(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="busy")
    receiver.answer((429, {"Retry-After": "1"}))
    new_person(directory)

    first, second = await receiver.wait_for(2, timeout=15)

    assert second.at - first.at >= 0.95  # not the 0.05 s the backoff alone would wait


async def test_each_retry_waits_the_policys_backoff_exactly_and_a_longer_retry_after(
    client: httpx.AsyncClient, database: Database, receiver: Receiver, make_token: MakeToken
) -> None:
    new_target(database, f"{receiver.base}/p", name="flaky-then-busy")
    receiver.answer(500, 503, 502, (429, {"Retry-After": "1"}))
    whole_steps = Dispatcher(database, dataclasses.replace(FAST, jitter=lambda bottom, top: top))
    pushed = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push", json=opscom_push(make_token("user-create"))
    )
    assert pushed.status_code == 200, pushed.text

    whole_steps.start()
    try:
        await settled(database, "flaky-then-busy", "delivered", timeout=15)
    finally:
        await whole_steps.stop()

    attempts = tables.delivery_attempts
    with database.snapshot() as conn:
        tries = conn.execute(
            select(attempts.c.status, attempts.c.at, attempts.c.next_attempt_at).order_by(attempts.c.id)
        ).all()
    waits = [t.next_attempt_at - t.at if t.next_attempt_at else None for t in tries]
    # FAST: 0.05 s doubled each try, capped at 0.5 s; the 429's Retry-After (1 s) is longer than its 0.4 s.
    assert waits == [timedelta(seconds=s) for s in (0.05, 0.1, 0.2, 1.0)] + [None]
    assert [t.status for t in tries] == [500, 503, 502, 429, 200]


async def test_a_delivery_is_dead_after_max_attempts_and_replay_sends_it_again(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="down", max_attempts=2)
    receiver.status = 503
    new_person(directory)
    await settled(database, "down", "dead")
    assert len(receiver.requests) == 2

    receiver.status = 200
    with database.transaction() as conn:
        assert replay(conn, "down", "test", datetime.now(UTC)) == 1
    dispatcher.wake()

    await settled(database, "down", "delivered")
    assert len(receiver.requests) == 3


@pytest.mark.parametrize("kind", list(Kind))
async def test_a_targets_own_timeout_cuts_its_slow_calls_short(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher, kind: Kind
) -> None:
    assert FAST.timeout_seconds >= 5  # the dispatcher's own would wait out the receiver
    new_target(database, f"{receiver.base}/p", name="slow", kind=kind, timeout_seconds=0.2, max_attempts=1)
    receiver.delay = 1.0
    new_person(directory)

    await settled(database, "slow", "dead")

    [dead] = deliveries_of(database, "slow")
    with database.snapshot() as conn:
        [attempt] = attempts_of(conn, dead.id)
    assert "Timeout" in (dead.last_error or "")
    assert attempt["elapsed_ms"] < 900


async def test_a_person_without_the_identifier_is_dead_at_once(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(
        database, f"{receiver.base}/p", name="by-number", identifier_type=IdentifierType.EMPLOYEE_NUMBER
    )
    new_person(directory)

    await settled(database, "by-number", "dead")

    assert receiver.requests == []
    [dead] = deliveries_of(database, "by-number")
    assert dead.last_error is not None
    assert "employee_number" in dead.last_error


async def test_a_target_whose_calls_mostly_fail_trips_and_a_probe_resumes_it(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    target = new_target(database, f"{receiver.base}/p", name="failing", max_attempts=1)
    receiver.status = 500
    for _ in range(TRIP_MINIMUM + 2):
        new_person(directory)
    await settled(database, "failing", "dead", TRIP_MINIMUM)
    with database.snapshot() as conn:
        state = conn.execute(select(tables.targets.c.state).where(tables.targets.c.id == target.id)).scalar()
    assert state == "tripped"
    tried = len(receiver.requests)
    new_person(directory)
    await asyncio.sleep(0.4)
    assert len(receiver.requests) == tried  # tripped: nothing sent until the probe is due

    receiver.status = 200
    with database.transaction() as conn:  # the probe falls due now, not in 30 s
        conn.execute(
            update(tables.targets).where(tables.targets.c.id == target.id).values(probe_at=datetime.now(UTC))
        )
    dispatcher.wake()

    await settled(database, "failing", "delivered")
    with database.snapshot() as conn:
        state = conn.execute(select(tables.targets.c.state).where(tables.targets.c.id == target.id)).scalar()
    assert state == "active"


async def test_the_rate_limit_holds(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="slow", rate_limit=5)
    pause(database, "slow", True)
    for _ in range(10):
        new_person(directory)
    pause(database, "slow", False)
    dispatcher.wake()

    sent = await receiver.wait_for(10, timeout=15)

    # A burst of 5, then 5 a second: the tenth goes out a second after the first at the earliest.
    assert sent[-1].at - sent[0].at >= 0.9


async def test_the_first_target_starts_from_now_and_a_second_gets_what_is_not_yet_sent(
    database: Database, directory: Directory, receiver: Receiver
) -> None:
    """With no target, events wait undispatched; the first target added owes none of them (reprovision
    sends it everyone). A target added while events wait for the first gets them too."""
    before = new_person(directory)
    new_target(database, f"{receiver.base}/first", name="first")
    later = new_person(directory)
    new_target(database, f"{receiver.base}/second", name="second")
    database.start()
    dispatcher = Dispatcher(database, FAST)
    dispatcher.start()
    try:
        sent = await receiver.wait_for(2)
        await asyncio.sleep(0.3)
    finally:
        await dispatcher.stop()
        database.stop()

    assert sorted(r.path for r in receiver.requests) == [f"/first/{later}", f"/second/{later}"]
    assert all(before not in r.path for r in sent)


async def test_a_dispatcher_stopping_hands_back_what_it_is_still_sending(
    database: Database, directory: Directory, receiver: Receiver
) -> None:
    """A call still unanswered when the grace runs out is cancelled, and its delivery is pending again,
    unclaimed and not counted as a try: the next dispatcher sends it without waiting for a lease."""
    new_target(database, f"{receiver.base}/p", name="slow-answers")
    receiver.delay = 5.0
    database.start()
    dispatcher = Dispatcher(database, FAST)
    dispatcher.start()
    new_person(directory)
    await receiver.wait_for(1)

    await dispatcher.stop(grace_seconds=0.1)

    [handed_back] = deliveries_of(database, "slow-answers")
    assert (handed_back.state, handed_back.attempts) == ("pending", 0)
    with database.snapshot() as conn:
        claim = conn.execute(select(tables.deliveries.c.claimed_by, tables.deliveries.c.lease_until)).one()
    assert tuple(claim) == (None, None)

    receiver.delay = 0.0
    again = Dispatcher(database, FAST)
    again.start()
    try:
        await settled(database, "slow-answers", "delivered")
    finally:
        await again.stop()
        database.stop()
    assert len(receiver.requests) == 2


async def test_a_paused_targets_backlog_is_not_due_and_leaves_the_dispatcher_asleep(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="held")
    pause(database, "held", True)
    new_person(directory)
    await asyncio.sleep(0.3)  # the commit's wake-up has been served
    with database.snapshot() as conn:
        assert next_due(conn) is None  # pending, due, but not to be claimed
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        await asyncio.sleep(1.0)
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    # Asleep, it looks once every idle_seconds (0.2 s here), a few statements a look; a dispatcher that
    # took the backlog for due work looked again at once, thousands of statements a second.
    assert len(statements) < 100, len(statements)
    assert receiver.requests == []

    pause(database, "held", False)
    with database.snapshot() as conn:
        assert next_due(conn) is not None
    dispatcher.wake()
    await receiver.wait_for(1)
