"""The catalogues an operator keeps: user types, login sources, entitlements (myON's permissions),
profile sections, and who is staff. Each change is a directory command, applied as the command line."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from provisionhub.auth.authenticator import directory_over
from provisionhub.cli.doors import ACTOR, Hints, err, fail
from provisionhub.cli.doors import apply as _apply
from provisionhub.cli.doors import database as _database
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.cli.listing import Field, JsonOption, show
from provisionhub.directory.entitlements import AddEntitlement, Entitlement, list_entitlements
from provisionhub.directory.errors import Conflict, DirectoryError, NotFound
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
from provisionhub.directory.section_catalogue import (
    LoadSections,
    current_catalogue,
    loaded_paths,
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
    taken: Hints = {
        Conflict: f"`provisionhub user-type list` shows it; `provisionhub user-type grace {id} DAYS` changes "
        "its grace days"
    }
    _apply(AddUserType(id=id, name=name, ext_info=ext_info, grace_days=grace_days), taken)
    err.print(f"user type {id} added")


@user_type_app.command("grace")
def user_type_grace(
    id: Annotated[str, typer.Argument(help="The user type's id.")],
    days: GraceDaysArgument = None,
    clear: Annotated[bool, typer.Option("--clear", help="Not set: the login source's apply.")] = False,
) -> None:
    """Set the grace days of a user type's people (they win over their login source's), or --clear them."""
    unknown = f"add it with `provisionhub user-type add {id} NAME`"
    _set_grace_days(SetUserTypeGraceDays(id, _grace_argument(days, clear)), f"user type {id}", unknown)


@user_type_app.command("list")
def user_type_list(as_json: JsonOption = False) -> None:
    """List user types: id, name, extra information, grace days."""
    found = _in_transaction(list_user_types)
    fields = (Field("id", whole=True), Field("name"), Field("ext_info"), Field("grace_days"))
    show(fields, [asdict(user_type) for user_type in found], as_json)


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
    taken: Hints = {
        Conflict: f"`provisionhub login-source list` shows it; `provisionhub login-source grace {code} DAYS` "
        "changes its grace days"
    }
    command = AddLoginSource(code=code, name=name, requires_username=requires_username, grace_days=grace_days)
    _apply(command, taken)
    err.print(f"login source {code} added")


@login_source_app.command("grace")
def login_source_grace(
    code: Annotated[str, typer.Argument(help="The login source's code.")],
    days: GraceDaysArgument = None,
    clear: Annotated[bool, typer.Option("--clear", help="Not set: 0, unless a user type sets them.")] = False,
) -> None:
    """Set the grace days of a login source's people whose user type sets none, or --clear them."""
    unknown = f"add it with `provisionhub login-source add {code} NAME`"
    _set_grace_days(
        SetLoginSourceGraceDays(code, _grace_argument(days, clear)), f"login source {code}", unknown
    )


@login_source_app.command("list")
def login_source_list(as_json: JsonOption = False) -> None:
    """List login sources: code, name, whether their people need a username, grace days."""
    found = _in_transaction(list_login_sources)
    fields = (Field("code", whole=True), Field("name"), Field("requires_username"), Field("grace_days"))
    show(fields, [asdict(source) for source in found], as_json)


def _grace_argument(days: int | None, clear: bool) -> int | None:
    """DAYS or --clear (None), exactly one of them."""
    if (days is None) == (not clear):
        raise typer.BadParameter("give either DAYS or --clear")
    return days


def _set_grace_days(command: SetUserTypeGraceDays | SetLoginSourceGraceDays, what: str, unknown: str) -> None:
    changed = _apply(command, {NotFound: unknown})
    days = "not set" if command.grace_days is None else f"{command.grace_days} days"
    err.print(f"{what}: grace period {days}" + ("" if changed else " (unchanged)"))


@permission_app.command("add")
def permission_add(
    code: Annotated[str, typer.Argument(help="A unique code: letters, digits and . _ : - (at most 100).")],
    title: str,
) -> None:
    """Add a permission to the catalogue and print its id, alone, on stdout: the permission_id to grant."""
    taken: Hints = {Conflict: "`provisionhub permission list` shows it, with its id"}
    added: Entitlement = _apply(AddEntitlement(code=code, title=title), taken)
    sys.stdout.write(added.public_id + "\n")
    err.print(f"permission {added.code} added")


