"""`provisionhub target add, edit, rotate-secret`: the systems people are provisioned to, as configured.
Their queues (list, pause, deliveries...) are in target_queue.py."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from provisionhub.cli.doors import ACTOR, Hints, err, fail, refusals
from provisionhub.cli.doors import in_transaction as _in_transaction
from provisionhub.directory.errors import Conflict, Invalid, NotFound
from provisionhub.directory.operations import utcnow
from provisionhub.provisioning.target_changes import (
    KEEP,
    EditTarget,
    Keep,
    Unsent,
    edit_target,
    remove_target,
    rotate_secret,
)
from provisionhub.provisioning.targets import (
    AddTarget,
    Auth,
    Credentials,
    IdentifierType,
    InsecureTransport,
    Kind,
    Mode,
    add_target,
    credentials_for,
)

target_app = typer.Typer(
    help="Targets: the systems people are provisioned to, and their deliveries.", no_args_is_help=True
)

URL_HELP = "The target's base URL."
INSECURE_HELP = "Send the secret over plain http:// to a host that is not loopback (read in the clear)."
INSECURE_HINT = (
    "use an https:// URL; or, if the network between is trusted, give --allow-insecure to send the"
    " secret over plain http:// anyway"
)
MODE_HELP = "ApiProvisioner: post (all to URL/) or put (URL/identifier)."
UPSERT_HELP = "PUT mode's upsert method: PUT (the seed) or POST (COmanage's code)."
IDENTIFIER_HELP = "What names a person to the target."
USERNAME_HELP = "HTTP Basic user; the password comes on stdin (--password-stdin)."
PASSWORD_HELP = "Read the Basic password from stdin."  # noqa: S105 (help text, not a password)
BEARER_HELP = "Read a bearer token from stdin."
RATE_HELP = "At most N deliveries a second, as N/s."
ATTEMPTS_HELP = "Tries before a delivery is dead."
TIMEOUT_HELP = "Each call's timeout in seconds (default: the delivery_timeout_seconds setting)."
BIRTH_HELP = "Send dates of birth (ApiProvisioner)."

#: For every command that names a target.
UNKNOWN_TARGET: Hints = {(NotFound, "target"): "`provisionhub target list` shows the targets there are"}


def _read_secret(what: str) -> str:
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        fail(f"no {what} on standard input", 'pipe it in, e.g. `printf %s "$SECRET" | provisionhub ...`')
    return secret


def _stdin_secret(username: str | None, password_stdin: bool, bearer_token_stdin: bool) -> str | None:
    """The password or bearer token the options say stdin carries (None: neither)."""
    if password_stdin and bearer_token_stdin:
        fail("--password-stdin or --bearer-token-stdin, not both")
    if password_stdin and username is None:
        fail("--password-stdin needs --username", "give the Basic user with --username NAME")
    if password_stdin or bearer_token_stdin:
        return _read_secret("password" if password_stdin else "bearer token")
    return None


def _rate(text: str | None) -> int | None:
    if text is None:
        return None
    number = text.removesuffix("/s")
    if not number.isdigit() or int(number) < 1:
        fail("--rate-limit is a whole number of deliveries a second, as 50/s")
    return int(number)


@target_app.command("add")
def target_add(
    name: str,
    kind: Annotated[Kind, typer.Option(help="The connector: apiprovisioner or scim.")],
    url: Annotated[str, typer.Option(help=URL_HELP)],
    mode: Annotated[Mode, typer.Option(help=MODE_HELP)] = Mode.PUT,
    upsert_method: Annotated[str, typer.Option(help=UPSERT_HELP)] = "PUT",
    identifier_type: Annotated[IdentifierType, typer.Option(help=IDENTIFIER_HELP)] = IdentifierType.UUID,
    username: Annotated[str | None, typer.Option(help=USERNAME_HELP)] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=PASSWORD_HELP)] = False,
    bearer_token_stdin: Annotated[bool, typer.Option("--bearer-token-stdin", help=BEARER_HELP)] = False,
    rate_limit: Annotated[str | None, typer.Option(help=RATE_HELP)] = None,
    max_attempts: Annotated[int, typer.Option(help=ATTEMPTS_HELP)] = 10,
    timeout: Annotated[float | None, typer.Option(help=TIMEOUT_HELP)] = None,
    include_date_of_birth: Annotated[bool, typer.Option(help=BIRTH_HELP)] = False,
    allow_insecure: Annotated[bool, typer.Option("--allow-insecure", help=INSECURE_HELP)] = False,
) -> None:
    """Add a target. Its secret is read from stdin and never shown again."""
    secret = _stdin_secret(username, password_stdin, bearer_token_stdin)
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
        allow_insecure=allow_insecure,
    )
    hint = f"change that target with `provisionhub target edit {name}`, or choose another name"
    taken: Hints = {(Conflict, "name"): hint, InsecureTransport: INSECURE_HINT}
    target = _in_transaction(lambda conn: add_target(conn, command, ACTOR, utcnow()), taken)
    err.print(f"target {target.name!r} added ({target.kind.value}, {target.url})", highlight=False)


@target_app.command("edit")
def target_edit(
    context: typer.Context,
    name: Annotated[str, typer.Argument(help="The target's name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    url: Annotated[str | None, typer.Option(help=URL_HELP)] = None,
    mode: Annotated[Mode | None, typer.Option(help=MODE_HELP)] = None,
    upsert_method: Annotated[str | None, typer.Option(help=UPSERT_HELP)] = None,
    identifier_type: Annotated[IdentifierType | None, typer.Option(help=IDENTIFIER_HELP)] = None,
    username: Annotated[str | None, typer.Option(help=USERNAME_HELP)] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=PASSWORD_HELP)] = False,
    bearer_token_stdin: Annotated[bool, typer.Option("--bearer-token-stdin", help=BEARER_HELP)] = False,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Call with no credentials.")] = False,
    rate_limit: Annotated[str | None, typer.Option(help=RATE_HELP)] = None,
    no_rate_limit: Annotated[bool, typer.Option("--no-rate-limit", help="Drop the rate limit.")] = False,
    max_attempts: Annotated[int | None, typer.Option(help=ATTEMPTS_HELP)] = None,
    timeout: Annotated[float | None, typer.Option(help=TIMEOUT_HELP)] = None,
    default_timeout: Annotated[
        bool, typer.Option("--default-timeout", help="Use the delivery_timeout_seconds setting again.")
    ] = False,
    include_date_of_birth: Annotated[bool | None, typer.Option(help=BIRTH_HELP, show_default=False)] = None,
    allow_insecure: Annotated[bool, typer.Option("--allow-insecure", help=INSECURE_HELP)] = False,
) -> None:
    """Change a target's settings: only those given change. A new secret is read from stdin."""
    if no_rate_limit and rate_limit is not None:
        fail("--rate-limit or --no-rate-limit, not both")
    if default_timeout and timeout is not None:
        fail("--timeout or --default-timeout, not both")
    credentials = _credentials(username, password_stdin, bearer_token_stdin, no_auth)
    command = EditTarget(
        name,
        new_name=_given(new_name),
        url=_given(url),
        mode=_given(mode),
        upsert_method=_given(upsert_method and upsert_method.upper()),
        identifier_type=_given(identifier_type),
        credentials=credentials,
        include_date_of_birth=_given(include_date_of_birth),
        rate_limit=None if no_rate_limit else _given(_rate(rate_limit)),
        max_attempts=_given(max_attempts),
        timeout_seconds=None if default_timeout else _given(timeout),
        allow_insecure=allow_insecure,
    )
    if not command.columns():
        fail("nothing to change", f"give one or more of {_options(context)}")
    hints = {
        **UNKNOWN_TARGET,
        (Conflict, "name"): "choose another name: `provisionhub target list` shows those taken",
        InsecureTransport: INSECURE_HINT,
    }
    target, changed = _in_transaction(lambda conn: edit_target(conn, command, ACTOR, utcnow()), hints)
    if not changed:
        err.print(f"target {target.name!r} unchanged: it was so already", highlight=False)
        return
    err.print(f"target {name!r} edited:", highlight=False)
    for column, (old, new) in changed.items():
        err.print(f"  {column}: {_shown(old)} -> {_shown(new)}", highlight=False)


