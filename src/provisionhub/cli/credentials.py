"""`provisionhub token` and `provisionhub oauth-client`: credentials created (their secret shown once),
listed (never their secrets) and revoked."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Column, Table

from provisionhub.auth.oauth import create_client, list_clients, revoke_client
from provisionhub.auth.tokens import create_token, list_tokens, revoke_token
from provisionhub.cli.doors import ACTOR, err, out
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.directory.access import Permission
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
    secret = _in_transaction(
        lambda conn: create_token(conn, name, permission, login_source or None, actor=ACTOR, account=account)
    )
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list() -> None:
    """List tokens: names, permissions, login sources, state. Never secrets."""
    tokens = _in_transaction(list_tokens)
    table = Table("name", "permissions", "login sources", "account", "created", "state")
    for token in tokens:
        table.add_row(
            token.name,
            " ".join(token.permissions),
            _login_sources(token.login_sources),
            token.account or "(all)",
            token.created_at.strftime("%Y-%m-%d %H:%M:%SZ"),
            "revoked" if token.revoked_at else "active",
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke a token: it stops working at once."""
    _in_transaction(lambda conn: revoke_token(conn, name, actor=ACTOR))
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
    created = _in_transaction(
        lambda conn: create_client(
            conn, name, permission or None, utcnow(), actor=ACTOR, login_sources=login_source or None
        )
    )
    if as_json:
        sys.stdout.write(json.dumps({"client_id": created.client_id, "client_secret": created.secret}) + "\n")
    else:
        sys.stdout.write(f"client_id: {created.client_id}\nclient_secret: {created.secret}\n")


@oauth_client_app.command("list")
def oauth_client_list() -> None:
    """List clients: ids, names, permissions, login sources, state. Never secrets."""
    table = Table(
        Column("client id", no_wrap=True), "name", "permissions", "login sources", "created", "state"
    )
    for client in _in_transaction(list_clients):
        table.add_row(
            client.client_id,
            client.name,
            " ".join(client.permissions),
            _login_sources(client.login_sources),
            client.created_at.strftime("%Y-%m-%d %H:%M:%SZ"),
            "revoked" if client.revoked_at else "active",
        )
    out.print(table)


@oauth_client_app.command("revoke")
def oauth_client_revoke(client_id: str) -> None:
    """Revoke a client: its access tokens stop working at once, and it gets no new ones."""
    _in_transaction(lambda conn: revoke_client(conn, client_id, utcnow(), actor=ACTOR))
    err.print(f"client {client_id!r} revoked")


def _login_sources(sources: Sequence[str] | None) -> str:
    """A credential's login sources as listed: "(all)" when it is not limited to some."""
    return " ".join(sources) if sources is not None else "(all)"
