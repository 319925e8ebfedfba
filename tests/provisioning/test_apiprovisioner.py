"""The ApiProvisioner connector against a real receiver on loopback: URLs, methods, messages, auth."""

from __future__ import annotations

import base64

import pytest

from provisionhub.directory.people import SetStatus, Status
from provisionhub.directory.service import Directory
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.targets import IdentifierType, Mode
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