def _credentials(
    username: str | None, password_stdin: bool, bearer_token_stdin: bool, no_auth: bool
) -> Credentials | Keep:
    """The credentials the edit's options give: none (--no-auth), new ones, or KEEP when none is given."""
    if no_auth:
        if username is not None or password_stdin or bearer_token_stdin:
            fail("--no-auth or new credentials, not both")
        return Credentials(Auth.NONE)
    if username is None and not password_stdin and not bearer_token_stdin:
        return KEEP
    secret = _stdin_secret(username, password_stdin, bearer_token_stdin)
    with refusals():
        return credentials_for(username, secret, bearer=bearer_token_stdin)


def _given(value: Any) -> Any:
    """An option's value, or KEEP when it was not given."""
    return KEEP if value is None else value


def _options(context: typer.Context) -> str:
    return ", ".join(
        param.opts[0]
        for param in context.command.params
        if param.param_type_name == "option" and param.name != "help"
    )


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


@target_app.command("rotate-secret")
def target_rotate_secret(name: Annotated[str, typer.Argument(help="The target's name.")]) -> None:
    """Give a target a new password (HTTP Basic) or bearer token, read from stdin."""
    secret = _read_secret("new secret")
    no_auth = (
        f"give it credentials instead: `provisionhub target edit {name} --bearer-token-stdin`, or "
        f"`provisionhub target edit {name} --username USER --password-stdin`"
    )
    hints: Hints = {**UNKNOWN_TARGET, (Invalid, "auth"): no_auth}
    _in_transaction(lambda conn: rotate_secret(conn, name, secret, ACTOR, utcnow()), hints)
    err.print(f"target {name!r}: new secret in use from its next delivery", highlight=False)


@target_app.command("remove")
def target_remove(
    name: Annotated[str, typer.Argument(help="The target's name.")],
    force: Annotated[
        bool, typer.Option("--force", help="Even with deliveries unsent: they are dead-lettered.")
    ] = False,
) -> None:
    """Remove a target: nothing more is sent to it, and its name is free. Refused while deliveries to it
    are pending or being sent, unless --force."""
    unsent = (
        f"see them with `provisionhub target deliveries {name} --state pending`; wait for them to go out "
        f"(`provisionhub target resume {name}` if it is paused), or dead-letter them and remove it with "
        f"`provisionhub target remove {name} --force`"
    )
    hints: Hints = {**UNKNOWN_TARGET, Unsent: unsent}
    dead = _in_transaction(lambda conn: remove_target(conn, name, force, ACTOR, utcnow()), hints)
    ended = f" ({dead} unsent deliveries dead-lettered)" if dead else ""
    err.print(f"target {name!r} removed{ended}", highlight=False)
