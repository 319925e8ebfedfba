"""The ApiProvisioner connector against a real receiver on loopback: URLs, methods, messages, auth."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest

from provisionhub.directory.people import SetStatus, Status, UpdatePerson
from provisionhub.directory.reference_data import SetLoginSourceGraceDays
from provisionhub.directory.service import Directory
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.requeue import reprovision
from provisionhub.provisioning.targets import IdentifierType, Mode
from provisionhub.scheduler import run_lifecycle
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person, new_target
from tests.provisioning.receiver import Receiver

pytestmark = pytest.mark.anyio


async def test_put_mode_puts_the_person_to_url_slash_identifier(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(
        database, f"{receiver.base}/rest/people", mode=Mode.PUT, identifier_type=IdentifierType.USERNAME
    )
    public_id = new_person(directory, username="ada@uni.example", given_name="Ada", family_name="Lovelace")
    dispatcher.wake()

    [sent] = await receiver.wait_for(1)

    assert (sent.method, sent.path) == ("PUT", "/rest/people/ada@uni.example")
    assert sent.headers["content-type"] == "application/json"
    message = sent.json
    assert message["meta"] == {"version": "1.0.0", "objectType": "person"}
    person = message["person"]
    assert person["meta"]["id"] == "ada@uni.example"
    assert person["status"] == "active"
    assert person["names"] == [
        {"given": "Ada", "family": "Lovelace", "formatted": "Ada Lovelace", "type": "official"}
    ]
    assert {"identifier": public_id, "type": "provisionhubid"} in person["identifiers"]
    assert "dateOfBirth" not in person
    assert sent.headers["x-provisionhub-event"]
    assert sent.headers["x-provisionhub-sequence"] == "1"


async def test_post_mode_posts_to_url_slash_and_deletes_with_the_deleted_flag(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/upload", mode=Mode.POST)
    public_id = new_person(directory)
    await receiver.wait_for(1)
    directory.apply(SetStatus(public_id, Status.DELETED), "test")
    dispatcher.wake()

    first, second = await receiver.wait_for(2)

    assert (first.method, first.path) == ("POST", "/upload/")
    assert first.json["person"]["meta"]["id"] == public_id
    assert (second.method, second.path) == ("POST", "/upload/")
    assert second.json == {
        "meta": {"version": "1.0.0", "objectType": "person"},
        "person": {"meta": {"id": public_id, "deleted": True}},
    }


async def test_put_mode_deletes_with_delete_and_no_body(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/people", mode=Mode.PUT)
    public_id = new_person(directory)
    await receiver.wait_for(1)
    directory.apply(SetStatus(public_id, Status.DELETED), "test")

    _, deleted = await receiver.wait_for(2)

    assert (deleted.method, deleted.path, deleted.body) == ("DELETE", f"/people/{public_id}", b"")


async def test_basic_auth_and_the_post_upsert_method(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(
        database,
        f"{receiver.base}/p",
        mode=Mode.PUT,
        upsert_method="POST",
        username="registry",
        secret="s3cret",
    )
    new_person(directory)

    [sent] = await receiver.wait_for(1)

    assert sent.method == "POST"
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"registry:s3cret").decode()


async def test_bearer_auth(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/p", secret="tok-123", bearer=True)
    new_person(directory)

    [sent] = await receiver.wait_for(1)

    assert sent.headers["authorization"] == "Bearer tok-123"


async def test_each_transaction_sends_the_person_with_its_status(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    """The seed's table: add, edit, grace period, expire, unexpire and manual provision send the person
    object (its status label COmanage's), delete the deleted flag; each through the lifecycle or a write."""
    new_target(database, f"{receiver.base}/up", name="every", mode=Mode.POST)
    directory.apply(SetLoginSourceGraceDays("OPSCOM", 10), "test")
    now = datetime.now(UTC)
    public_id = new_person(directory, valid_through=now + timedelta(days=1))
    await receiver.wait_for(1)  # else the edit is folded into the add, not yet sent
    directory.apply(UpdatePerson(public_id, {"title": "Dean"}), "test")
    await receiver.wait_for(2)
    await run_lifecycle(directory, now + timedelta(days=2))  # grace period
    await receiver.wait_for(3)
    await run_lifecycle(directory, now + timedelta(days=20))  # expired
    await receiver.wait_for(4)
    directory.apply(UpdatePerson(public_id, {"valid_through": now + timedelta(days=400)}), "test")  # unexpire
    await receiver.wait_for(5)
    with database.transaction() as conn:
        reprovision(conn, "every", public_id, "test", datetime.now(UTC))
    dispatcher.wake()
    await receiver.wait_for(6)
    directory.apply(SetStatus(public_id, Status.DELETED), "test")

    sent = await receiver.wait_for(7)

    statuses = [r.json["person"].get("status") for r in sent]
    assert statuses == ["active", "active", "grace period", "expired", "active", "active", None]
    assert sent[1].json["person"]["roles"][0]["title"] == "Dean"
    assert sent[-1].json["person"] == {"meta": {"id": public_id, "deleted": True}}
    assert len({r.headers["x-provisionhub-event"] for r in sent}) == 7


async def test_the_date_of_birth_goes_only_to_a_target_configured_to_take_it(
    database: Database, directory: Directory, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    new_target(database, f"{receiver.base}/with", name="with-dob", include_date_of_birth=True)
    new_target(database, f"{receiver.base}/without", name="without-dob")
    new_person(directory, date_of_birth=date(1815, 12, 10))

    sent = await receiver.wait_for(2)

    by_target = {r.path.split("/")[1]: r.json["person"] for r in sent}
    assert by_target["with"]["dateOfBirth"] == "1815-12-10"
    assert "dateOfBirth" not in by_target["without"]
