"""`provisionhub demo`: the demo world loaded into an empty database in one transaction, readable through
the dialects and queued to its target; refused on a database that holds anything else, said to be there
on its own, and written whole or not at all."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from provisionhub.cli.demo.command import FRESH
from provisionhub.directory.changes import list_changes, logged_entities
from provisionhub.directory.people_search import find_by_username
from provisionhub.directory.reference_data import list_login_sources, list_user_types
from provisionhub.directory.service import Directory, utcnow
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.overview import list_deliveries, summaries
from provisionhub.store.database import Database
from tests.conftest import Cli, MakeToken
from tests.factories import upsert
from tests.provisioning.conftest import FAST
from tests.provisioning.receiver import receiving

#: What the demo writes, as the change log counts it.
LOADED = {
    "api_token": 1,
    "entitlement": 1,
    "grant": 1,
    "group": 2,
    "login_source": 2,
    "oauth_client": 1,
    "organisation": 9,
    "person": 16,
    "target": 1,
}


def shown(output: str, pattern: str) -> str:
    """The first group of pattern in the demo's output (a secret, an id it printed)."""
    found = re.search(pattern, output)
    assert found is not None, output
    return found.group(1)


def logged(database: Database) -> dict[str, int]:
    with database.snapshot() as conn:
        return logged_entities(conn)


def test_demo_on_an_empty_database_loads_the_world_and_queues_everyone_to_its_target(
    cli: Cli, database: Database
) -> None:
    output = cli("demo").stderr

    assert logged(database) == {**LOADED, "user_type": 4}
    with database.snapshot() as conn:
        user_types = {t.id: (t.name, t.grace_days) for t in list_user_types(conn)}
        sources = {s.code for s in list_login_sources(conn)}
        [target] = summaries(conn)
        deliveries = list_deliveries(conn, "demo-receiver")
        actors = {change.actor for change in list_changes(conn, limit=1_000)}
        visiting = find_by_username(conn, "lfischer")
        staff = find_by_username(conn, "jellis")
    assert user_types == {
        "101": ("Student", 14),
        "102": ("Staff", 0),
        "103": ("Faculty", 30),
        "104": ("Alumni", None),
    }
    assert {"SIS", "SSO"} <= sources
    assert actors == {"demo"}
    assert (target.name, target.kind, target.url, target.mode, target.queued) == (
        "demo-receiver",
        "apiprovisioner",
        "http://127.0.0.1:9000",
        "put",
        16,
    )
    assert len({d.person for d in deliveries}) == 16
    assert {(d.event, d.state) for d in deliveries} == {("reprovision", "pending")}
    assert visiting is not None
    assert visiting.status.value == "active"
    assert timedelta(days=2) < visiting["valid_through"] - utcnow() <= timedelta(days=3)
    assert staff is not None
    assert staff.login_source == "OCL"
    assert staff.unique_id == staff.public_id
    assert "16 people (OCL 1, OPSCOM 1, SIS 7, SSO 7)" in output
    assert "user types 101 Student, 102 Staff, 103 Faculty, 104 Alumni" in output


@pytest.mark.anyio
async def test_the_demo_people_are_read_through_scim_and_myon_with_the_token_it_prints(
    cli: Cli, client: httpx.AsyncClient
) -> None:
    output = cli("demo").stderr
    token = shown(output, r"API token demo-reader \(.*\): (\S+)")
    bearer = {"Authorization": f"Bearer {token}"}

    users = await client.get("/scim/v2/Users", headers=bearer, params={"count": 100})
    assert users.status_code == 200, users.text
    assert users.json()["totalResults"] == 16
    by_name = {user["userName"]: user for user in users.json()["Resources"]}
    assert {"maria.delgado@springfield.example.org", "hpark", "dkim", "jellis"} <= by_name.keys()
    admin = await client.get(
        f"/myon/users/{by_name['maria.delgado@springfield.example.org']['id']}", headers=bearer
    )
    assert admin.status_code == 200, admin.text
    assert (admin.json()["user_role_id"], admin.json()["building_id"]) == (6, None)
    building = shown(output, r"/myon/buildings/(\S+)")
    school = await client.get(f"/myon/buildings/{building}", headers=bearer)
    assert school.status_code == 200, school.text
    assert school.json()["title"] == "Springfield Elementary School"
    assert [p["code"] for p in school.json()["permissions"]] == ["myon:library"]
    account = await client.get(f"/myon/accounts/{school.json()['account_id']}", headers=bearer)
    assert account.json()["title"] == "Springfield School District"


