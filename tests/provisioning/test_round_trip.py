"""A round trip: provisionhub A delivers with the ApiProvisioner connector to provisionhub B's /comanage
receiver, both real, on loopback; the person in B equals the person in A."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from provisionhub.app import create_app
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.groups import CreateGroup, groups_of
from provisionhub.directory.people import PERSON_FIELDS, SetStatus, Status, UpdatePerson
from provisionhub.directory.service import Directory
from provisionhub.provisioning.dispatcher import Dispatcher
from provisionhub.provisioning.targets import IdentifierType, Mode
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade
from tests.provisioning.conftest import new_person, new_target
from tests.provisioning.receiver import serving

pytestmark = pytest.mark.anyio

#: What the ApiProvisioner message carries of a person (A's other fields have no place in it).
CARRIED = (
    "username", "email", "name_prefix", "given_name", "middle_name", "family_name", "name_suffix",
    "title", "company", "department", "street", "city", "region", "postal_code", "country",
    "mobile_phone", "employee_phone", "employee_number", "date_of_birth", "valid_from", "valid_through",
)  # fmt: skip


class B:
    """provisionhub B: its own database, served for real, and a token COmanage-style senders use."""

    def __init__(self, database: Database, base: str, token_name: str, secret: str) -> None:
        self.database, self.base, self.token_name, self.secret = database, base, token_name, secret

    def person(self, unique_id: str) -> dict[str, object] | None:
        with self.database.snapshot() as conn:
            row = conn.execute(
                select(tables.people).where(
                    tables.people.c.login_source == "COMANAGE", tables.people.c.unique_id == unique_id
                )
            ).mappings().first()  # fmt: skip
            if row is None:
                return None
            found = dict(row)
            found["groups"] = sorted(name for _, name in groups_of(conn, [row["id"]]).get(row["id"], []))
            return found


@pytest.fixture
def b(tmp_path: Path) -> Iterator[B]:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    database = Database(url)
    upgrade(database.engine)
    with database.transaction() as conn:
        permissions = [Permission.USER_CREATE, Permission.USER_UPDATE, Permission.USER_DELETE]
        secret = create_token(conn, "registry", permissions, actor="test")
    app = create_app(Settings(database_url=url, dispatch=False, lifecycle_interval_seconds=0), database)
    with serving(app) as base:
        yield B(database, base, "registry", secret)
    database.dispose()


async def arrived(b: B, unique_id: str, check: object, timeout: float = 10) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        found = b.person(unique_id)
        if found is not None and check(found):  # type: ignore[operator]
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", [Mode.PUT, Mode.POST])
async def test_a_person_in_a_equals_the_person_in_b(
    database: Database, directory: Directory, b: B, dispatcher: Dispatcher, mode: Mode
) -> None:
    new_target(
        database, f"{b.base}/comanage/people", name="b", mode=mode, identifier_type=IdentifierType.UUID,
        username=b.token_name, secret=b.secret, include_date_of_birth=True,
    )  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    public_id = new_person(
        directory,
        username="ada@uni.example", email="ada@uni.example", name_prefix="Dr", given_name="Ada",
        middle_name="King", family_name="Lovelace", name_suffix="PhD", title="Analyst", company="Engines Ltd",
        department="Mathematics", street="12 St James's Square", city="London", region="LND",
        postal_code="SW1Y 4JH", country="GB", mobile_phone="+44 20 7946 0000",
        employee_phone="+44 20 7946 0001", employee_number="E-1815", date_of_birth=date(1815, 12, 10),
        valid_from=now - timedelta(days=1), valid_through=now + timedelta(days=365),
    )  # fmt: skip
    directory.apply(CreateGroup("analytical-engine", [public_id]), "test")
    directory.apply(CreateGroup("royal-society", [public_id]), "test")

    in_b = await arrived(b, public_id, lambda p: len(p["groups"]) == 2)
    with database.snapshot() as conn:
        in_a = (
            conn.execute(select(tables.people).where(tables.people.c.public_id == public_id)).mappings().one()
        )

    assert {f: in_b[f] for f in CARRIED} == {f: in_a[f] for f in CARRIED}
    assert in_b["groups"] == ["analytical-engine", "royal-society"]
    assert in_b["status"] == "active"
    assert set(CARRIED) <= set(PERSON_FIELDS)

    directory.apply(UpdatePerson(public_id, {"title": "Countess", "mobile_phone": None}), "test")
    in_b = await arrived(b, public_id, lambda p: p["title"] == "Countess")
    assert in_b["mobile_phone"] is None

    directory.apply(SetStatus(public_id, Status.SUSPENDED), "test")
    await arrived(b, public_id, lambda p: p["status"] == "suspended")
    directory.apply(SetStatus(public_id, Status.DELETED), "test")
    await arrived(b, public_id, lambda p: p["status"] == "deleted")
