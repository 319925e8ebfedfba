"""API tokens: high entropy, stored hashed, shown once, checked with their permissions, revocable."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, select

from provisionhub.auth.tokens import (
    authenticate,
    authenticate_many,
    create_token,
    digest,
    list_tokens,
    revoke_token,
)
from provisionhub.directory.access import Permission, Principal
from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Forbidden, Invalid, Reason, Unauthenticated
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.factories import new_organisation


def test_a_token_fits_opscoms_api_token_attribute_and_differs_each_time(database: Database) -> None:
    with database.transaction() as conn:
        secrets = {create_token(conn, f"t{n}", [Permission.USER_CREATE]) for n in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"[A-Za-z0-9-]{1,50}", secret)


def test_only_the_hash_is_stored(database: Database) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "pusher", [Permission.USER_CREATE])
    with database.snapshot() as conn:
        stored = conn.execute(select(tables.api_tokens)).mappings().one()
        logged = repr(conn.execute(select(tables.changes.c.fields)).all())
    assert stored["secret_hash"] == digest(secret)
    assert secret not in repr(dict(stored))
    assert secret not in logged


def test_authenticate_gives_the_principal_with_its_permissions_and_sources(database: Database) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "sis", [Permission.USER_CREATE], login_sources=["OPSCOM"])
        principal = authenticate(conn, secret)
    assert principal.name == "sis"
    assert principal.actor == "token:sis"
    assert principal.can(Permission.USER_CREATE)
    assert not principal.can(Permission.USER_DELETE)
    principal.require_source("OPSCOM")
    with pytest.raises(Forbidden):
        principal.require_source("SAML")
    with pytest.raises(Forbidden):
        principal.require(Permission.USER_READ)
    principal.require_any(Permission.USER_READ, Permission.USER_CREATE)
    with pytest.raises(Forbidden, match="user-read or user-delete"):
        principal.require_any(Permission.USER_READ, Permission.USER_DELETE)


def test_admin_can_do_everything(database: Database) -> None:
    with database.transaction() as conn:
        principal = authenticate(conn, create_token(conn, "root", [Permission.ADMIN]))
    assert all(principal.can(p) for p in Permission)
    principal.require_source("ANYTHING")


@pytest.mark.parametrize("secret", [None, "", "ph-not-a-real-token", "x" * 1000])
def test_unknown_secrets_are_refused(database: Database, secret: str | None) -> None:
    with database.transaction() as conn:
        create_token(conn, "real", [Permission.USER_CREATE])
        with pytest.raises(Unauthenticated):
            authenticate(conn, secret)


def test_a_revoked_token_stops_working_and_stays_listed(database: Database) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "old", [Permission.USER_CREATE])
        revoke_token(conn, "old")
        with pytest.raises(Unauthenticated):
            authenticate(conn, secret)
        [info] = list_tokens(conn)
    assert info.name == "old"
    assert info.revoked_at is not None


def test_token_names_are_unique(database: Database) -> None:
    with database.transaction() as conn:
        create_token(conn, "dup", [Permission.USER_READ])
        with pytest.raises(Conflict):
            create_token(conn, "dup", [Permission.USER_READ])


def test_many_secrets_are_checked_with_one_answer_each(database: Database) -> None:
    with database.transaction() as conn:
        good = create_token(conn, "good", [Permission.USER_CREATE])
        answers = authenticate_many(conn, (secret for secret in [good, "ph-unknown", None, good]))
    assert set(answers) == {good, "ph-unknown", None}
    assert isinstance(answers[good], Principal)
    assert isinstance(answers["ph-unknown"], Unauthenticated)
    assert isinstance(answers[None], Unauthenticated)


def test_a_token_scoped_to_an_account_names_it_and_reaches_only_that_account_s_own_people(
    database: Database, directory: Directory
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    with database.transaction() as conn:
        scoped = authenticate(conn, create_token(conn, "district", [Permission.ADMIN], account=account))
        unscoped = authenticate(conn, create_token(conn, "everything", [Permission.ADMIN]))
    assert scoped.account == account
    assert unscoped.account is None
    assert (scoped.scoped, unscoped.scoped) == (True, False)
    assert scoped.sources == frozenset({"MYON"})  # its district's own people, unless told others
    with pytest.raises(Forbidden, match="login source 'OPSCOM'"):
        scoped.require_source("OPSCOM")
    with database.snapshot() as conn:
        listed = {token.name: token.account for token in list_tokens(conn)}
        logged = [c.fields for c in list_changes(conn, entity_type="api_token")]
    assert listed == {"district": account, "everything": None}
    assert logged[0]["account"] == [None, account]
    assert "account" not in logged[1]


def test_a_token_can_only_be_scoped_to_an_account_that_exists(
    database: Database, directory: Directory
) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    building = new_organisation(directory, OrgKind.BUILDING, parent=account)
    refusals = {
        building: (Reason.INVALID, "is a building, not an account"),
        "00000000-0000-0000-0000-000000000000": (Reason.UNKNOWN, "no account has the id"),
    }
    for wrong, (reason, words) in refusals.items():
        with pytest.raises(Invalid, match=words) as caught, database.transaction() as conn:
            create_token(conn, "school", [Permission.ADMIN], account=wrong)
        assert (caught.value.field, caught.value.reason) == ("account", reason)
    with database.snapshot() as conn:
        assert list_tokens(conn) == []


# -- principals remembered: never past a change that could alter them -----------------------------------


@pytest.mark.anyio
async def test_a_token_revoked_by_another_process_is_refused_at_the_next_read(
    database: Database, database_url: str
) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "reader", [Permission.USER_READ])
    for _ in range(2):  # the second is answered from what the first found
        found = await database.read(lambda conn: authenticate(conn, secret))
        assert found.name == "reader"
    _elsewhere(database_url, lambda conn: revoke_token(conn, "reader"))
    with pytest.raises(Unauthenticated):
        await database.read(lambda conn: authenticate(conn, secret))


@pytest.mark.anyio
async def test_a_token_whose_permissions_another_process_changed_is_read_again(
    database: Database, database_url: str
) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "reader", [Permission.USER_READ])
    assert (await database.read(lambda conn: authenticate(conn, secret))).can(Permission.USER_READ)
    _elsewhere(
        database_url,
        lambda conn: conn.execute(
            tables.api_tokens.update().values(permissions=[Permission.GROUP_READ.value])
        ),
    )
    found = await database.read(lambda conn: authenticate(conn, secret))
    assert found.can(Permission.GROUP_READ)
    assert not found.can(Permission.USER_READ)


def _elsewhere(database_url: str, work: Callable[[Connection], object]) -> None:
    """Run work in a transaction of another engine: as the CLI would, in its own process."""
    elsewhere = Database(database_url)
    try:
        with elsewhere.transaction() as conn:
            work(conn)
    finally:
        elsewhere.dispose()


def test_a_transaction_that_revokes_a_token_no_longer_accepts_it(database: Database) -> None:
    with database.transaction() as conn:
        secret = create_token(conn, "brief", [Permission.USER_READ])
    with database.transaction() as conn:
        assert authenticate(conn, secret).name == "brief"
        revoke_token(conn, "brief")
        with pytest.raises(Unauthenticated):
            authenticate(conn, secret)


def test_a_token_created_in_a_transaction_rolled_back_is_not_remembered(database: Database) -> None:
    with database.engine.connect() as conn:
        with conn.begin() as tx:
            secret = create_token(conn, "fleeting", [Permission.USER_READ])
            assert authenticate(conn, secret).name == "fleeting"
            tx.rollback()
        with conn.begin(), pytest.raises(Unauthenticated):
            authenticate(conn, secret)