@permission_app.command("list")
def permission_list(as_json: JsonOption = False) -> None:
    """List the permissions: id (the permission_id to grant), code, title, when added."""
    found = _in_transaction(list_entitlements)
    records = [
        {"id": e.public_id, "code": e.code, "title": e.title, "created_at": e.created_at} for e in found
    ]
    fields = (
        Field("id", whole=True),
        Field("code", whole=True),
        Field("title"),
        Field("created_at", "created"),
    )
    show(fields, records, as_json)


#: For staff grant and revoke.
NO_SUCH_PERSON: Hints = {
    NotFound: "check the username (its case does not matter); people are added through the dialects "
    "(an OPS-COM push, SCIM, ...), never the command line"
}


@staff_app.command("grant")
def staff_grant(username: Annotated[str, typer.Argument(help="The person's username.")]) -> None:
    """Make a person staff: they may create, change and deactivate users through OCL."""
    changed = _apply(SetStaff(username=username, staff=True), NO_SUCH_PERSON)
    err.print(f"{username} {'is now' if changed else 'was already'} staff")


@staff_app.command("revoke")
def staff_revoke(username: Annotated[str, typer.Argument(help="The person's username.")]) -> None:
    """Make a person no longer staff."""
    changed = _apply(SetStaff(username=username, staff=False), NO_SUCH_PERSON)
    err.print(f"{username} {'is no longer' if changed else 'was not'} staff")


@staff_app.command("list")
def staff_list(as_json: JsonOption = False) -> None:
    """List staff: username, id, status."""
    found = _in_transaction(staff)
    records = [{"username": p["username"], "id": p.public_id, "status": p.status} for p in found]
    show((Field("username", whole=True), Field("id", whole=True), Field("status")), records, as_json)


@sections_app.command("load")
def sections_load(
    file: Annotated[Path, typer.Argument(help="A catalogue document: JSON (.json), or YAML.")],
) -> None:
    """Add the sections of a file to the catalogue, or replace those of the same path: all or none."""
    document = _read_document(file)
    with _database() as database:
        try:
            loaded = directory_over(database).apply(LoadSections(document), ACTOR)
        except DirectoryError as exc:
            fail(f"{file}: {exc.message}", "nothing was loaded: correct the file and load it again")
    for section in loaded:
        state = "added" if section.created else "replaced" if section.changed else "unchanged"
        err.print(f"{section.path}: {state}", highlight=False)


def _read_document(file: Path) -> Any:
    """The data of a JSON or YAML file; a file that is neither ends the command."""
    try:
        text = file.read_text(encoding="utf-8")
        return json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if file.suffix.lower() == ".json" else "YAML"
        fail(f"{file} is not a readable {kind} file: {exc}")


@sections_app.command("list")
def sections_list(as_json: JsonOption = False) -> None:
    """List the catalogue: each section's path, titles, whether it holds one item or many, its fields."""
    catalogue, loaded = _in_transaction(lambda conn: (current_catalogue(conn), loaded_paths(conn)))
    records = [
        {
            "path": section.path,
            "title": {"en": section.title.en, "fr": section.title.fr},
            "single": section.single,
            "fields": [{"name": f.name, "type": f.type} for f in section.fields],
            "origin": "loaded" if section.path in loaded else "shipped",
        }
        for section in catalogue
    ]
    show(SECTION_FIELDS, records, as_json)


SECTION_FIELDS = (
    Field("path", whole=True),
    Field("title", "English", shown=lambda r: r["title"]["en"]),
    Field("title", "French", shown=lambda r: r["title"]["fr"]),
    Field("single", "items", shown=lambda r: "one" if r["single"] else "many" if r["fields"] else ""),
    Field("fields", shown=lambda r: " ".join(f"{f['name']}:{f['type'].value}" for f in r["fields"])),
    Field("origin", "from"),
)
