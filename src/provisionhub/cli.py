"""The command line: each command a thin call into the packages below it."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import anyio
import typer
import yaml
from rich.table import Column, Table

from provisionhub.auth.oauth import create_client, list_clients, revoke_client
from provisionhub.auth.permissions import Permission
from provisionhub.auth.tokens import any_token_exists, create_token, list_tokens, revoke_token
from provisionhub.commandline import ACTOR, err, out
from provisionhub.commandline import database as _database
from provisionhub.commandline import in_transaction as _in_transaction
from provisionhub.directory.entitlements import AddEntitlement, Entitlement, list_entitlements
from provisionhub.directory.errors import Conflict, DirectoryError
from provisionhub.directory.lifecycle import run_lifecycle
from provisionhub.directory.people import SetStaff
from provisionhub.directory.people_search import staff
from provisionhub.directory.reference_data import (
    MAX_GRACE_DAYS,
    AddLoginSource,
    AddUserType,
    SetLoginSourceGraceDays,
    SetUserTypeGraceDays,
    list_login_sources,
    list_user_types,
)
from provisionhub.directory.section_catalogue import current_catalogue, load_sections, loaded_paths
from provisionhub.directory.service import Directory, utcnow
from provisionhub.provisioning.commands import target_app, worker
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

T = TypeVar("T")

app = typer.Typer(
    help="provisionhub: one directory of people, many dialects in, many targets out.", no_args_is_help=True
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
token_app = typer.Typer(
    help="API tokens: created, listed (never their secrets) and revoked.", no_args_is_help=True
)
oauth_client_app = typer.Typer(
    help="OAuth 2.0 clients (UNIWeb's API): created, listed (never their secrets) and revoked.",
    no_args_is_help=True,
)
user_type_app = typer.Typer(help="The user types OPS-COM's user_type_id refers to.", no_args_is_help=True)
login_source_app = typer.Typer(
    help="Login sources: how people sign in (OPSCOM, an SSO...).", no_args_is_help=True
)
staff_app = typer.Typer(
    help="provisionhub staff: the people who administer users through OCL.", no_args_is_help=True
)
permission_app = typer.Typer(
    help="The permissions (entitlements) myON grants to buildings.", no_args_is_help=True
)
sections_app = typer.Typer(
    help="Profile sections (UNIWeb's pages, sections and fields): the catalogue.", no_args_is_help=True
)
lifecycle_app = typer.Typer(
    help="Scheduled transitions from people's validity windows: pending, grace period, expired, unexpired.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(oauth_client_app, name="oauth-client")
app.add_typer(user_type_app, name="user-type")
app.add_typer(login_source_app, name="login-source")
app.add_typer(permission_app, name="permission")
app.add_typer(staff_app, name="staff")
app.add_typer(sections_app, name="sections")
app.add_typer(target_app, name="target")
app.add_typer(lifecycle_app, name="lifecycle")
app.command("worker")(worker)


def _apply(command: object) -> object:
    with _database() as database:
        try:
            return Directory(database).apply(command, ACTOR)
        except DirectoryError as exc:
            err.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Apply migrations, then serve every dialect over HTTP."""
    import uvicorn

    from provisionhub.app import create_app
    from provisionhub.http.access_log import log_config
    from provisionhub.http.server import HttpProtocol
    from provisionhub.runtime import tune_for_serving

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    database = Database.from_settings(settings)
    upgrade(database.engine)
    _first_token(database, host, port)
    app = create_app(settings, database)
    tune_for_serving()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(),
        proxy_headers=False,
        http=HttpProtocol,
    )