@pytest.mark.anyio
async def test_the_staff_member_signs_in_to_ocl_and_uniweb_reads_the_university_units(
    cli: Cli, client: httpx.AsyncClient
) -> None:
    output = cli("demo").stderr
    username = shown(output, r"OCL staff (\S+):")
    password = shown(output, r"OCL staff \S+: password (\S+)")
    client_id = shown(output, r"client_id (\S+)")
    secret = shown(output, r"client_secret (\S+)")

    users = await client.get(
        "/ocl/users/", auth=(username, password), params={"limit": 100, "verbose": "true"}
    )
    assert users.status_code == 200, users.text
    assert len(users.json()) == 16
    assert all(user["email"] for user in users.json())  # staff see everyone's email
    issued = await client.post(
        "/uniweb/api/token.php", data={"grant_type": "password", "username": client_id, "password": secret}
    )
    assert issued.status_code == 200, issued.text
    units = await client.post(
        f"/uniweb/api/resource.php?access_token={issued.json()['access_token']}",
        json={"action": "read", "contentType": "units"},
    )
    assert units.status_code == 200, units.text
    rows = {row["unitName"]: row for row in units.json()}
    faculty = rows["Faculty of Engineering"]
    assert (faculty["type"], faculty["parentId"], faculty["memberCount"]) == ("account", None, 3)
    department = rows["Department of Computer Science"]
    assert (department["type"], department["parentId"], department["memberCount"]) == (
        "building",
        faculty["contentId"],
        1,
    )


def _a_person(directory: Directory, make_token: MakeToken) -> None:
    directory.apply(upsert(username="ada"), "test")


def _a_token(directory: Directory, make_token: MakeToken) -> None:
    make_token("admin", name="admin")  # what serve makes on its first start


@pytest.mark.parametrize(
    ("setup", "found"), [(_a_person, "1 person"), (_a_token, "1 API token")], ids=["person", "token"]
)
def test_demo_refuses_a_database_that_holds_data_and_writes_nothing(
    cli: Cli,
    database: Database,
    directory: Directory,
    make_token: MakeToken,
    setup: Callable[[Directory, MakeToken], Any],
    found: str,
) -> None:
    setup(directory, make_token)
    before = logged(database)

    error = cli("demo", code=1).stderr

    assert f"this database already holds data: {found}." in error
    assert FRESH in error
    assert logged(database) == before


def test_demo_run_again_on_its_own_database_says_it_is_loaded_and_writes_nothing(
    cli: Cli, database: Database
) -> None:
    cli("demo")
    with database.snapshot() as conn:
        newest = list_changes(conn, limit=1_000)[-1].seq

    again = cli("demo").stderr

    assert "the demo is already loaded in this database" in again
    with database.snapshot() as conn:
        assert list_changes(conn, after=newest) == []


def test_a_demo_refused_at_its_last_step_leaves_nothing_and_can_be_run_again(
    cli: Cli, database: Database
) -> None:
    # The target comes last, after every directory write: its bad URL undoes them all.
    error = cli("demo", "--receiver", "ftp://127.0.0.1/", code=1).stderr

    assert "the demo was not loaded (nothing was written)" in error
    assert "http:// or https://" in error
    assert logged(database) == {}
    cli("demo")
    assert logged(database)["person"] == 16


@pytest.mark.anyio
async def test_the_dispatcher_delivers_every_demo_person_to_a_running_receiver(
    cli: Cli, database: Database
) -> None:
    with receiving() as receiver:
        cli("demo", "--receiver", receiver.base)
        with database.snapshot() as conn:
            people = {d.person for d in list_deliveries(conn, "demo-receiver")}
        database.start()
        dispatcher = Dispatcher(database, FAST)
        dispatcher.start()
        try:
            arrived = await receiver.wait_for(16)
        finally:
            await dispatcher.stop()
            database.stop()

    assert {request.method for request in arrived} == {"PUT"}
    assert {request.path.lstrip("/") for request in arrived} == people
    names = {request.json["person"]["names"][0]["given"] for request in arrived}
    assert {"Maria", "Helen", "Jordan"} <= names
