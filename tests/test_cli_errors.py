"""Every error of the command line says what to do next: a refusal its hint, and a database that is not
there, cannot be reached or is not migrated says so (never a traceback)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from devtools.scratch import scratch_postgres_database
from provisionhub import cli as cli_module
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade
from tests.conftest import BACKENDS


def hint(result: Result) -> str:
    """The hint line of an error."""
    [line] = [line for line in result.stderr.splitlines() if line.startswith("hint: ")]
    return line


def test_credentials_errors_say_what_to_do(cli) -> None:
    cli("token", "create", "sis", "-p", "admin")
    cli("oauth-client", "create", "reports")

    assert "provisionhub token list" in hint(cli("token", "create", "sis", "-p", "admin", code=1))
    assert "myon_id" in hint(cli("token", "create", "x", "-p", "admin", "--account", "nope", code=1))
    assert "provisionhub token list" in hint(cli("token", "revoke", "nobody", code=1))
    assert "provisionhub oauth-client list" in hint(cli("oauth-client", "create", "reports", code=1))
    assert "provisionhub oauth-client list" in hint(cli("oauth-client", "revoke", "phc-nobody", code=1))


def test_catalogue_errors_say_what_to_do(cli, tmp_path: Path) -> None:
    cli("user-type", "add", "6", "Demo")
    cli("login-source", "add", "SAML", "Campus SSO")
    cli("permission", "add", "reading", "Reading")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"pages": [{"name": "cv", "sections": [{"title": 5}]}]}))

    assert "provisionhub user-type grace 6 DAYS" in hint(cli("user-type", "add", "6", "Again", code=1))
    assert "provisionhub user-type add 7 NAME" in hint(cli("user-type", "grace", "7", "10", code=1))
    assert "provisionhub login-source grace SAML DAYS" in hint(
        cli("login-source", "add", "SAML", "Again", code=1)
    )
    assert "provisionhub login-source add LDAP NAME" in hint(
        cli("login-source", "grace", "LDAP", "3", code=1)
    )
    assert "provisionhub permission list" in hint(cli("permission", "add", "reading", "Again", code=1))
    assert "dialects" in hint(cli("staff", "grant", "nobody", code=1))
    assert "nothing was loaded" in hint(cli("sections", "load", str(bad), code=1))


def test_target_errors_say_what_to_do(cli, directory: Directory) -> None:
    cli("target", "add", "hr", "--kind", "scim", "--url", "http://hr.example")

    taken = hint(cli("target", "add", "hr", "--kind", "scim", "--url", "http://b.example", code=1))
    assert "provisionhub target edit hr" in taken
    for command in (("pause",), ("resume",), ("replay",), ("deliveries",), ("reprovision", "--all")):
        assert "provisionhub target list" in hint(cli("target", command[0], "nobody", *command[1:], code=1))
    assert "username or email" in hint(cli("target", "reprovision", "hr", "--person", "nobody", code=1))
    assert "target reprovision hr --all" in hint(cli("target", "reprovision", "hr", code=1))
    assert "--username" in hint(cli("target", "add", "x", "--kind", "scim", "--url", "http://x.example",
                                     "--password-stdin", code=1))  # fmt: skip


def test_an_error_is_never_wrapped_and_prints_markup_as_it_is(cli) -> None:
    directory_error = cli("staff", "grant", "[bold]" + "x" * 300, code=1)

    [message] = [line for line in directory_error.stderr.splitlines() if line.startswith("error: ")]
    assert "[bold]" + "x" * 300 in message


# -- the database -----------------------------------------------------------------------------------


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """run(*args, url=None, code=1): the command line in tmp_path, on url (None: the default database)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_module.err, "width", 1000)

    def invoke(*args: str, url: str | None = None, code: int = 1) -> Result:
        if url is None:
            monkeypatch.delenv("PROVISIONHUB_DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("PROVISIONHUB_DATABASE_URL", url)
        result = CliRunner().invoke(cli_module.app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.stderr
        return result

    return invoke


def test_a_missing_sqlite_file_is_named_and_not_made_by_a_read(run, tmp_path: Path) -> None:
    missing = run("token", "list")

    assert f"no database at {tmp_path / 'var' / 'provisionhub.db'}" in missing.stderr
    assert "PROVISIONHUB_DATABASE_URL" in hint(missing)
    assert "provisionhub db upgrade" in hint(missing)
    assert list(tmp_path.iterdir()) == []
    assert (
        "no database at" in run("target", "add", "hr", "--kind", "scim", "--url", "http://a.example").stderr
    )
    assert "no database at" in run("lifecycle", "run").stderr

    run("db", "upgrade", code=0)
    assert run("token", "list", "--json", code=0).stdout == "[]\n"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a file, or a PostgreSQL database, with no table."""
    if request.param == "sqlite":
        (tmp_path / "empty.db").touch()
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres_database(request.getfixturevalue("postgres_server"), "provisionhub_test") as url:
        yield url


def test_a_database_not_migrated_says_to_upgrade_it(run, empty_url: str) -> None:
    refused = run("token", "list", url=empty_url)

    assert "is not migrated" in refused.stderr
    assert "schema: none" in refused.stderr
    assert "provisionhub db upgrade" in hint(refused)
    run("db", "upgrade", url=empty_url, code=0)
    run("token", "list", url=empty_url, code=0)


def test_a_database_migrated_by_an_older_version_says_to_upgrade_it(run, empty_url: str) -> None:
    database = Database(empty_url)
    upgrade(database.engine, "0014")
    database.dispose()

    refused = run("target", "list", url=empty_url)

    assert "schema: 0014" in refused.stderr
    assert "provisionhub db upgrade" in hint(refused)


def test_a_database_that_cannot_be_reached_says_so(run) -> None:
    refused = run("token", "list", url="postgresql+psycopg://provisionhub:s3cret@127.0.0.1:1/nothing")

    assert "could not reach the database postgresql+psycopg://provisionhub:***@127.0.0.1:1/nothing" in (
        refused.stderr
    )
    assert "s3cret" not in refused.stderr
    assert "PROVISIONHUB_DATABASE_URL" in hint(refused)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_say_when_the_database_cannot_be_reached(run, command: str) -> None:
    refused = run(command, url="postgresql+psycopg://provisionhub@127.0.0.1:1/nothing")

    assert "could not reach the database" in refused.stderr
