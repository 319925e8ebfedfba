"""`provisionhub target ...`: targets added, listed (never their secrets), paused, resumed, reprovisioned,
their deliveries shown and dead letters replayed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from provisionhub.directory.changes import list_changes
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person


def test_a_target_added_with_a_password_on_stdin_never_shows_it(cli, database: Database) -> None:
    cli(
        "target", "add", "hr", "--kind", "apiprovisioner", "--url", "https://hr.example.edu/rest/people/",
        "--mode", "post", "--identifier-type", "username", "--username", "registry", "--password-stdin",
        "--rate-limit", "20/s", "--max-attempts", "4",
        stdin="pa55-w0rd\n",
    )  # fmt: skip

    listed = cli("target", "list").stdout
    assert "hr" in listed
    assert "https://hr.example.edu/rest/people" in listed
    assert "pa55-w0rd" not in listed
    with database.snapshot() as conn:
        row = conn.execute(select(tables.targets)).mappings().one()
        logged = list_changes(conn, after=0, limit=100)
    assert (row["auth"], row["username"], row["secret"], row["mode"]) == (
        "basic",
        "registry",
        "pa55-w0rd",
        "post",
    )
    assert (row["rate_limit"], row["max_attempts"], row["url"]) == (
        20,
        4,
        "https://hr.example.edu/rest/people",
    )
    target_changes = [c for c in logged if c.entity_type == "target"]
    assert target_changes
    assert all("pa55-w0rd" not in str(c.fields) for c in target_changes)


def test_bad_target_options_are_refused(cli) -> None:
    refused = cli("target", "add", "x", "--kind", "apiprovisioner", "--url", "ftp://nowhere", code=1)
    assert "http" in refused.stderr
    cli(
        "target",
        "add",
        "x",
        "--kind",
        "apiprovisioner",
        "--url",
        "http://a.example",
        "--rate-limit",
        "fast",
        code=1,
    )
    cli(
        "target",
        "add",
        "x",
        "--kind",
        "apiprovisioner",
        "--url",
        "http://a.example",
        "--password-stdin",
        code=1,
    )
    cli("target", "add", "x", "--kind", "apiprovisioner", "--url", "http://a.example")
    assert "exists" in cli("target", "add", "x", "--kind", "scim", "--url", "http://b.example", code=1).stderr


def test_pause_resume_reprovision_deliveries_and_replay(
    cli, database: Database, directory: Directory
) -> None:
    cli("target", "add", "lms", "--kind", "apiprovisioner", "--url", "http://lms.example")
    first = new_person(directory)
    new_person(directory)
    cli("target", "pause", "lms")
    assert "paused" in cli("target", "list").stdout

    assert "2 deliveries queued" in cli("target", "reprovision", "lms", "--all").stderr
    assert queue_columns(cli("target", "list").stdout) == ("2", "0")  # queued, dead
    shown = cli("target", "deliveries", "lms").stdout
    assert first in shown
    assert "reprovision" in shown
    cli("target", "reprovision", "lms", code=1)  # --person or --all
    assert "no person" in cli("target", "reprovision", "lms", "--person", "nobody", code=1).stderr

    with database.transaction() as conn:  # as the dispatcher leaves a delivery that ran out of tries
        conn.execute(update(tables.deliveries).values(state="dead", finished_at=datetime.now(UTC)))
    assert first in cli("target", "deliveries", "lms", "--state", "dead").stdout
    assert queue_columns(cli("target", "list").stdout) == ("0", "2")
    assert "2 dead deliveries" in cli("target", "replay", "lms").stderr
    assert first not in cli("target", "deliveries", "lms", "--state", "dead").stdout
    cli("target", "resume", "lms")
    assert "active" in cli("target", "list").stdout
    cli("target", "pause", "nope", code=1)


def queue_columns(listed: str) -> tuple[str, str]:
    """The queued and dead counts of the one target in `target list`'s table."""
    [row] = [line for line in listed.splitlines() if "http://lms.example" in line]
    cells = [cell.strip() for cell in row.strip("│┃ ").split("│")]
    return cells[4], cells[5]
