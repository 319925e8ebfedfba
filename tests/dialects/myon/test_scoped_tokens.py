"""A token scoped to one account: it sees and changes that account and its buildings, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from provisionhub.directory.entitlements import AddEntitlement
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows
from tests.factories import new_organisation

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Tree:
    """Two accounts with a building each; headers carry a token scoped to the first account."""

    account: str
    building: str
    other_account: str
    other_building: str
    headers: dict[str, str]


@pytest.fixture
def tree(directory: Directory, make_token: MakeToken) -> Tree:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    other = new_organisation(directory, OrgKind.ACCOUNT)
    token = make_token("org-write", "org-read", account=account)
    return Tree(
        account=account,
        building=new_organisation(directory, OrgKind.BUILDING, parent=account),
        other_account=other,
        other_building=new_organisation(directory, OrgKind.BUILDING, parent=other),
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_it_reads_its_account_and_buildings_and_nothing_else(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    async def status(path: str) -> int:
        return (await client.get(f"/myon/{path}", headers=tree.headers)).status_code

    assert await status(f"accounts/{tree.account}") == 200
    assert await status(f"buildings/{tree.building}") == 200
    assert await status(f"accounts/{tree.other_account}") == 404
    assert await status(f"buildings/{tree.other_building}") == 404


async def test_it_changes_its_account_and_adds_buildings_to_it(client: httpx.AsyncClient, tree: Tree) -> None:
    account = await client.post(
        "/myon/accounts", json=[{"myon_id": tree.account, "city": "Springfield"}], headers=tree.headers
    )
    building = await client.post(
        "/myon/buildings", json=[{"account_id": tree.account, "title": "New School"}], headers=tree.headers
    )

    assert account.status_code == 200, account.text
    assert account.json() == [{"myon_id": tree.account, "result": "updated"}]
    assert building.status_code == 201, building.text
    created = building.json()[0]["myon_id"]
    read = await client.get(f"/myon/buildings/{created}", headers=tree.headers)
    assert read.json()["account_id"] == tree.account


@pytest.mark.parametrize(
    ("path", "item", "field", "reason"),
    [
        ("accounts", {"title": "Another District"}, "myon_id", "out_of_scope"),
        ("accounts", {"myon_id": "other_account", "title": "Renamed"}, "myon_id", "not_found"),
        ("buildings", {"myon_id": "other_building", "title": "Renamed"}, "myon_id", "not_found"),
        ("buildings", {"account_id": "other_account", "title": "Intruder"}, "account_id", "unknown"),
        ("buildings", {"myon_id": "building", "account_id": "other_account"}, "account_id", "unknown"),
    ],
)
async def test_anything_outside_its_account_is_refused_as_if_it_did_not_exist(
    client: httpx.AsyncClient,
    database: Database,
    tree: Tree,
    path: str,
    item: dict[str, str],
    field: str,
    reason: str,
) -> None:
    ids = {
        "other_account": tree.other_account,
        "other_building": tree.other_building,
        "building": tree.building,
    }
    item = {name: ids.get(value, value) for name, value in item.items()}
    changes = count_rows(database, tables.changes)

    response = await client.post(f"/myon/{path}", json=[item], headers=tree.headers)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["reason"]) == (0, field, reason)
    # The same words as for an id that exists nowhere: a scoped token learns nothing of other accounts.
    assert error["message"].startswith("no ") or reason == "out_of_scope"
    assert count_rows(database, tables.changes) == changes


async def test_it_grants_permissions_to_its_buildings_only(
    client: httpx.AsyncClient, tree: Tree, directory: Directory, make_token: MakeToken, database: Database
) -> None:
    reading = directory.apply(AddEntitlement("myon:reading", "Reading"), "cli").public_id
    headers = {"Authorization": f"Bearer {make_token('entitlement-write', account=tree.account)}"}

    ours = await client.post(
        "/myon/permissions", json=[{"building_id": tree.building, "permission_id": reading}], headers=headers
    )
    grants = count_rows(database, tables.grants)
    theirs = await client.post(
        "/myon/permissions",
        json=[{"building_id": tree.other_building, "permission_id": reading}],
        headers=headers,
    )

    assert ours.status_code == 201, ours.text
    assert theirs.status_code == 422
    [error] = theirs.json()["errors"]
    assert (error["field"], error["reason"]) == ("building_id", "unknown")
    assert count_rows(database, tables.grants) == grants
