"""The command line, run in process against each backend (the cli fixture: tests/conftest.py)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from provisionhub.auth.oauth import GrantPolicy, GrantProblem, GrantRefused, IssuedToken, issue_token
from provisionhub.auth.tokens import authenticate
from provisionhub.directory.changes import list_changes
from provisionhub.directory.entitlements import list_entitlements
from provisionhub.directory.errors import Unauthenticated
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory, utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.factories import new_organisation, upsert


def test_token_create_prints_the_secret_alone_and_it_works(cli, database: Database) -> None:
    result = cli("token", "create", "sis-push", "--permission", "user-create", "--login-source", "OPSCOM")

    secret = result.stdout.strip()
    assert re.fullmatch(r"ph-[A-Za-z0-9]{40}", secret)
    with database.snapshot() as conn:
        principal = authenticate(conn, secret)
    assert principal.name == "sis-push"
    assert principal.login_sources == frozenset({"OPSCOM"})


def test_token_list_never_shows_secrets(cli) -> None:
    secret = cli("token", "create", "a", "-p", "user-read", "-p", "user-update").stdout.strip()

    listing = cli("token", "list").stdout

    assert "a" in listing
    assert "user-read user-update" in listing
    assert "(all)" in listing
    assert secret not in listing
    assert secret[3:12] not in listing


def test_token_create_scopes_a_token_to_an_account(cli, database: Database, directory: Directory) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT)

    secret = cli("token", "create", "district", "-p", "org-write", "--account", account).stdout.strip()

    with database.snapshot() as conn:
        assert authenticate(conn, secret).account == account
    assert account in cli("token", "list").stdout
    assert (
        "no account has the id"
        in cli("token", "create", "x", "-p", "admin", "--account", "nope", code=1).stderr
    )


def test_token_revoke_stops_the_token(cli, database: Database) -> None:
    secret = cli("token", "create", "gone", "-p", "user-create").stdout.strip()

    cli("token", "revoke", "gone")

    with database.snapshot() as conn, pytest.raises(Unauthenticated):
        authenticate(conn, secret)
    assert "revoked" in cli("token", "list").stdout
    assert "no token named" in cli("token", "revoke", "never-was", code=1).stderr


def test_token_create_refuses_bad_input(cli) -> None:
    assert "invalid" in cli("token", "create", "x", "--permission", "root", code=2).stderr.lower()
    cli("token", "create", "dup", "-p", "admin")
    assert "already exists" in cli("token", "create", "dup", "-p", "admin", code=1).stderr


def test_user_types_are_added_and_listed(cli) -> None:
    cli("user-type", "add", "6", "Demo", "--ext-info", "Public")
    cli("user-type", "add", "1", "Full Time Student")

    listing = cli("user-type", "list").stdout

    assert listing.index("Full Time Student") < listing.index("Demo")
    assert "Public" in listing
    assert "already exists" in cli("user-type", "add", "6", "Again", code=1).stderr


def test_login_sources_are_added_and_listed(cli) -> None:
    cli("login-source", "add", "SAML", "Campus SSO")
    cli("login-source", "add", "LDAP", "Directory", "--requires-username")

    listing = cli("login-source", "list").stdout

    assert "OPSCOM" in listing
    assert "Campus SSO" in listing
    assert "Directory" in listing
    assert "already exists" in cli("login-source", "add", "SAML", "Again", code=1).stderr


def test_db_upgrade_on_an_up_to_date_database_is_harmless(cli) -> None:
    assert "up to date" in cli("db", "upgrade").stderr


def test_permission_add_prints_the_new_id_alone_and_list_shows_it(cli, database: Database) -> None:
    result = cli("permission", "add", "myon:reading", "Reading")

    permission_id = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", permission_id)
    assert "myon:reading" in result.stderr
    with database.snapshot() as conn:
        [entitlement] = list_entitlements(conn)
    assert (entitlement.public_id, entitlement.code, entitlement.title) == (
        permission_id,
        "myon:reading",
        "Reading",
    )
    cli("permission", "add", "maths", "Maths")

    listing = cli("permission", "list").stdout

    assert permission_id in listing
    assert listing.index("maths") < listing.index("myon:reading")
    assert "Reading" in listing
    assert entitlement.created_at.strftime("%Y-%m-%d") in listing


def test_permission_add_refuses_a_taken_or_bad_code(cli) -> None:
    cli("permission", "add", "reading", "Reading")

    taken = cli("permission", "add", "reading", "Again", code=1)
    assert "already exists" in taken.stderr
    assert taken.stdout == ""
    assert "may hold only" in cli("permission", "add", "read ing", "Reading", code=1).stderr


def test_staff_grant_revoke_and_list(cli, directory: Directory, database: Database) -> None:
    directory.apply(upsert(username="Grace.Hopper"), "test")

    granted = cli("staff", "grant", "grace.hopper")  # usernames compare case-insensitively
    again = cli("staff", "grant", "Grace.Hopper")
    listed = cli("staff", "list")
    revoked = cli("staff", "revoke", "Grace.Hopper")

    assert "is now staff" in granted.stderr
    assert "was already staff" in again.stderr
    assert "Grace.Hopper" in listed.stdout
    assert "is no longer staff" in revoked.stderr
    assert "Grace.Hopper" not in cli("staff", "list").stdout
    with database.snapshot() as conn:
        logged = [c for c in list_changes(conn, entity_type="person") if c.action == "staff"]
        events = conn.execute(select(tables.outbox.c.event)).scalars().all()
    assert events == ["added"]  # the person's creation: staff is no event for the targets
    assert [c.fields for c in logged] == [{"staff": [False, True]}, {"staff": [True, False]}]
    assert [c.actor for c in logged] == ["cli", "cli"]


def test_staff_grant_of_an_unknown_username_fails(cli) -> None:
    assert "no person has the username" in cli("staff", "grant", "nobody", code=1).stderr


def test_oauth_client_create_prints_the_id_and_secret_once_and_they_get_a_token(
    cli, database: Database
) -> None:
    result = cli("oauth-client", "create", "reports", "--permission", "user-read")

    lines = result.stdout.splitlines()
    assert [line.partition(": ")[0] for line in lines] == ["client_id", "client_secret"]
    client_id, secret = (line.partition(": ")[2] for line in lines)
    assert re.fullmatch(r"phc-[A-Za-z0-9]{24}", client_id)
    with database.transaction() as conn:
        issued = issue_token(conn, client_id, secret, utcnow(), GrantPolicy())
    assert isinstance(issued, IssuedToken)
    listing = cli("oauth-client", "list").stdout
    assert client_id in listing
    assert "reports" in listing
    assert "user-read" in listing
    assert secret not in listing
    assert secret[4:12] not in listing


def test_oauth_client_create_with_json_prints_one_object(cli) -> None:
    created = json.loads(cli("oauth-client", "create", "reports", "--json").stdout)

    assert set(created) == {"client_id", "client_secret"}
    assert "group-read org-read user-read" in cli("oauth-client", "list").stdout  # the default: read


def test_oauth_client_create_with_login_sources_lists_them(cli) -> None:
    cli("oauth-client", "create", "limited", "--login-source", "SCIM", "--login-source", "OPSCOM")
    cli("oauth-client", "create", "unlimited")

    listing = cli("oauth-client", "list").stdout

    limited, unlimited = (line for line in listing.splitlines() if "limited" in line)
    assert "OPSCOM SCIM" in limited
    assert "(all)" in unlimited


def test_oauth_client_revoke_stops_the_client(cli, database: Database) -> None:
    created = json.loads(cli("oauth-client", "create", "gone", "--json").stdout)

    cli("oauth-client", "revoke", created["client_id"])

    with database.transaction() as conn:
        refused = issue_token(conn, created["client_id"], created["client_secret"], utcnow(), GrantPolicy())
        logged = [c.action for c in list_changes(conn, entity_type="oauth_client")]
    assert refused == GrantRefused(GrantProblem.REVOKED)
    assert logged == ["create", "revoke"]
    assert "revoked" in cli("oauth-client", "list").stdout
    assert "no client with the id" in cli("oauth-client", "revoke", "phc-nobody", code=1).stderr


def test_oauth_client_create_refuses_a_taken_name_and_an_unknown_permission(cli) -> None:
    cli("oauth-client", "create", "reports")

    assert "already exists" in cli("oauth-client", "create", "reports", code=1).stderr
    cli("oauth-client", "create", "other", "-p", "fly", code=2)
