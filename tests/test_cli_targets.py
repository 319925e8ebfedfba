"""`provisionhub target ...` beyond adding and pausing: each target's own call timeout, edits, secret
rotation and removal (tests/provisioning/test_commands.py has the rest)."""

from __future__ import annotations

from sqlalchemy import select

from provisionhub.directory.changes import list_changes
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person

ADD = ("target", "add", "hr", "--kind", "apiprovisioner", "--url", "https://hr.example.edu/people")


def target_row(database: Database, name: str = "hr") -> dict:
    with database.snapshot() as conn:
        return dict(
            conn.execute(select(tables.targets).where(tables.targets.c.name == name)).mappings().one()
        )


def test_a_target_added_with_a_timeout_keeps_it_and_one_without_has_none(cli, database: Database) -> None:
    cli(*ADD, "--timeout", "2.5")
    cli("target", "add", "lms", "--kind", "scim", "--url", "https://lms.example.edu/scim/v2")

    assert target_row(database)["timeout_seconds"] == 2.5
    assert target_row(database, "lms")["timeout_seconds"] is None
    refused = cli(
        "target", "add", "x", "--kind", "scim", "--url", "http://x.example", "--timeout", "0", code=1
    )
    assert "timeout" in refused.stderr


def test_target_edit_changes_what_is_given_and_says_so(cli, database: Database) -> None:
    cli(*ADD, "--rate-limit", "5/s", "--timeout", "2")

    edited = cli(
        "target", "edit", "hr", "--url", "https://people.example.edu/api/", "--mode", "post",
        "--no-rate-limit", "--default-timeout", "--max-attempts", "4", "--include-date-of-birth",
    )  # fmt: skip

    row = target_row(database)
    assert (row["url"], row["mode"], row["rate_limit"], row["timeout_seconds"], row["max_attempts"]) == (
        "https://people.example.edu/api", "post", None, None, 4
    )  # fmt: skip
    assert row["include_date_of_birth"] is True
    assert "url: https://hr.example.edu/people -> https://people.example.edu/api" in edited.stderr
    assert "rate_limit: 5 -> (none)" in edited.stderr
    cli("target", "edit", "hr", "--no-include-date-of-birth", "--upsert-method", "post")
    assert (target_row(database)["include_date_of_birth"], target_row(database)["upsert_method"]) == (
        False, "POST"
    )  # fmt: skip
    assert "unchanged" in cli("target", "edit", "hr", "--max-attempts", "4").stderr


def test_target_edit_renames_and_sets_or_drops_credentials_never_showing_them(
    cli, database: Database
) -> None:
    cli(*ADD)

    basic = cli("target", "edit", "hr", "--username", "registry", "--password-stdin", stdin="pa55-w0rd\n")
    bearer = cli("target", "edit", "hr", "--bearer-token-stdin", "--name", "people", stdin="t0ken-xyz\n")

    row = target_row(database, "people")
    assert (row["auth"], row["username"], row["secret"]) == ("bearer", None, "t0ken-xyz")
    assert "secret: (none) -> ***" in basic.stderr
    assert "name: hr -> people" in bearer.stderr
    cli("target", "edit", "people", "--no-auth")
    row = target_row(database, "people")
    assert (row["auth"], row["username"], row["secret"]) == ("none", None, None)
    with database.snapshot() as conn:
        logged = str([c.fields for c in list_changes(conn, entity_type="target")])
    assert "pa55-w0rd" not in logged
    assert "t0ken-xyz" not in logged


def test_target_edit_with_nothing_to_change_names_the_options(cli) -> None:
    cli(*ADD)

    refused = cli("target", "edit", "hr", code=1)

    assert "nothing to change" in refused.stderr
    for option in ("--url", "--mode", "--username", "--bearer-token-stdin", "--no-auth", "--rate-limit",
                   "--timeout", "--max-attempts", "--include-date-of-birth", "--name"):  # fmt: skip
        assert option in refused.stderr


def test_target_edit_refuses_what_add_refuses_and_says_what_to_do(cli) -> None:
    cli(*ADD)
    cli("target", "add", "lms", "--kind", "scim", "--url", "https://lms.example.edu/scim/v2")

    assert "http" in cli("target", "edit", "hr", "--url", "ftp://hr.example.edu", code=1).stderr
    assert "timeout" in cli("target", "edit", "hr", "--timeout", "-1", code=1).stderr
    cli("target", "edit", "hr", "--rate-limit", "5/s", "--no-rate-limit", code=1)
    cli("target", "edit", "hr", "--no-auth", "--bearer-token-stdin", code=1, stdin="x\n")
    cli("target", "edit", "hr", "--password-stdin", code=1, stdin="x\n")  # needs --username
    assert "--password-stdin" in cli("target", "edit", "hr", "--username", "u", code=1).stderr
    taken = cli("target", "edit", "hr", "--name", "lms", code=1).stderr
    assert "exists" in taken
    assert "target list" in taken
    unknown = cli("target", "edit", "nobody", "--max-attempts", "2", code=1).stderr
    assert "no target is named 'nobody'" in unknown
    assert "provisionhub target list" in unknown