def _first_token(database: Database, host: str, port: int) -> None:
    """On a database with no tokens at all, create an admin token and show it, once."""
    try:
        with database.transaction() as conn:
            if any_token_exists(conn):
                return
            secret = create_token(conn, "admin", [Permission.ADMIN], actor="serve")
    except Conflict:
        return  # another process made it first
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    print(
        "\nprovisionhub: first start. Created the API token 'admin' (permission admin).\n"
        "It is shown only this once; keep it somewhere safe:\n\n"
        f"    {secret}\n\n"
        "Try it:\n"
        f"    curl -s -X POST {base}/opscom/api/OC_TOMA/v1/profiles/types/list "
        f"-H 'Content-Type: application/json' -d '{{\"apiToken\": \"{secret}\"}}'\n",
        flush=True,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    with _database() as database:
        upgrade(database.engine)
    err.print("database is up to date")


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


GraceDaysArgument = Annotated[
    int | None,
    typer.Argument(
        min=0,
        max=MAX_GRACE_DAYS,
        show_default=False,
        help="Days its people stay in grace_period after their valid_through.",
    ),
]
GraceDaysOption = Annotated[
    int | None,
    typer.Option(
        min=0,
        max=MAX_GRACE_DAYS,
        help="Days its people stay in grace_period after their valid_through (default: not set).",
    ),
]


@user_type_app.command("add")
def user_type_add(
    id: Annotated[str, typer.Argument(help="The id clients send as user_type_id, e.g. 6.")],
    name: str,
    ext_info: Annotated[str | None, typer.Option(help="Extra information, e.g. Public.")] = None,
    grace_days: GraceDaysOption = None,
) -> None:
    """Add a user type."""
    _apply(AddUserType(id=id, name=name, ext_info=ext_info, grace_days=grace_days))
    err.print(f"user type {id} added")


@user_type_app.command("grace")
def user_type_grace(
    id: Annotated[str, typer.Argument(help="The user type's id.")],
    days: GraceDaysArgument = None,
    clear: Annotated[bool, typer.Option("--clear", help="Not set: the login source's apply.")] = False,
) -> None:
    """Set the grace days of a user type's people (they win over their login source's), or --clear them."""
    _set_grace_days(SetUserTypeGraceDays(id, _grace_argument(days, clear)), f"user type {id}")


@user_type_app.command("list")
def user_type_list() -> None:
    table = Table("id", "name", "ext_info", "grace days")
    for user_type in _in_transaction(list_user_types):
        table.add_row(user_type.id, user_type.name, user_type.ext_info or "", _days(user_type.grace_days))
    out.print(table)


@login_source_app.command("add")
def login_source_add(
    code: str,
    name: str,
    requires_username: Annotated[
        bool, typer.Option(help="Its people sign in with a username, so each must have one.")
    ] = False,
    grace_days: GraceDaysOption = None,
) -> None:
    """Add a login source that pushes may name."""
    _apply(AddLoginSource(code=code, name=name, requires_username=requires_username, grace_days=grace_days))
    err.print(f"login source {code} added")


@login_source_app.command("grace")
def login_source_grace(
    code: Annotated[str, typer.Argument(help="The login source's code.")],
    days: GraceDaysArgument = None,
    clear: Annotated[bool, typer.Option("--clear", help="Not set: 0, unless a user type sets them.")] = False,
) -> None:
    """Set the grace days of a login source's people whose user type sets none, or --clear them."""
    _set_grace_days(SetLoginSourceGraceDays(code, _grace_argument(days, clear)), f"login source {code}")


@login_source_app.command("list")
def login_source_list() -> None:
    table = Table("code", "name", "requires username", "grace days")
    for source in _in_transaction(list_login_sources):
        table.add_row(
            source.code, source.name, "yes" if source.requires_username else "no", _days(source.grace_days)
        )
    out.print(table)


def _grace_argument(days: int | None, clear: bool) -> int | None:
    """DAYS or --clear (None), exactly one of them."""
    if (days is None) == (not clear):
        raise typer.BadParameter("give either DAYS or --clear")
    return days


def _set_grace_days(command: SetUserTypeGraceDays | SetLoginSourceGraceDays, what: str) -> None:
    changed = _apply(command)
    days = "not set" if command.grace_days is None else f"{command.grace_days} days"
    err.print(f"{what}: grace period {days}" + ("" if changed else " (unchanged)"))


def _days(grace_days: int | None) -> str:
    return "" if grace_days is None else str(grace_days)


@permission_app.command("add")
def permission_add(
    code: Annotated[str, typer.Argument(help="A unique code: letters, digits and . _ : - (at most 100).")],
    title: str,
) -> None:
    """Add a permission to the catalogue and print its id, alone, on stdout: the permission_id to grant."""
    added = cast(Entitlement, _apply(AddEntitlement(code=code, title=title)))
    sys.stdout.write(added.public_id + "\n")
    err.print(f"permission {added.code} added")


@permission_app.command("list")
def permission_list() -> None:
    # Whole ids, on one line however narrow the terminal: they are for copying into requests.
    table = Table(Column("id", no_wrap=True, min_width=36), "code", "title", "created")
    for entitlement in _in_transaction(list_entitlements):
        table.add_row(
            entitlement.public_id,
            entitlement.code,
            entitlement.title,
            entitlement.created_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        )
    out.print(table)


@staff_app.command("grant")
def staff_grant(username: Annotated[str, typer.Argument(help="The person's username.")]) -> None:
    """Make a person staff: they may create, change and deactivate users through OCL."""
    changed = _apply(SetStaff(username=username, staff=True))
    err.print(f"{username} {'is now' if changed else 'was already'} staff")


@staff_app.command("revoke")
def staff_revoke(username: Annotated[str, typer.Argument(help="The person's username.")]) -> None:
    """Make a person no longer staff."""
    changed = _apply(SetStaff(username=username, staff=False))
    err.print(f"{username} {'is no longer' if changed else 'was not'} staff")


@staff_app.command("list")
def staff_list() -> None:
    table = Table("username", Column("id", no_wrap=True, min_width=36), "status")
    for person in _in_transaction(staff):
        table.add_row(person["username"], person.public_id, person.status.value)
    out.print(table)


@sections_app.command("load")
def sections_load(
    file: Annotated[Path, typer.Argument(help="A catalogue document: JSON (.json), or YAML.")],
) -> None:
    """Add the sections of a file to the catalogue, or replace those of the same path: all or none."""
    document = _read_document(file)
    with _database() as database:
        try:
            with database.transaction() as conn:
                loaded = load_sections(conn, document, ACTOR, Directory(database).now())
        except DirectoryError as exc:
            err.print(f"[red]error:[/red] {file}: {exc.message}", highlight=False)
            raise typer.Exit(1) from None
    for section in loaded:
        state = "added" if section.created else "replaced" if section.changed else "unchanged"
        err.print(f"{section.path}: {state}", highlight=False)


def _login_sources(sources: Sequence[str] | None) -> str:
    """A credential's login sources as listed: "(all)" when it is not limited to some."""
    return " ".join(sources) if sources is not None else "(all)"


def _read_document(file: Path) -> Any:
    """The data of a JSON or YAML file; a file that is neither ends the command."""
    try:
        text = file.read_text(encoding="utf-8")
        return json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if file.suffix.lower() == ".json" else "YAML"
        err.print(f"[red]error:[/red] {file} is not a readable {kind} file: {exc}", highlight=False)
        raise typer.Exit(1) from None


@sections_app.command("list")
def sections_list() -> None:
    """List the catalogue: each section's path, titles, whether it holds one item or many, its fields."""
    catalogue, loaded = _in_transaction(lambda conn: (current_catalogue(conn), loaded_paths(conn)))
    table = Table(Column("path", no_wrap=True), "English", "French", "items", "fields", "from")
    for section in catalogue:
        items = "one" if section.single else "many" if section.fields else ""
        fields = " ".join(f"{f.name}:{f.type.value}" for f in section.fields)
        origin = "loaded" if section.path in loaded else "shipped"
        table.add_row(section.path, section.title.en, section.title.fr, items, fields, origin)
    out.print(table)


@lifecycle_app.command("run")
def lifecycle_run(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: {status: people moved}.")] = False,
) -> None:
    """Apply every transition due now, once (for cron): print how many people moved to each status."""
    with _database() as database:
        moved = anyio.run(run_lifecycle, Directory(database))
    if as_json:
        sys.stdout.write(json.dumps({status.value: n for status, n in moved.items()}) + "\n")
    else:
        width = max(len(status.value) for status in moved)
        sys.stdout.writelines(f"{status.value:<{width}}  {n}\n" for status, n in moved.items())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
