"""`provisionhub demo`: the demo loaded into an empty database, or refused on one that holds anything
else; then what was loaded and how to look at it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy import Connection

from provisionhub.auth.authenticator import directory_over
from provisionhub.cli.demo.loading import (
    ACTOR,
    OAUTH_CLIENT,
    RECEIVER,
    TARGET,
    TOKEN,
    TOKEN_PERMISSIONS,
    Loaded,
    load,
)
from provisionhub.cli.doors import database, err
from provisionhub.cli.serve import base_url
from provisionhub.directory.changes import list_changes, logged_entities
from provisionhub.directory.errors import DirectoryError
from provisionhub.directory.operations import utcnow
from provisionhub.settings import Settings
from provisionhub.store.migrate import upgrade

#: The change log's entity types, as a person reads them: (one, many).
_NAMES = {
    "person": ("person", "people"),
    "organisation": ("organisation", "organisations"),
    "group": ("group", "groups"),
    "api_token": ("API token", "API tokens"),
    "oauth_client": ("OAuth client", "OAuth clients"),
    "target": ("target", "targets"),
    "user_type": ("user type", "user types"),
    "login_source": ("login source", "login sources"),
    "entitlement": ("permission", "permissions"),
    "grant": ("grant", "grants"),
    "profile_section": ("profile section", "profile sections"),
}

#: A fresh database for the demo, as `make demo` or the command line takes it (then the same for the rest).
FRESH = "PROVISIONHUB_DATABASE_URL=sqlite:///./var/demo.db make demo"


def demo(
    receiver: Annotated[
        str, typer.Option(help="The URL the demo's target delivers to (where `provisionhub sink` listens).")
    ] = RECEIVER,
) -> None:
    """Load a small demo world (a school district, a university, people, a target) into an empty database."""
    with database() as opened:
        upgrade(opened.engine)
        try:
            with opened.transaction() as conn:
                if _refused(conn):
                    return
                loaded = load(conn, directory_over(opened), receiver, utcnow())
        except DirectoryError as exc:
            err.print(f"[red]error:[/red] the demo was not loaded (nothing was written): {exc.message}")
            raise typer.Exit(1) from None
    _report(loaded, receiver, Settings())


def _refused(conn: Connection) -> bool:
    """Whether the database holds anything already: the demo (said, and True) or something else (said,
    and exit 1). Nothing is ever erased, so the change log names all that was written."""
    found = logged_entities(conn)
    if not found:
        return False
    created = list_changes(conn, entity_type="target", entity_id=TARGET, limit=1)
    if created and created[0].actor == ACTOR:
        when = _moment(created[0].occurred_at)
        err.print(
            f"the demo is already loaded in this database (on {when}); nothing was written", soft_wrap=True
        )
        return True
    held = ", ".join(_counted(n, *_NAMES.get(kind, (kind, kind))) for kind, n in found.items())
    err.print(
        f"[red]error:[/red] this database already holds data: {held}.\n"
        "The demo loads only into an empty database, so that it never mixes with real data. "
        f"Use a fresh one:\n\n    {FRESH}\n\n"
        "(or `provisionhub demo` with that variable set), and the same variable for `make run` and the "
        "command line.\n",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _report(loaded: Loaded, receiver: str, settings: Settings) -> None:
    """What was loaded, the secrets made (this once), and where to look next."""
    data = loaded.world
    base = base_url(settings.host, settings.port)
    sources = ", ".join(f"{code} {n}" for code, n in sorted(loaded.people.items()))
    accounts = [place.fields["title"] for place in data.places if place.parent is None]
    user_types = ", ".join(f"{t.id} {t.name}" for t in data.user_types)
    bearer = f"-H 'Authorization: Bearer {loaded.token}'"
    client = loaded.client
    lines = [
        "The demo is loaded (the change log names its writes as the actor 'demo'):",
        f"  {_counted(sum(loaded.people.values()), 'person', 'people')} ({sources}); "
        f"{loaded.members} of them run a school, a faculty or a department (myON's admins)",
        f"  {loaded.organisations} organisations: {', '.join(accounts)} and their "
        f"{loaded.organisations - len(accounts)} schools and departments",
        f"  {_counted(loaded.groups, 'group', 'groups')}; the permission {data.permission_code} granted to "
        "a school for the school year",
        f"  user types {user_types}; login sources {', '.join(s.code for s in data.login_sources)}",
        *(
            f"  {username}'s validity ends {_moment(end)}: the lifecycle (serve, or `provisionhub lifecycle "
            "run`) moves them on then"
            for username, end in loaded.expiring
        ),
        f"  target {TARGET} ({receiver}): {loaded.queued} deliveries queued, sent while serve (or worker) "
        "runs, retried until the receiver answers",
        "Shown this once:",
        f"  API token {TOKEN} ({', '.join(p.value for p in TOKEN_PERMISSIONS)}): {loaded.token}",
        f"  OAuth client {OAUTH_CLIENT} (UNIWeb): client_id {client.client_id} client_secret {client.secret}",
        *(f"  OCL staff {username}: password {password}" for username, password in loaded.staff),
        "Next:",
        "  provisionhub serve      # the API, and the dispatcher that sends the deliveries",
        "  provisionhub sink       # in another terminal: a receiver that shows them arrive",
        "  provisionhub target list",
        "  provisionhub token create me -p admin   # one that writes (serve makes none: tokens exist)",
        f"  curl -s {base}/scim/v2/Users {bearer}",
        f"  curl -s {base}/myon/buildings/{loaded.permitted} {bearer}",
        *(f"  curl -s -u {username}:{password} {base}/ocl/users/" for username, password in loaded.staff),
        f"  curl -s {base}/uniweb/api/token.php -F grant_type=password -F username={client.client_id} "
        f"-F password={client.secret}",
    ]
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
