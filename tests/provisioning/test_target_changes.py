"""A target's settings edited and its secret rotated: checked as adding checks them, logged without the
secret, and in use by a running dispatcher from its next delivery, without a restart."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Invalid, NotFound
from provisionhub.directory.service import Directory
from provisionhub.provisioning.claims import claim, next_due
from provisionhub.provisioning.deliveries import Outcome, new_delivery
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.fanout import dispatch_events
from provisionhub.provisioning.settlement import settle
from provisionhub.provisioning.target_changes import (
    EditTarget,
    Unsent,
    edit_target,
    remove_target,
    rotate_secret,
)
from provisionhub.provisioning.targets import (
    Auth,
    Credentials,
    IdentifierType,
    Mode,
    State,
    Target,
    find_target,
)
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person, new_target
from tests.provisioning.receiver import Receiver


def edit(database: Database, name: str, **changes: Any) -> tuple[Target, dict[str, Any]]:
    with database.transaction() as conn:
        return edit_target(conn, EditTarget(name, **changes), "test", datetime.now(UTC))


def rotate(database: Database, name: str, secret: str) -> Target:
    with database.transaction() as conn:
        return rotate_secret(conn, name, secret, "test", datetime.now(UTC))


def target_changes(database: Database) -> list[tuple[str, dict[str, Any]]]:
    with database.snapshot() as conn:
        return [(c.action, dict(c.fields)) for c in list_changes(conn, entity_type="target")]


def test_an_edit_changes_only_what_it_gives_and_logs_old_and_new(database: Database) -> None:
    before = new_target(database, "http://a.example/p/", name="hr", rate_limit=5, max_attempts=3)

    after, changed = edit(database, "hr", url="https://b.example/q/", mode=Mode.POST, rate_limit=None)

    assert changed == {"url": ("http://a.example/p", "https://b.example/q"), "mode": ("put", "post"),
                       "rate_limit": (5, None)}  # fmt: skip
    assert (after.url, after.mode, after.rate_limit) == ("https://b.example/q", Mode.POST, None)
    assert (after.max_attempts, after.identifier_type, after.kind) == (3, before.identifier_type, before.kind)
    assert target_changes(database)[-1] == ("edit", {k: list(v) for k, v in changed.items()})


def test_an_edit_to_what_is_already_so_changes_and_logs_nothing(database: Database) -> None:
    new_target(database, "http://a.example", name="hr", max_attempts=3)

    _, changed = edit(database, "hr", max_attempts=3, url="http://a.example/")

    assert changed == {}
    assert [action for action, _ in target_changes(database)] == ["create"]


def test_an_edit_is_checked_as_an_added_target_is(database: Database) -> None:
    new_target(database, "http://a.example", name="hr")
    new_target(database, "http://b.example", name="lms")

    for changes, field in [
        ({"url": "ftp://a.example"}, "url"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"timeout_seconds": 0.0}, "timeout_seconds"),
        ({"upsert_method": "PATCH"}, "upsert_method"),
        ({"new_name": " "}, "name"),
    ]:
        with pytest.raises(Invalid) as refused:
            edit(database, "hr", **changes)
        assert refused.value.field == field
    with pytest.raises(Conflict):
        edit(database, "hr", new_name="lms")
    with pytest.raises(Invalid):
        edit(database, "hr")  # nothing to change
    with pytest.raises(NotFound):
        edit(database, "nobody", max_attempts=2)


def test_a_rename_moves_the_target_to_its_new_name(database: Database) -> None:
    new_target(database, "http://a.example", name="hr")

    edit(database, "hr", new_name="  people  ")

    with database.snapshot() as conn:
        assert find_target(conn, "people").url == "http://a.example"
        with pytest.raises(NotFound):
            find_target(conn, "hr")


def test_new_credentials_and_a_rotated_secret_are_logged_masked(database: Database) -> None:
    new_target(database, "https://a.example", name="hr")

    _, changed = edit(database, "hr", credentials=Credentials(Auth.BASIC, "registry", "first-s3cret"))
    rotated = rotate(database, "hr", "second-s3cret")
    _, dropped = edit(database, "hr", credentials=Credentials(Auth.NONE))

    assert changed == {"auth": ("none", "basic"), "username": (None, "registry"), "secret": (None, "***")}
    assert (rotated.auth, rotated.username, rotated.secret) == (Auth.BASIC, "registry", "second-s3cret")
    assert dropped == {"auth": ("basic", "none"), "username": ("registry", None), "secret": ("***", None)}
    logged = target_changes(database)
    assert logged[2] == ("rotate", {"secret": ["***", "***"]})
    assert "s3cret" not in str(logged)


def test_a_target_without_credentials_has_no_secret_to_rotate(database: Database) -> None:
    new_target(database, "http://a.example", name="hr")

    with pytest.raises(Invalid) as refused:
        rotate(database, "hr", "s3cret")

    assert refused.value.field == "auth"


@pytest.mark.anyio
async def test_a_running_dispatcher_sends_the_next_delivery_as_edited(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/old", name="hr", username="registry", secret="first")
    new_person(directory)
    [first] = await receiver.wait_for(1)

    edit(
        database,
        "hr",
        url=f"{receiver.base}/new",
        timeout_seconds=0.5,
        identifier_type=IdentifierType.USERNAME,
    )
    rotate(database, "hr", "second")
    new_person(directory, username="grace")
    second = (await receiver.wait_for(2))[1]

    assert first.path.startswith("/old/")
    assert first.headers["authorization"] == "Basic cmVnaXN0cnk6Zmlyc3Q="  # registry:first
    assert second.path == "/new/grace"
    assert second.headers["authorization"] == "Basic cmVnaXN0cnk6c2Vjb25k"  # registry:second


@pytest.mark.anyio
async def test_an_edited_rate_limit_holds_from_the_next_delivery(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", name="hr", rate_limit=1)
    new_person(directory)
    await receiver.wait_for(1)  # the bucket of 1 a second is empty now

    edit(database, "hr", rate_limit=100)
    started = time.monotonic()
    for _ in range(4):
        new_person(directory)
    await receiver.wait_for(5)

    assert time.monotonic() - started < 2  # at 1 a second the last would wait 4 s


def remove(database: Database, name: str, force: bool = False) -> int:
    with database.transaction() as conn:
        return remove_target(conn, name, force, "test", datetime.now(UTC))


def states(database: Database, target: Target) -> list[tuple[str, str | None]]:
    deliveries = tables.deliveries
    with database.snapshot() as conn:
        rows = conn.execute(
            select(deliveries.c.state, deliveries.c.last_error)
            .where(deliveries.c.target_id == target.id)
            .order_by(deliveries.c.id)
        ).all()
    return [tuple(row) for row in rows]


def fan_out(database: Database) -> tuple[int, bool]:
    with database.transaction() as conn:
        return dispatch_events(conn, datetime.now(UTC))


def test_a_target_owing_deliveries_is_removed_only_by_force_which_ends_them(
    database: Database, directory: Directory
) -> None:
    target = new_target(database, "http://a.example", name="hr")
    new_person(directory)
    new_person(directory)
    fan_out(database)

    with pytest.raises(Unsent) as refused:
        remove(database, "hr")
    assert refused.value.count == 2
    assert states(database, target) == [("pending", None)] * 2

    assert remove(database, "hr", force=True) == 2
    assert states(database, target) == [("dead", "target removed by test")] * 2
    with database.snapshot() as conn, pytest.raises(NotFound):
        find_target(conn, "hr")
    action, fields = target_changes(database)[-1]
    assert (action, fields["dead"], fields["removed_at"][0]) == ("remove", [None, 2], None)


def test_a_removed_targets_name_is_free_and_its_deliveries_stay_its_own(
    database: Database, directory: Directory
) -> None:
    old = new_target(database, "http://a.example", name="hr")
    new_person(directory)
    fan_out(database)
    remove(database, "hr", force=True)

    new = new_target(database, "http://b.example", name="hr")
    new_person(directory)
    fan_out(database)

    assert new.id != old.id
    assert states(database, old) == [("dead", "target removed by test")]
    assert states(database, new) == [("pending", None)]  # the second person's only: new starts from now
    with database.snapshot() as conn:
        assert find_target(conn, "hr").url == "http://b.example"
    with pytest.raises(NotFound):
        remove(database, "hr-gone")


def test_new_events_owe_a_removed_target_nothing(database: Database, directory: Directory) -> None:
    gone = new_target(database, "http://a.example", name="gone")
    kept = new_target(database, "http://b.example", name="kept")
    remove(database, "gone")

    new_person(directory)
    assert fan_out(database) == (1, True)
    remove(database, "kept", force=True)
    new_person(directory)

    assert states(database, gone) == []
    assert len(states(database, kept)) == 1
    assert fan_out(database) == (0, False)  # no target left: events wait, as before any was added


def test_no_dispatcher_claims_or_probes_a_removed_targets_delivery(
    database: Database, directory: Directory
) -> None:
    """A delivery fanned out by a dispatcher that read the targets before the removal committed (on
    PostgreSQL, a pass beside it) is never sent, nor waited for."""
    target = new_target(database, "http://a.example", name="hr")
    person = new_person(directory)
    remove(database, "hr")
    now = datetime.now(UTC)
    with database.transaction() as conn:
        person_id = conn.execute(
            select(tables.people.c.id).where(tables.people.c.public_id == person)
        ).scalar()
        conn.execute(insert(tables.deliveries).values(new_delivery(target.id, person_id, None, "added", now)))
        for state in (State.ACTIVE, State.TRIPPED):
            conn.execute(update(tables.targets).values(state=state, probe_at=now))
            assert claim(conn, "worker", now + timedelta(seconds=1), timedelta(seconds=60)) == []
            assert next_due(conn) is None


def test_a_delivery_in_flight_when_its_target_is_removed_stays_dead(
    database: Database, directory: Directory
) -> None:
    target = new_target(database, "http://a.example", name="hr")
    new_person(directory)
    fan_out(database)
    now = datetime.now(UTC)
    with database.transaction() as conn:
        [claimed] = claim(conn, "worker", now, timedelta(seconds=60))

    remove(database, "hr", force=True)
    with database.transaction() as conn:
        settle(conn, [(claimed, Outcome(True, status=200))], now, lambda tries, after: 1.0, "worker")

    assert states(database, target) == [("dead", "target removed by test")]
