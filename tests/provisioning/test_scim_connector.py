"""The SCIM connector against real SCIM service providers on loopback: provisionhub's own /scim/v2 and the
reference peer scim2-server. Each test reads the User back from the provider, as any client would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from provisionhub.directory.people import SetStatus, Status, UpdatePerson
from provisionhub.directory.service import Directory
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.scim import PROVIDERS
from provisionhub.provisioning.targets import IdentifierType, Kind, Target
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.provisioning.conftest import FAST, new_person, new_target
from tests.provisioning.scim_peers import Peer, provisionhub_peer, scim2_server_peer

pytestmark = pytest.mark.anyio

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(autouse=True)
def undiscovered() -> Iterator[None]:
    """No provider known from another test (a port may come round again)."""
    PROVIDERS.clear()
    yield
    PROVIDERS.clear()


@pytest.fixture(params=["provisionhub", "scim2-server"])
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Peer]:
    if request.param == "provisionhub":
        with provisionhub_peer(tmp_path / "peer.db", request.getfixturevalue("sqlite_template")) as served:
            yield served
    else:
        with scim2_server_peer() as served:
            yield served


@pytest.fixture
def provisionhub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Peer]:
    with provisionhub_peer(tmp_path / "peer.db", request.getfixturevalue("sqlite_template")) as served:
        yield served


@pytest.fixture
def scim2() -> Iterator[Peer]:
    """scim2-server alone: for what only it shows (a User it deletes is gone, its userName free again),
    and where one provider is enough."""
    with scim2_server_peer() as served:
        yield served


def scim_target(database: Database, peer: Peer, **options: Any) -> Target:
    options.setdefault("identifier_type", IdentifierType.USERNAME)
    options.setdefault("secret", peer.token)
    return new_target(database, peer.base, kind=Kind.SCIM, bearer=True, **options)


async def settled(
    database: Database, target: Target, public_id: str, count: int = 1, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """The person's finished deliveries to target (delivered or dead), once there are count of them and
    none waits."""
    deliveries, people = tables.deliveries, tables.people
    statement = (
        select(deliveries.c.state, deliveries.c.last_status, deliveries.c.last_error, deliveries.c.attempts)
        .join_from(deliveries, people, deliveries.c.person_id == people.c.id)
        .where(deliveries.c.target_id == target.id, people.c.public_id == public_id)
        .order_by(deliveries.c.id)
    )
    deadline = time.monotonic() + timeout
    while True:
        with database.snapshot() as conn:
            rows = [dict(row) for row in conn.execute(statement).mappings()]
        finished = [row for row in rows if row["state"] in ("delivered", "dead")]
        if len(finished) >= count and all(row["state"] not in ("pending", "sending") for row in rows):
            return finished
        if time.monotonic() > deadline:
            raise AssertionError(f"not {count} finished deliveries: {rows}")
        await asyncio.sleep(0.02)


async def delivered(database: Database, target: Target, public_id: str, count: int = 1) -> str | None:
    """Wait for the person's count-th delivery to target, which must have succeeded; their link then."""
    newest = (await settled(database, target, public_id, count))[-1]
    assert newest["state"] == "delivered", newest
    return link_of(database, target, public_id)


async def provisioned(
    database: Database, directory: Directory, target: Target, **fields: Any
) -> tuple[str, str]:
    """A new person, once delivered to target: their public id and their User's id there."""
    public_id = new_person(directory, **fields)
    remote_id = await delivered(database, target, public_id)
    assert remote_id is not None
    return public_id, remote_id


def link_of(database: Database, target: Target, public_id: str) -> str | None:
    """The id of the person's User at the target, as the queue keeps it (None: not linked)."""
    links, people = tables.target_links, tables.people
    with database.snapshot() as conn:
        return conn.execute(
            select(links.c.remote_id)
            .join_from(links, people, links.c.person_id == people.c.id)
            .where(links.c.target_id == target.id, people.c.public_id == public_id)
        ).scalar()


