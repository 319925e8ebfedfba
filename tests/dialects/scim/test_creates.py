"""SCIM creates queued together are made in one batch: each User still created or refused on its own, with
its own credential checked, as if it had come alone. On both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from provisionhub.auth.tokens import revoke_token
from provisionhub.dialects.scim.errors import ScimError
from provisionhub.dialects.scim.resources import Resources
from provisionhub.dialects.scim.users import user_in
from provisionhub.directory import upserts
from provisionhub.directory.access import ApiToken
from provisionhub.directory.errors import Forbidden, Unauthenticated
from provisionhub.directory.organisations import OrgKind
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest, MakeToken, count_rows
from tests.dialects.scim.conftest import new_user
from tests.factories import new_organisation

pytestmark = pytest.mark.anyio

USERS = "/scim/v2/Users"
PROVISIONHUB = "urn:ietf:params:scim:schemas:extension:provisionhub:2.0:User"
URL = "http://testserver/scim/v2"


async def _batch(directory: DirectoryUnderTest, *items: tuple[str, dict[str, Any]]) -> list[Any]:
    """Create Users over (token, User body) items all at once, with the write queue running: its batch
    handler takes them together, as it does creates that come close together."""
    directory.database.start()
    try:
        creates = [Resources(directory, ApiToken(t), URL).create_user(user_in(body)) for t, body in items]
        return list(await asyncio.gather(*creates, return_exceptions=True))
    finally:
        directory.database.stop()


def _people_named(database: Database, username: str) -> int:
    with database.snapshot() as conn:
        query = select(func.count()).where(func.lower(tables.people.c.username) == username.lower())
        return int(conn.execute(query).scalar_one())


async def test_a_batch_creates_each_user_and_answers_each_its_own_document(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    token = make_token("user-create", "user-read")
    bodies = [new_user(), new_user(externalId="hr-7"), new_user(active=False)]

    documents = await _batch(directory, *[(token, body) for body in bodies])

    assert [d["userName"] for d in documents] == [b["userName"] for b in bodies]
    assert [d["active"] for d in documents] == [True, True, False]
    assert documents[1]["externalId"] == "hr-7"
    assert len({d["id"] for d in documents}) == 3
    assert all(d["meta"]["location"] == f"{URL}/Users/{d['id']}" for d in documents)
    versions = [int(d["meta"]["version"][3:-1]) for d in documents]
    with directory.database.snapshot() as conn:
        logged = conn.execute(select(func.max(tables.changes.c.seq))).scalar_one()
    assert max(versions) == logged  # the suspension's entry is the third User's version


async def test_each_created_users_document_is_the_one_a_read_gives_afterwards(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    """The handler makes a new User's document without looking up their version or groups: the version
    is the change it logged (or the status change `active` made), and a new User is in no group."""
    token = make_token("user-create", "user-read")
    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bodies = [
        new_user(),
        new_user(active=False),  # suspended after its creation: a second change
        new_user(**{PROVISIONHUB: {"validFrom": later}}),  # pending: `active` changes nothing
    ]

    documents = await _batch(directory, *[(token, body) for body in bodies])

    seen = Resources(directory, ApiToken(token), URL)
    assert documents == [await seen.read_user(d["id"]) for d in documents]
    assert [d["active"] for d in documents] == [True, False, False]


async def test_in_a_batch_each_credential_is_checked_on_its_own(
    directory: DirectoryUnderTest, make_token: MakeToken
) -> None:
    creator, reader = make_token("user-create"), make_token("user-read")
    revoked = make_token("user-create", name="gone")
    with directory.database.transaction() as conn:
        revoke_token(conn, "gone")
    account = new_organisation(directory, OrgKind.ACCOUNT)
    scoped = make_token("user-create", account=account)
    bound = make_token("user-create", login_sources=["OPSCOM"])

    outcomes = await _batch(
        directory,
        (creator, new_user()),
        (reader, new_user()),
        (revoked, new_user()),
        ("ph-nobody", new_user()),
        (scoped, new_user()),
        (bound, new_user()),
        (creator, new_user()),
    )

    kinds = [type(o).__name__ if isinstance(o, Exception) else "created" for o in outcomes]
    assert kinds == [
        "created",
        Forbidden.__name__,
        Unauthenticated.__name__,
        Unauthenticated.__name__,
        Forbidden.__name__,
        "created",
        "created",
    ]
    assert count_rows(directory.database, tables.people) == 3
    sources = [
        o["urn:ietf:params:scim:schemas:extension:provisionhub:2.0:User"]["loginSource"] for o in outcomes[5:]
    ]
    assert sources == ["OPSCOM", "SCIM"]  # each User shown as its own token sees it


async def test_in_a_batch_a_username_or_external_id_taken_twice_goes_to_the_first(
    directory: DirectoryUnderTest, make_token: MakeToken, database: Database
) -> None:
    token = make_token("user-create")
    first = new_user(externalId="hr-1")
    same_name = new_user(userName=first["userName"].upper())
    same_external_id = new_user(externalId="hr-1")

    outcomes = await _batch(directory, (token, first), (token, same_name), (token, same_external_id))

    assert isinstance(outcomes[0], dict)
    for refused, attribute in ((outcomes[1], "userName"), (outcomes[2], "externalId")):
        assert isinstance(refused, ScimError)
        assert (refused.status, refused.scim_type) == (409, "uniqueness")
        assert attribute in refused.detail
    assert _people_named(database, first["userName"]) == 1


async def test_concurrent_creates_over_http_are_each_answered_as_if_alone(
    client: httpx.AsyncClient, scim: dict[str, str], make_token: MakeToken, database: Database
) -> None:
    reader = {"Authorization": f"Bearer {make_token('user-read')}"}
    taken = new_user()
    requests = [
        *(client.post(USERS, headers=scim, json=new_user()) for _ in range(20)),
        client.post(USERS, headers=scim, json=taken),
        client.post(USERS, headers=scim, json={**new_user(), "userName": taken["userName"]}),
        client.post(USERS, headers=reader, json=new_user()),
        client.post(USERS, headers={"Authorization": "Bearer ph-nobody"}, json=new_user()),
    ]

    answers = await asyncio.gather(*requests)

    statuses = [a.status_code for a in answers]
    assert statuses[:20] == [201] * 20
    assert sorted(statuses[20:22]) == [201, 409]
    assert statuses[22:] == [403, 401]
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 21
    assert _people_named(database, taken["userName"]) == 1


async def test_a_credential_is_checked_before_a_body_is_refused_or_a_password_hashed(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    nobody = {"Authorization": "Bearer ph-nobody", "Content-Type": "application/scim+json"}

    broken = await client.post(USERS, headers=nobody, content=b'{"userName": ')
    wrong = await client.post(USERS, headers=nobody, content=b'{"userName": 7}')
    with_password = await client.post(USERS, headers=nobody, json=new_user(password="Tr0ub4dor&3-horse"))
    too_short = await client.post(USERS, headers=nobody, json=new_user(password="short"))
    mine = await client.post(USERS, headers=scim, json={**new_user(), "userName": 7})

    statuses = [broken.status_code, wrong.status_code, with_password.status_code, too_short.status_code]
    assert statuses == [401, 401, 401, 401]
    assert (mine.status_code, mine.json()["scimType"]) == (400, "invalidValue")
    assert count_rows(database, tables.people) == 0


async def test_creates_queued_together_go_through_one_batched_upsert(
    directory: DirectoryUnderTest, make_token: MakeToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However the write queue gathers them, each batch it hands the directory makes one upsert of all
    its creates: a new User has no identity yet to wait on another's for."""
    token = make_token("user-create")
    batches: list[int] = []
    upserted: list[int] = []
    original_handler = directory._apply_submissions
    original_upsert = upserts.upsert

    def handler(conn: Any, submissions: list[Any]) -> list[Any]:
        batches.append(len(submissions))
        return original_handler(conn, submissions)

    def upsert(conn: Any, known: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        upserted.append(len(requests))
        return original_upsert(conn, known, requests, *args, **kwargs)

    monkeypatch.setattr(directory, "_handler", handler)
    monkeypatch.setattr(upserts, "upsert", upsert)

    documents = await _batch(directory, *[(token, new_user()) for _ in range(16)])

    assert all(isinstance(d, dict) for d in documents)
    assert upserted == batches  # one upsert a batch, of all its creates
    assert sum(upserted) == 16
