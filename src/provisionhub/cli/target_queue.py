"""`provisionhub target list, pause, resume, reprovision, deliveries, replay`: targets' queues of
deliveries, as an operator watches and steers them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from provisionhub.cli.doors import ACTOR, Hints, err, fail
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.cli.listing import Field, JsonOption, cell, show
from provisionhub.cli.targets import UNKNOWN_TARGET, target_app
from provisionhub.directory.errors import NotFound
from provisionhub.directory.operations import utcnow
from provisionhub.provisioning import overview, requeue
from provisionhub.provisioning.targets import set_paused


@target_app.command("list")
def target_list(as_json: JsonOption = False) -> None:
    """Targets with their state, queue depth, dead letters, last success and last error. Never secrets."""
    show(TARGET_FIELDS, [asdict(target) for target in _in_transaction(overview.summaries)], as_json)


#: A target's settings: in JSON only (never its secret).
SETTINGS = ("mode", "upsert_method", "identifier_type", "auth", "username", "include_date_of_birth",
            "rate_limit", "max_attempts", "timeout_seconds")  # fmt: skip
TARGET_FIELDS = (
    Field("name", whole=True),
    Field("kind"),
    Field("url", whole=True),
    *(Field(key, table=False) for key in SETTINGS),
    Field("state"),
    Field("queued"),
    Field("dead"),
    Field("last_success_at", "last success"),
    Field(
        "last_error",
        shown=lambda r: f"{cell(r['last_error_at'])} {r['last_error']}" if r["last_error"] else "",
    ),
    Field("last_error_at", table=False),
)


@target_app.command("pause")
def target_pause(name: str) -> None:
    """Stop sending to a target; its deliveries queue up."""
    _in_transaction(lambda conn: set_paused(conn, name, True, ACTOR, utcnow()), UNKNOWN_TARGET)
    err.print(f"target {name!r} paused")


@target_app.command("resume")
def target_resume(name: str) -> None:
    """Send to a paused (or automatically tripped) target again."""
    _in_transaction(lambda conn: set_paused(conn, name, False, ACTOR, utcnow()), UNKNOWN_TARGET)
    err.print(f"target {name!r} resumed")


@target_app.command("reprovision")
def target_reprovision(
    name: str,
    person: Annotated[str | None, typer.Option(help="A person's id, username or email.")] = None,
    all_people: Annotated[bool, typer.Option("--all", help="Everyone not deleted.")] = False,
) -> None:
    """Send people to a target again (COmanage's manual provision)."""
    if (person is None) == (not all_people):
        fail("--person ID or --all, one of them", f"e.g. `provisionhub target reprovision {name} --all`")
    hints: Hints = {
        **UNKNOWN_TARGET,
        (NotFound, "person"): "give a person's id, username or email, as the dialects show them",
    }
    queued = _in_transaction(lambda conn: requeue.reprovision(conn, name, person, ACTOR, utcnow()), hints)
    err.print(f"{queued} deliveries queued for {name!r}")


@target_app.command("deliveries")
def target_deliveries(
    name: str,
    state: Annotated[
        str | None,
        typer.Option(help="pending, sending, delivered, dead, or failed (pending after a failure)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="The newest this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """A target's newest deliveries: person, event, state, tries, next try, last status and error."""
    if state not in (None, "pending", "sending", "delivered", "dead", "failed", "folded"):
        fail("--state is pending, sending, delivered, dead, failed or folded")
    found = _in_transaction(lambda conn: overview.list_deliveries(conn, name, state, limit), UNKNOWN_TARGET)
    show(DELIVERY_FIELDS, [asdict(delivery) for delivery in found], as_json)


DELIVERY_FIELDS = (
    Field("id", whole=True),
    Field("person", whole=True),
    Field("event"),
    Field("state"),
    Field("attempts", "tries"),
    Field("next_attempt_at", "next try"),
    Field("last_status", "status"),
    Field("last_error", "error"),
    Field("created_at", "created"),
    Field("finished_at", table=False),
)


@target_app.command("replay")
def target_replay(name: str) -> None:
    """Put a target's dead deliveries back in the queue."""
    moved = _in_transaction(lambda conn: requeue.replay(conn, name, ACTOR, utcnow()), UNKNOWN_TARGET)
    err.print(f"{moved} dead deliveries of {name!r} back in the queue")
