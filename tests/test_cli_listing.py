"""Every listing of the command line: with --json one JSON array of objects (stable keys, times in ISO 8601
UTC with Z, never a secret); as a table, its values to copy (ids, URLs, names) whole however narrow the
terminal."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import click
import pytest
import typer.main
from rich.console import Console
from rich.table import Table

from provisionhub import cli as cli_module
from provisionhub.cli.listing import Field, print_table
from provisionhub.directory.service import Directory
from tests.factories import upsert
from tests.provisioning.conftest import new_person

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
URL = "https://provisioning.example.edu/api/v2/people/with/a/long/path"


def commands(group: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "commands", None):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


#: Every listing: each command named list, wherever it is, and a target's deliveries.
LISTINGS = [path for path in commands(typer.main.get_command(cli_module.app)) if path[-1] == "list"]
LISTINGS.append(("target", "deliveries", "hr"))


@pytest.fixture
def secrets(cli, directory: Directory) -> dict[str, str]:
    """One of everything a listing shows; the secrets made on the way."""
    token = cli("token", "create", "sis-push", "-p", "user-create").stdout.strip()
    client = json.loads(cli("oauth-client", "create", "reports", "--json").stdout)
    cli("user-type", "add", "6", "Demo", "--grace-days", "3")
    cli("permission", "add", "myon:reading", "Reading")
    directory.apply(upsert(username="grace.hopper"), "test")
    cli("staff", "grant", "grace.hopper")
    cli("target", "add", "hr", "--kind", "apiprovisioner", "--url", URL, "--timeout", "2.5",
        "--username", "registry", "--password-stdin", stdin="pa55-w0rd\n")  # fmt: skip
    cli("target", "pause", "hr")
    cli("target", "reprovision", "hr", "--person", new_person(directory))
    return {"token": token, "client": client["client_secret"], "target": "pa55-w0rd"}


def test_the_listings_are_every_list_command_and_more_than_a_few() -> None:
    assert {path[:2] for path in LISTINGS} >= {
        ("token", "list"), ("oauth-client", "list"), ("user-type", "list"), ("login-source", "list"),
        ("permission", "list"), ("staff", "list"), ("sections", "list"), ("target", "list"),
        ("target", "deliveries"),
    }  # fmt: skip


@pytest.mark.parametrize("listing", LISTINGS, ids=" ".join)
def test_each_listing_as_json_is_an_array_of_objects_with_utc_times_and_no_secret(
    cli, secrets: dict[str, str], listing: tuple[str, ...]
) -> None:
    printed = cli(*listing, "--json").stdout

    found = json.loads(printed)
    assert isinstance(found, list)
    assert found
    assert all(isinstance(item, dict) and list(item) == list(found[0]) for item in found)
    for item in found:
        for key, value in item.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", key)
            if key.endswith("_at") and value is not None:
                assert ISO_UTC.fullmatch(value), (key, value)
    for secret in secrets.values():
        assert secret not in printed


def test_target_list_as_json_shows_each_targets_settings_never_its_secret(cli, secrets) -> None:
    [target] = json.loads(cli("target", "list", "--json").stdout)

    keys = ("name", "url", "auth", "username", "timeout_seconds", "state", "queued")
    assert {k: target[k] for k in keys} == {
        "name": "hr", "url": URL, "auth": "basic", "username": "registry", "timeout_seconds": 2.5,
        "state": "paused", "queued": 1,
    }  # fmt: skip
    assert "secret" not in target


def test_token_and_client_lists_as_json(cli, secrets) -> None:
    [token] = json.loads(cli("token", "list", "--json").stdout)
    [client] = json.loads(cli("oauth-client", "list", "--json").stdout)

    assert {k: token[k] for k in ("name", "permissions", "login_sources", "account", "state")} == {
        "name": "sis-push", "permissions": ["user-create"], "login_sources": None, "account": None,
        "state": "active",
    }  # fmt: skip
    assert (client["name"], client["client_id"][:4], client["revoked_at"]) == ("reports", "phc-", None)


def test_catalogue_lists_as_json(cli, secrets) -> None:
    user_types = json.loads(cli("user-type", "list", "--json").stdout)
    [permission] = json.loads(cli("permission", "list", "--json").stdout)
    [staff] = json.loads(cli("staff", "list", "--json").stdout)
    sections = json.loads(cli("sections", "list", "--json").stdout)

    assert {"id": "6", "name": "Demo", "ext_info": None, "grace_days": 3} in user_types
    assert (permission["code"], permission["title"], len(permission["id"])) == ("myon:reading", "Reading", 36)
    assert (staff["username"], staff["status"]) == ("grace.hopper", "active")
    assert {"name": "first_name", "type": "text"} in next(
        s["fields"] for s in sections if s["path"] == "profile/membership_information"
    )


#: Listings and the keys of their values to copy.
COPIED = {
    ("target", "list"): ("name", "url"),
    ("token", "list"): ("name",),
    ("permission", "list"): ("id", "code"),
    ("oauth-client", "list"): ("client_id", "name"),
    ("staff", "list"): ("username", "id"),
    ("target", "deliveries", "hr"): ("id", "person"),
}


@pytest.mark.parametrize("listing", list(COPIED), ids=" ".join)
def test_a_narrow_terminal_never_cuts_an_id_or_a_url(
    cli, secrets, listing: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = json.loads(cli(*listing, "--json").stdout)
    wanted = [str(item[key]) for item in found for key in COPIED[listing]]
    monkeypatch.setattr(cli_module.out, "width", 40)

    lines = cli(*listing).stdout.splitlines()

    assert max(len(line) for line in lines) > 40
    for value in wanted:
        assert any(value in line for line in lines), value


def test_on_a_narrow_terminal_a_table_is_as_wide_as_its_whole_values_and_wraps_the_rest() -> None:
    file = io.StringIO()
    terminal = Console(file=file, width=40, force_terminal=True, color_system=None)
    table = Table(Field("url", whole=True).column(), Field("error").column())
    table.add_row(URL, "HTTP 503 Service Unavailable, and a long explanation of why that was")

    print_table(terminal, table)

    lines = file.getvalue().splitlines()
    assert any(URL in line for line in lines)
    assert max(len(line) for line in lines) == len(URL) + 4 + 1 + len("explanation") + 3
    assert len(lines) > 5  # the error wrapped over several lines


def test_a_table_that_fits_the_terminal_is_printed_as_it_is() -> None:
    file = io.StringIO()
    terminal = Console(file=file, width=80, force_terminal=True, color_system=None)
    table = Table(Field("name", whole=True).column(), Field("state").column())
    table.add_row("hr", "active")

    print_table(terminal, table)

    assert max(len(line) for line in file.getvalue().splitlines()) < 40