async def test_a_new_person_is_created_with_every_attribute_the_provider_knows(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer)
    public_id = new_person(
        directory,
        username="ada@uni.example",
        name_prefix="Dr",
        given_name="Ada",
        middle_name="Augusta",
        family_name="Lovelace",
        name_suffix="II",
        email="ada@uni.example",
        mobile_phone="+44 20 7946 0001",
        employee_phone="+44 20 7946 0002",
        street="12 St James's Square",
        city="London",
        region="Westminster",
        postal_code="SW1Y 4JH",
        country="GB",
        title="Analyst",
        preferred_locale="en-GB",
        locale="en_GB",
        employee_number="1815",
        department="Engines",
        company="Analytical Society",
    )

    remote_id = await delivered(database, target, public_id)

    assert remote_id is not None
    assert [method for method, path in peer.requests() if path.startswith("/Users")] == ["POST"]
    status, user = await peer.user(remote_id)
    assert status == 200
    assert user["id"] == remote_id
    assert user["userName"] == "ada@uni.example"
    assert user["externalId"] == public_id
    assert user["active"] is True
    parts = {"honorificPrefix": "Dr", "givenName": "Ada", "middleName": "Augusta", "familyName": "Lovelace"}
    assert parts.items() <= user["name"].items()
    assert user["name"]["honorificSuffix"] == "II"
    # provisionhub's User schema has no name.formatted: the connector leaves out what a provider does not list
    formatted = {"provisionhub": None, "scim2-server": "Dr Ada Augusta Lovelace II"}[peer.name]
    assert user["name"].get("formatted") == formatted
    assert user["displayName"] == "Dr Ada Augusta Lovelace II"
    assert [(e["value"], e["type"], e.get("primary")) for e in user["emails"]] == [
        ("ada@uni.example", "work", True)
    ]
    assert sorted((p["type"], p["value"]) for p in user["phoneNumbers"]) == [
        ("mobile", "+44 20 7946 0001"),
        ("work", "+44 20 7946 0002"),
    ]
    [address] = user["addresses"]
    assert {k: v for k, v in address.items() if k != "primary"} == {
        "type": "work",
        "streetAddress": "12 St James's Square",
        "locality": "London",
        "region": "Westminster",
        "postalCode": "SW1Y 4JH",
        "country": "GB",
    }
    assert (user["title"], user["preferredLanguage"], user["locale"]) == ("Analyst", "en-GB", "en_GB")
    assert user[ENTERPRISE] == {
        "employeeNumber": "1815",
        "department": "Engines",
        "organization": "Analytical Society",
    }


async def test_an_update_changes_the_remote_user_and_clears_what_the_person_lost(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer)
    public_id, remote_id = await provisioned(
        database, directory, target, username="grace", given_name="Grace", title="Captain", department="Navy"
    )

    directory.apply(
        UpdatePerson(public_id, {"username": "ghopper", "title": "Rear Admiral", "department": None}), "test"
    )

    assert await delivered(database, target, public_id, count=2) == remote_id
    status, user = await peer.user(remote_id)
    assert status == 200
    assert (user["userName"], user["title"], user["name"]["givenName"]) == (
        "ghopper",
        "Rear Admiral",
        "Grace",
    )
    assert "department" not in user.get(ENTERPRISE, {})
    assert len(await peer.users()) == 1


@pytest.mark.parametrize("status", [Status.SUSPENDED, Status.EXPIRED])
async def test_a_person_without_access_is_inactive_remotely_and_active_again_when_it_is_back(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher, status: Status
) -> None:
    target = scim_target(database, peer)
    public_id, remote_id = await provisioned(database, directory, target, username="alan")

    directory.apply(SetStatus(public_id, status), "test")
    await delivered(database, target, public_id, count=2)
    without = (await peer.user(remote_id))[1]["active"]
    directory.apply(SetStatus(public_id, Status.ACTIVE), "test")
    await delivered(database, target, public_id, count=3)
    back = (await peer.user(remote_id))[1]["active"]

    assert (without, back) == (False, True)


async def test_a_deleted_person_is_deleted_remotely_and_unlinked(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer)
    public_id, remote_id = await provisioned(database, directory, target, username="edsger")

    directory.apply(SetStatus(public_id, Status.DELETED), "test")

    assert await delivered(database, target, public_id, count=2) is None
    assert (await peer.user(remote_id))[0] == 404
    assert peer.requests()[-1] == ("DELETE", f"/Users/{remote_id}")


async def test_deleting_a_user_already_gone_counts_as_done(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer)
    public_id, remote_id = await provisioned(database, directory, target, username="tony")
    await peer.delete_user(remote_id)

    directory.apply(SetStatus(public_id, Status.DELETED), "test")

    [_, deleted] = await settled(database, target, public_id, count=2)
    assert (deleted["state"], deleted["last_status"]) == ("delivered", 404)
    assert link_of(database, target, public_id) is None


