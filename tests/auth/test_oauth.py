"""OAuth clients and access tokens: secrets shown once and stored hashed, tokens that expire, revocation,
and wrong secrets that hold a client id off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from provisionhub.auth.oauth import (
    DEFAULT_PERMISSIONS,
    GrantPolicy,
    GrantProblem,
    GrantRefused,
    IssuedToken,
    NewClient,
    authenticate_token,
    create_client,
    issue_token,
    list_clients,
    revoke_client,
)
from provisionhub.auth.tokens import digest
from provisionhub.directory.access import Permission
from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, CredentialProblem, Invalid, NotFound, Unauthenticated
from provisionhub.store import tables
from provisionhub.store.database import Database

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = GrantPolicy(token_seconds=3600, failures_before_hold=3, hold_seconds=10, max_hold_seconds=60)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def new_client(
    database: Database, name: str = "reports", permissions: list[Permission] | None = None
) -> NewClient:
    with database.transaction() as conn:
        return create_client(conn, name, permissions, T0)


def issue(database: Database, client: NewClient, secret: str | None = None, at: datetime = T0):
    with database.transaction() as conn:
        return issue_token(conn, client.client_id, client.secret if secret is None else secret, at, POLICY)


def token_of(database: Database, client: NewClient, at: datetime = T0) -> str:
    issued = issue(database, client, at=at)
    assert isinstance(issued, IssuedToken)
    return issued.access_token


def authenticated(database: Database, token: str | None, at: datetime):
    with database.snapshot() as conn:
        return authenticate_token(conn, token, at)


def refusal(database: Database, token: str | None, at: datetime = T0) -> CredentialProblem:
    with pytest.raises(Unauthenticated) as refused:
        authenticated(database, token, at)
    return refused.value.problem


# -- clients ---------------------------------------------------------------------------------------


def test_a_client_has_a_public_random_id_and_a_secret_stored_only_hashed(database: Database) -> None:
    first, second = new_client(database, "a"), new_client(database, "b")

    assert re.fullmatch(r"phc-[A-Za-z0-9]{24}", first.client_id)
    assert re.fullmatch(r"phs-[A-Za-z0-9]{40}", first.secret)
    assert first.client_id != second.client_id
    assert first.secret != second.secret
    assert first.secret not in repr(first)
    with database.snapshot() as conn:
        rows = conn.execute(select(tables.oauth_clients)).mappings().all()
        logged = repr(conn.execute(select(tables.changes)).all())
    assert [row["secret_hash"] for row in rows] == [digest(first.secret), digest(second.secret)]
    assert not any(client.secret in repr(dict(row)) for row in rows for client in (first, second))
    assert first.secret not in logged
    assert second.secret not in logged


def test_a_client_gets_read_permissions_unless_told_otherwise(database: Database) -> None:
    new_client(database, "reader")
    new_client(database, "writer", [Permission.USER_UPDATE, Permission.USER_READ])

    with database.snapshot() as conn:
        listed = {client.name: client.permissions for client in list_clients(conn)}
    assert listed == {
        "reader": tuple(sorted(p.value for p in DEFAULT_PERMISSIONS)),
        "writer": ("user-read", "user-update"),
    }


@pytest.mark.parametrize(
    ("name", "permissions", "error"),
    [("", None, Invalid), ("x" * 101, None, Invalid), ("ok", [], Invalid), ("taken", None, Conflict)],
)
def test_create_refuses_bad_names_no_permissions_and_a_taken_name(
    database: Database, name: str, permissions: list[Permission] | None, error: type[Exception]
) -> None:
    new_client(database, "taken")
    with pytest.raises(error), database.transaction() as conn:
        create_client(conn, name, permissions, T0)


def test_creation_and_revocation_are_in_the_change_log(database: Database) -> None:
    client = new_client(database)
    with database.transaction() as conn:
        revoke_client(conn, client.client_id, T0 + seconds(5), actor="operator")
        revoke_client(conn, client.client_id, T0 + seconds(9))  # again: nothing more to log

    with database.snapshot() as conn:
        logged = list_changes(conn, entity_type="oauth_client")
        (listed,) = list_clients(conn)
    assert [(c.action, c.actor, c.entity_id) for c in logged] == [
        ("create", "cli", client.client_id),
        ("revoke", "operator", client.client_id),
    ]
    assert logged[0].fields["name"] == [None, "reports"]
    assert listed.revoked_at == T0 + seconds(5)


def test_a_client_limited_to_login_sources_gives_its_tokens_those_alone(database: Database) -> None:
    with database.transaction() as conn:
        limited = create_client(conn, "limited", None, T0, login_sources=["SCIM", "OPSCOM", "SCIM"])
    unlimited = new_client(database, "unlimited")

    with database.snapshot() as conn:
        listed = {client.name: client.login_sources for client in list_clients(conn)}
        [logged, _] = list_changes(conn, entity_type="oauth_client")
    assert listed == {"limited": ("OPSCOM", "SCIM"), "unlimited": None}
    assert logged.fields["login_sources"] == [None, ["OPSCOM", "SCIM"]]
    assert authenticated(database, token_of(database, limited), T0).login_sources == {"OPSCOM", "SCIM"}
    assert authenticated(database, token_of(database, unlimited), T0).login_sources is None


def test_revoking_an_unknown_client_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound), database.transaction() as conn:
        revoke_client(conn, "phc-nobody", T0)


# -- tokens ----------------------------------------------------------------------------------------


def test_a_token_authenticates_as_its_client_until_it_expires(database: Database) -> None:
    client = new_client(database, "reports", [Permission.USER_READ])

    issued = issue(database, client)

    assert isinstance(issued, IssuedToken)
    assert issued.expires_in == 3600
    assert re.fullmatch(r"pha-[A-Za-z0-9]{40}", issued.access_token)
    principal = authenticated(database, issued.access_token, T0 + seconds(3599))
    assert principal.name == "reports"
    assert principal.actor == "oauth:reports"
    assert principal.permissions == frozenset({Permission.USER_READ})
    assert refusal(database, issued.access_token, T0 + seconds(3600)) is CredentialProblem.EXPIRED


def test_tokens_are_stored_only_hashed(database: Database) -> None:
    token = token_of(database, new_client(database))

    with database.snapshot() as conn:
        stored = conn.execute(select(tables.oauth_tokens)).mappings().one()
    assert stored["token_hash"] == digest(token)
    assert token not in repr(dict(stored))
    assert stored["expires_at"] == T0 + seconds(3600)


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_missing(database: Database, token: str | None) -> None:
    assert refusal(database, token) is CredentialProblem.MISSING


@pytest.mark.parametrize("token", ["pha-unknown", "x" * 1000, "ph-an-api-token"])
def test_an_unknown_token_is_unknown(database: Database, token: str) -> None:
    token_of(database, new_client(database))
    assert refusal(database, token) is CredentialProblem.UNKNOWN


def test_revoking_the_client_stops_its_tokens_and_its_grants(database: Database) -> None:
    client = new_client(database)
    token = token_of(database, client)

    with database.transaction() as conn:
        revoke_client(conn, client.client_id, T0)

    assert refusal(database, token) is CredentialProblem.REVOKED
    assert issue(database, client) == GrantRefused(GrantProblem.REVOKED)
    assert issue(database, client, "phs-wrong") == GrantRefused(GrantProblem.WRONG)  # no news to a guesser


def test_a_new_token_drops_the_clients_tokens_expired_over_a_day(database: Database) -> None:
    client, other = new_client(database, "a"), new_client(database, "b")
    old, others = token_of(database, client), token_of(database, other)
    recent = token_of(database, client, T0 + timedelta(hours=20))

    token_of(database, client, T0 + timedelta(hours=26))  # old expired 25 hours before: dropped

    assert refusal(database, old, T0 + timedelta(hours=26)) is CredentialProblem.UNKNOWN
    assert refusal(database, recent, T0 + timedelta(hours=26)) is CredentialProblem.EXPIRED
    assert (
        refusal(database, others, T0 + timedelta(hours=26)) is CredentialProblem.EXPIRED
    )  # another client's


def test_a_wrong_secret_or_client_id_gets_no_token(database: Database) -> None:
    client = new_client(database)

    assert issue(database, client, "phs-wrong") == GrantRefused(GrantProblem.WRONG)
    with database.transaction() as conn:
        refused = issue_token(conn, "phc-nobody", client.secret, T0, POLICY)
    assert refused == GrantRefused(GrantProblem.WRONG)


# -- holding off wrong secrets ---------------------------------------------------------------------


def test_wrong_secrets_in_a_row_hold_the_client_id_off_for_doubling_times(database: Database) -> None:
    client = new_client(database)
    for n in range(3):  # failures_before_hold
        assert issue(database, client, "phs-wrong", T0 + seconds(n)) == GrantRefused(GrantProblem.WRONG)

    assert issue(database, client, "phs-wrong", T0 + seconds(3)) == GrantRefused(GrantProblem.WRONG)
    # Held 10 s from the 4th failure: even the right secret is not checked, and the answer says when.
    assert issue(database, client, at=T0 + seconds(4)) == GrantRefused(GrantProblem.HELD, 9)
    assert issue(database, client, at=T0 + seconds(12.5)) == GrantRefused(GrantProblem.HELD, 1)

    assert issue(database, client, "phs-wrong", T0 + seconds(13)) == GrantRefused(GrantProblem.WRONG)
    assert issue(database, client, at=T0 + seconds(14)) == GrantRefused(GrantProblem.HELD, 19)  # 20 s

    assert isinstance(issue(database, client, at=T0 + seconds(33)), IssuedToken)  # the right one
    with database.snapshot() as conn:
        row = conn.execute(select(tables.oauth_clients)).mappings().one()
    assert (row["failures"], row["last_failure_at"], row["held_until"]) == (0, None, None)


def test_a_right_secret_resets_the_count(database: Database) -> None:
    client = new_client(database)
    for n in range(3):
        issue(database, client, "phs-wrong", T0 + seconds(n))
    assert isinstance(issue(database, client, at=T0 + seconds(3)), IssuedToken)

    for n in range(3):
        assert issue(database, client, "phs-wrong", T0 + seconds(4 + n)) == GrantRefused(GrantProblem.WRONG)
    assert isinstance(issue(database, client, at=T0 + seconds(8)), IssuedToken)


def test_failures_are_forgotten_after_the_longest_hold(database: Database) -> None:
    client = new_client(database)
    for n in range(3):
        issue(database, client, "phs-wrong", T0 + seconds(n))

    later = T0 + seconds(2 + 61)
    assert issue(database, client, "phs-wrong", later) == GrantRefused(GrantProblem.WRONG)
    assert isinstance(issue(database, client, at=later + seconds(1)), IssuedToken)  # counted 1, not 4


def test_a_hold_is_for_one_client_id_only(database: Database) -> None:
    held, other = new_client(database, "held"), new_client(database, "other")
    for n in range(4):
        issue(database, held, "phs-wrong", T0 + seconds(n))

    assert issue(database, held, at=T0 + seconds(4)).problem is GrantProblem.HELD  # type: ignore[union-attr]
    assert isinstance(issue(database, other, at=T0 + seconds(4)), IssuedToken)


@pytest.mark.parametrize(
    ("failures", "hold"), [(0, 0), (3, 0), (4, 10), (5, 20), (6, 40), (7, 60), (10_000, 60)]
)
def test_holds_double_up_to_the_longest(failures: int, hold: float) -> None:
    assert POLICY.hold_after(failures) == seconds(hold)
