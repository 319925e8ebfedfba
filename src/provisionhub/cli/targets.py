"""`provisionhub target ...`: the systems people are provisioned to, and their deliveries."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from provisionhub.cli.doors import ACTOR, err, out
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.provisioning import overview, requeue
from provisionhub.provisioning.dispatcher import utcnow
from provisionhub.provisioning.targets import (
    AddTarget,
    IdentifierType,
    Kind,
    Mode,
    add_target,
    set_paused,
)

target_app = typer.Typer(
    help="Targets: the systems people are provisioned to, and their deliveries.", no_args_is_help=True
)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _read_secret(what: str) -> str:
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        err.print(f"[red]error:[/red] no {what} on standard input")
        raise typer.Exit(1)
    return secret


@target_app.command("add")
def target_add(
    name: str,
    kind: Annotated[Kind, typer.Option(help="The connector: apiprovisioner or scim.")],
    url: Annotated[str, typer.Option(help="The target's base URL.")],
    mode: Annotated[
        Mode, typer.Option(help="ApiProvisioner: post (all to URL/) or put (URL/identifier).")
    ] = Mode.PUT,
    upsert_method: Annotated[
        str, typer.Option(help="PUT mode's upsert method: PUT (the seed) or POST (COmanage's code).")
    ] = "PUT",
    identifier_type: Annotated[
        IdentifierType, typer.Option(help="What names a person to the target.")
    ] = IdentifierType.UUID,
    username: Annotated[
        str | None, typer.Option(help="HTTP Basic user; the password comes on stdin.")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the Basic password from stdin.")] = False,
    bearer_token_stdin: Annotated[bool, typer.Option(help="Read a bearer token from stdin.")] = False,
    rate_limit: Annotated[str | None, typer.Option(help="At most N deliveries a second, as N/s.")] = None,
    max_attempts: Annotated[int, typer.Option(help="Tries before a delivery is dead.")] = 10,
    timeout: Annotated[
        float | None,
        typer.Option(help="Each call's timeout in seconds (default: the delivery_timeout_seconds setting)."),
    ] = None,
    include_date_of_birth: Annotated[
        bool, typer.Option(help="Send dates of birth (ApiProvisioner).")
    ] = False,
) -> None:
    """Add a target. Its secret is read from stdin and never shown again."""
    if password_stdin and bearer_token_stdin:
        err.print("[red]error:[/red] --password-stdin or --bearer-token-stdin, not both")
        raise typer.Exit(1)
    if password_stdin and username is None:
        err.print("[red]error:[/red] --password-stdin needs --username")
        raise typer.Exit(1)
    secret = _read_secret("password" if password_stdin else "bearer token") if (
        password_stdin or bearer_token_stdin
    ) else None  # fmt: skip
    command = AddTarget(
        name=name,
        kind=kind,
        url=url,
        mode=mode,
        upsert_method=upsert_method.upper(),
        identifier_type=identifier_type,
        username=username,
        secret=secret,
        bearer=bearer_token_stdin,
        include_date_of_birth=include_date_of_birth,
        rate_limit=_rate(rate_limit),
        max_attempts=max_attempts,
        timeout_seconds=timeout,
    )
    target = _in_transaction(lambda conn: add_target(conn, command, ACTOR, utcnow()))
    err.print(f"target {target.name!r} added ({target.kind.value}, {target.url})")


def _rate(text: str | None) -> int | None:
    if text is None:
        return None
    number = text.removesuffix("/s")
    if not number.isdigit() or int(number) < 1:
        err.print("[red]error:[/red] --rate-limit is a whole number of deliveries a second, as 50/s")
        raise typer.Exit(1)
    return int(number)


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
        err.print("[red]error:[/red] --person ID or --all")
        raise typer.Exit(1)
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
        err.print("[red]error:[/red] --state is pending, sending, delivered, dead, failed or folded")
        raise typer.Exit(1)
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