def test_target_rotate_secret_reads_the_new_one_from_stdin(cli, database: Database) -> None:
    cli(*ADD, "--bearer-token-stdin", stdin="first-t0ken\n")

    rotated = cli("target", "rotate-secret", "hr", stdin="second-t0ken\n")

    assert target_row(database)["secret"] == "second-t0ken"
    assert "second-t0ken" not in rotated.stderr + rotated.stdout
    with database.snapshot() as conn:
        [*_, change] = list_changes(conn, entity_type="target")
    assert (change.action, dict(change.fields)) == ("rotate", {"secret": ["***", "***"]})
    assert "no new secret" in cli("target", "rotate-secret", "hr", stdin="\n", code=1).stderr


def test_target_rotate_secret_of_a_target_without_credentials_says_how_to_give_some(cli) -> None:
    cli(*ADD)

    refused = cli("target", "rotate-secret", "hr", stdin="s3cret\n", code=1).stderr

    assert "no credentials" in refused
    assert "provisionhub target edit hr --bearer-token-stdin" in refused
    assert "--username USER --password-stdin" in refused


def owing(cli, directory: Directory, people: int) -> None:
    """Target hr, paused, owing a delivery to each of people new people."""
    cli(*ADD)
    cli("target", "pause", "hr")
    for _ in range(people):
        new_person(directory)
    cli("target", "reprovision", "hr", "--all")


def test_target_remove_is_refused_while_deliveries_are_unsent_and_says_what_to_do(
    cli, database: Database, directory: Directory
) -> None:
    owing(cli, directory, 2)

    refused = cli("target", "remove", "hr", code=1).stderr

    assert "2 deliveries pending or being sent" in refused
    assert "provisionhub target deliveries hr --state pending" in refused
    assert "provisionhub target remove hr --force" in refused
    assert "hr" in cli("target", "list").stdout


def test_target_remove_with_force_dead_letters_and_frees_the_name(
    cli, database: Database, directory: Directory
) -> None:
    owing(cli, directory, 1)
    old_id = target_row(database)["id"]

    removed = cli("target", "remove", "hr", "--force").stderr

    assert "1 unsent deliveries dead-lettered" in removed
    assert "hr.example.edu" not in cli("target", "list").stdout
    assert "no target is named 'hr'" in cli("target", "deliveries", "hr", code=1).stderr
    with database.snapshot() as conn:
        [dead] = conn.execute(select(tables.deliveries).where(tables.deliveries.c.target_id == old_id)).all()
        [*_, change] = list_changes(conn, entity_type="target")
    assert (dead.state, dead.last_error) == ("dead", "target removed by cli")
    assert (change.entity_id, change.action) == ("hr", "remove")
    cli("target", "add", "hr", "--kind", "scim", "--url", "https://new.example.edu/scim/v2")
    assert "new.example.edu" in cli("target", "list").stdout
    assert "removed" in cli("target", "remove", "hr").stderr  # nothing owed: no --force needed
    assert "target list" in cli("target", "remove", "hr", code=1).stderr


def _add(cli, url: str, *options: str, code: int = 0):
    return cli(
        "target", "add", "hr", "--kind", "scim", "--url", url, "--bearer-token-stdin", *options,
        stdin="t0ken-xyz\n", code=code,
    )  # fmt: skip


def test_a_secret_over_plain_http_to_loopback_is_accepted(cli, database: Database) -> None:
    for name, url in (
        ("a", "http://127.0.0.1:8080/scim"),
        ("b", "http://[::1]/scim"),
        ("c", "http://localhost"),
    ):
        cli("target", "add", name, "--kind", "scim", "--url", url, "--username", "u", "--password-stdin",
            stdin="pa55-w0rd\n")  # fmt: skip

    assert target_row(database, "b")["auth"] == "basic"


def test_a_secret_over_https_to_any_host_is_accepted(cli, database: Database) -> None:
    _add(cli, "https://lms.example.edu/scim/v2")

    assert target_row(database)["auth"] == "bearer"


def test_a_secret_over_plain_http_to_a_remote_host_is_refused_naming_the_option(
    cli, database: Database
) -> None:
    refused = _add(cli, "http://lms.example.edu/scim/v2", code=1)

    assert "in the clear" in refused.stderr
    assert "lms.example.edu" in refused.stderr
    assert "--allow-insecure" in refused.stderr
    with database.snapshot() as conn:
        assert conn.execute(select(tables.targets)).first() is None


def test_a_secret_over_plain_http_to_a_remote_host_with_allow_insecure_is_accepted(
    cli, database: Database
) -> None:
    _add(cli, "http://10.0.0.7/scim/v2", "--allow-insecure")

    assert target_row(database)["url"] == "http://10.0.0.7/scim/v2"


def test_an_edit_giving_a_remote_http_target_a_secret_is_refused(cli, database: Database) -> None:
    cli("target", "add", "hr", "--kind", "scim", "--url", "http://lms.example.edu/scim/v2")

    refused = cli("target", "edit", "hr", "--bearer-token-stdin", stdin="t0ken-xyz\n", code=1)
    moved = cli("target", "edit", "hr", "--url", "http://127.0.0.2/scim/v2")

    assert "--allow-insecure" in refused.stderr
    assert "url: http://lms.example.edu/scim/v2 -> http://127.0.0.2/scim/v2" in moved.stderr
    cli("target", "edit", "hr", "--bearer-token-stdin", stdin="t0ken-xyz\n")
    assert "--allow-insecure" in cli("target", "edit", "hr", "--url", "http://lms.example.edu", code=1).stderr
    cli("target", "edit", "hr", "--url", "http://lms.example.edu", "--allow-insecure")
    assert (target_row(database)["auth"], target_row(database)["url"]) == ("bearer", "http://lms.example.edu")