async def test_a_taken_user_name_links_the_person_to_that_user_and_updates_it(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    existing = await peer.create_user("katherine", name={"givenName": "Kate"})
    target = scim_target(database, peer)

    public_id = new_person(directory, username="katherine", given_name="Katherine", family_name="Johnson")

    assert await delivered(database, target, public_id) == existing
    status, user = await peer.user(existing)
    assert status == 200
    assert user["externalId"] == public_id
    assert (user["name"]["givenName"], user["name"]["familyName"]) == ("Katherine", "Johnson")
    assert len(await peer.users()) == 1
    methods = [method for method, path in peer.requests() if path.startswith("/Users")]
    assert methods == ["POST", "GET", "PATCH"]  # refused (409); the lookup by userName; the update


async def test_a_user_gone_when_updated_is_created_again_and_relinked(
    database: Database, directory: Directory, scim2: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, scim2)
    public_id, first = await provisioned(database, directory, target, username="hedy", given_name="Hedy")
    await scim2.delete_user(first)

    directory.apply(UpdatePerson(public_id, {"given_name": "Hedwig"}), "test")

    second = await delivered(database, target, public_id, count=2)
    assert second not in (None, first)
    status, user = await scim2.user(second)
    assert (status, user["userName"], user["name"]["givenName"]) == (200, "hedy", "Hedwig")
    assert [m for m, p in scim2.requests() if p.startswith("/Users")][-2:] == ["PATCH", "POST"]


async def test_a_user_deleted_at_provisionhub_cannot_be_made_again_while_provisionhub_keeps_its_name(
    database: Database, directory: Directory, provisionhub: Peer, dispatcher: Dispatcher
) -> None:
    """provisionhub never hard-deletes: a deleted User's userName stays taken, and no list shows it."""
    target = scim_target(database, provisionhub, max_attempts=1)
    public_id, remote_id = await provisioned(database, directory, target, username="radia")
    await provisionhub.delete_user(remote_id)

    directory.apply(UpdatePerson(public_id, {"given_name": "Radia"}), "test")

    [_, failed] = await settled(database, target, public_id, count=2)
    assert (failed["state"], failed["last_status"]) == ("dead", 409)
    assert "no User has the userName 'radia'" in failed["last_error"]
    assert link_of(database, target, public_id) is None  # the next delivery tries a create


async def test_updates_are_patches_where_the_provider_supports_patch(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer)
    public_id, remote_id = await provisioned(
        database, directory, target, username="frances", title="Programmer"
    )

    directory.apply(UpdatePerson(public_id, {"title": "Fellow"}), "test")

    await delivered(database, target, public_id, count=2)
    assert (await peer.user(remote_id))[1]["title"] == "Fellow"
    updates = [method for method, path in peer.requests() if path == f"/Users/{remote_id}"]
    assert updates == ["PATCH"]
    discovery = [path for method, path in peer.requests() if not path.startswith("/Users")]
    assert discovery == ["/ServiceProviderConfig", "/Schemas"]  # asked once, kept


async def test_updates_are_puts_where_the_provider_does_not_support_patch(
    database: Database, directory: Directory, dispatcher: Dispatcher
) -> None:
    with scim2_server_peer(patch=False) as peer:
        target = scim_target(database, peer)
        public_id, remote_id = await provisioned(
            database, directory, target, username="margaret", title="Engineer", department="Apollo"
        )

        directory.apply(UpdatePerson(public_id, {"title": "Director", "department": None}), "test")

        await delivered(database, target, public_id, count=2)
        user = (await peer.user(remote_id))[1]
        assert user["title"] == "Director"
        assert "department" not in user.get(ENTERPRISE, {})
        updates = [method for method, path in peer.requests() if path == f"/Users/{remote_id}"]
        assert updates == ["PUT"]


async def test_a_wrong_bearer_token_is_refused_and_nothing_is_made(
    database: Database, directory: Directory, peer: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, peer, secret="not-the-token", max_attempts=1)

    public_id = new_person(directory, username="ida")

    [failed] = await settled(database, target, public_id)
    assert (failed["state"], failed["last_status"]) == ("dead", 401)
    assert link_of(database, target, public_id) is None
    assert await peer.users() == []


async def test_a_person_without_the_targets_identifier_is_dead_at_once(
    database: Database, directory: Directory, scim2: Peer, dispatcher: Dispatcher
) -> None:
    target = scim_target(database, scim2, identifier_type=IdentifierType.EMPLOYEE_NUMBER)

    public_id = new_person(directory, username="no-number")

    [dead] = await settled(database, target, public_id)
    assert (dead["state"], dead["attempts"]) == ("dead", 1)
    assert "no identifier of type employee_number" in dead["last_error"]
    assert scim2.requests() == []


async def test_a_person_deleted_before_any_delivery_needs_no_call(
    database: Database, directory: Directory, scim2: Peer
) -> None:
    target = scim_target(database, scim2)
    public_id = new_person(directory, username="never-sent")
    directory.apply(SetStatus(public_id, Status.DELETED), "test")  # folded into the add, not yet sent
    dispatcher = Dispatcher(database, FAST)
    database.start()
    dispatcher.start()
    try:
        [done] = await settled(database, target, public_id)
    finally:
        await dispatcher.stop()
        database.stop()
    assert done["state"] == "delivered"
    assert scim2.requests() == []


async def test_deliveries_in_flight_together_ask_the_provider_about_itself_once(
    database: Database, directory: Directory, scim2: Peer
) -> None:
    target = scim_target(database, scim2)
    public_ids = [new_person(directory, username=f"together{n}") for n in range(6)]

    dispatcher = Dispatcher(database, FAST)  # started now, it claims all six and sends them at once
    database.start()
    dispatcher.start()
    try:
        for public_id in public_ids:
            assert await delivered(database, target, public_id) is not None
    finally:
        await dispatcher.stop()
        database.stop()

    discovery = [path for _, path in scim2.requests() if not path.startswith("/Users")]
    assert discovery == ["/ServiceProviderConfig", "/Schemas"]
    assert len(await scim2.users()) == 6
