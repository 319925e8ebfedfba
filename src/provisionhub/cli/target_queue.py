"""`provisionhub target list, pause, resume, reprovision, deliveries, replay`: targets' queues of
deliveries, as an operator watches and steers them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from provisionhub.cli.doors import ACTOR, err, fail, out
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.cli.targets import target_app
from provisionhub.provisioning import overview, requeue
from provisionhub.provisioning.dispatcher import utcnow
from provisionhub.provisioning.targets import set_paused


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


@target_app.command("list")
def target_list() -> None:
    """Targets with their state, queue depth, dead letters, last success and last error. Never secrets."""
    found = _in_transaction(overview.summaries)
    table = Table("name", "kind", "url", "state", "queued", "dead", "last success", "last error")
    for target in found:
        error = f"{_when(target.last_error_at)} {target.last_error}" if target.last_error else ""
        table.add_row(
            target.name,
            target.kind,
            target.url,
            target.state,
            str(target.queued),
            str(target.dead),
            _when(target.last_success_at),
            error,
        )
    out.print(table)


@target_app.command("pause")
def target_pause(name: str) -> None:
    """Stop sending to a target; its deliveries queue up."""
    _in_transaction(lambda conn: set_paused(conn, name, True, ACTOR, utcnow()))
    err.print(f"target {name!r} paused")


@target_app.command("resume")
def target_resume(name: str) -> None:
    """Send to a paused (or automatically tripped) target again."""
    _in_transaction(lambda conn: set_paused(conn, name, False, ACTOR, utcnow()))
    err.print(f"target {name!r} resumed")


@target_app.command("reprovision")
def target_reprovision(
    name: str,
    person: Annotated[str | None, typer.Option(help="A person's id, username or email.")] = None,
    all_people: Annotated[bool, typer.Option("--all", help="Everyone not deleted.")] = False,
) -> None:
    """Send people to a target again (COmanage's manual provision)."""
    if (person is None) == (not all_people):
        fail("--person ID or --all")
    queued = _in_transaction(lambda conn: requeue.reprovision(conn, name, person, ACTOR, utcnow()))
    err.print(f"{queued} deliveries queued for {name!r}")


@target_app.command("deliveries")
def target_deliveries(
    name: str,
    state: Annotated[
        str | None,
        typer.Option(help="pending, sending, delivered, dead, or failed (pending after a failure)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="The newest this many.")] = 100,
) -> None:
    """A target's newest deliveries: person, event, state, tries, next try, last status and error."""
    if state not in (None, "pending", "sending", "delivered", "dead", "failed", "folded"):
        fail("--state is pending, sending, delivered, dead, failed or folded")
    found = _in_transaction(lambda conn: overview.list_deliveries(conn, name, state, limit))
    table = Table("id", "person", "event", "state", "tries", "next try", "status", "error", "created")
    for d in found:
        table.add_row(
            str(d.id),
            d.person,
            d.event,
            d.state,
            str(d.attempts),
            _when(d.next_attempt_at),
            "" if d.last_status is None else str(d.last_status),
            d.last_error or "",
            _when(d.created_at),
        )
    out.print(table)


@target_app.command("replay")
def target_replay(name: str) -> None:
    """Put a target's dead deliveries back in the queue."""
    moved = _in_transaction(lambda conn: requeue.replay(conn, name, ACTOR, utcnow()))
    err.print(f"{moved} dead deliveries of {name!r} back in the queue")
