"""`provisionhub token` and `provisionhub oauth-client`: credentials created (their secret shown once),
listed (never their secrets) and revoked."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from provisionhub.auth.oauth import create_client, list_clients, revoke_client
from provisionhub.auth.tokens import create_token, list_tokens, revoke_token
from provisionhub.cli.doors import ACTOR, Hints, err
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.cli.listing import Field, JsonOption, show
from provisionhub.directory.access import Permission
from provisionhub.directory.errors import Conflict, Invalid, NotFound
from provisionhub.directory.operations import utcnow

token_app = typer.Typer(
    help="API tokens: created, listed (never their secrets) and revoked.", no_args_is_help=True
)
oauth_client_app = typer.Typer(
    help="OAuth 2.0 clients (UNIWeb's API): created, listed (never their secrets) and revoked.",
    no_args_is_help=True,
)


@token_app.command("create")
def token_create(
    name: str,
    permission: Annotated[
        list[Permission], typer.Option("--permission", "-p", help="Repeat for each permission.")
    ],
    login_source: Annotated[
        list[str] | None,
        typer.Option("--login-source", help="Only these login sources may be written (repeatable)."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="The myon_id of an account: the token sees and touches only that account's subtree."
        ),
    ] = None,
) -> None:
    """Create a token and print its secret, alone, on stdout: the only time it is shown."""
    hints: Hints = {
        (Conflict, "name"): "choose another name: `provisionhub token list` shows those taken",
        (Invalid, "account"): "an account's id is the myon_id myON's API answered when the account was made",
    }
    secret = _in_transaction(
        lambda conn: create_token(conn, name, permission, login_source or None, actor=ACTOR, account=account),
        hints,
    )
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """List tokens: names, permissions, login sources, state. Never secrets."""
    tokens = _in_transaction(list_tokens)
    records = [{**asdict(token), "state": _state(token.revoked_at)} for token in tokens]
    show(TOKEN_FIELDS, records, as_json)


TOKEN_FIELDS = (
    Field("name", whole=True),
    Field("permissions"),
    Field("login_sources", shown=lambda r: _login_sources(r["login_sources"])),
    Field("account", whole=True, shown=lambda r: r["account"] or "(all)"),
    Field("created_at", "created"),
    Field("revoked_at", table=False),
    Field("state"),
)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke a token: it stops working at once."""
    unknown: Hints = {NotFound: "`provisionhub token list` shows the tokens there are"}
    _in_transaction(lambda conn: revoke_token(conn, name, actor=ACTOR), unknown)
    err.print(f"token {name!r} revoked")


@oauth_client_app.command("create")
def oauth_client_create(
    name: str,
    permission: Annotated[
        list[Permission] | None,
        typer.Option(
            "--permission",
            "-p",
            help="Repeat for each permission (default: user-read, org-read, group-read).",
        ),
    ] = None,
    login_source: Annotated[
        list[str] | None,
        typer.Option(
            "--login-source",
            help="Only members of these login sources may be read or written (repeatable).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: client_id, client_secret.")
    ] = False,
) -> None:
    """Create a client and print its id and secret on stdout: the only time the secret is shown."""
    taken: Hints = {
        (Conflict, "name"): "choose another name: `provisionhub oauth-client list` shows those taken"
    }
    created = _in_transaction(
        lambda conn: create_client(
            conn, name, permission or None, utcnow(), actor=ACTOR, login_sources=login_source or None
        ),
        taken,
    )
    if as_json:
        sys.stdout.write(json.dumps({"client_id": created.client_id, "client_secret": created.secret}) + "\n")
    else:
        sys.stdout.write(f"client_id: {created.client_id}\nclient_secret: {created.secret}\n")


@oauth_client_app.command("list")
def oauth_client_list(as_json: JsonOption = False) -> None:
    """List clients: ids, names, permissions, login sources, state. Never secrets."""
    clients = _in_transaction(list_clients)
    records = [{**asdict(client), "state": _state(client.revoked_at)} for client in clients]
    show(CLIENT_FIELDS, records, as_json)


CLIENT_FIELDS = (
    Field("client_id", "client id", whole=True),
    Field("name", whole=True),
    Field("permissions"),
    Field("login_sources", shown=lambda r: _login_sources(r["login_sources"])),
    Field("created_at", "created"),
    Field("revoked_at", table=False),
    Field("state"),
)


@oauth_client_app.command("revoke")
def oauth_client_revoke(client_id: str) -> None:
    """Revoke a client: its access tokens stop working at once, and it gets no new ones."""
    unknown: Hints = {NotFound: "`provisionhub oauth-client list` shows the clients' ids"}
    _in_transaction(lambda conn: revoke_client(conn, client_id, utcnow(), actor=ACTOR), unknown)
    err.print(f"client {client_id!r} revoked")


def _state(revoked_at: datetime | None) -> str:
    return "active" if revoked_at is None else "revoked"


def _login_sources(sources: Sequence[str] | None) -> str:
    """A credential's login sources as listed: "(all)" when it is not limited to some."""
    return " ".join(sources) if sources is not None else "(all)"
