"""The command line: each command a thin call into the packages below it."""

from __future__ import annotations

import typer

# Imported for the commands they add to target_app and db_app.
from provisionhub.cli import backup, retention, target_queue  # noqa: F401
from provisionhub.cli.catalogues import (
    login_source_app,
    permission_app,
    sections_app,
    staff_app,
    user_type_app,
)
from provisionhub.cli.credentials import oauth_client_app, token_app
from provisionhub.cli.demo import demo
from provisionhub.cli.doors import err, out
from provisionhub.cli.lifecycle import lifecycle_app
from provisionhub.cli.serve import db_app, serve, worker
from provisionhub.cli.sink import sink
from provisionhub.cli.targets import target_app

__all__ = ["app", "err", "main", "out"]

app = typer.Typer(
    help="provisionhub: one directory of people, many dialects in, many targets out.", no_args_is_help=True
)
app.command()(serve)
app.command()(worker)
app.command()(sink)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(oauth_client_app, name="oauth-client")
app.add_typer(user_type_app, name="user-type")
app.add_typer(login_source_app, name="login-source")
app.add_typer(permission_app, name="permission")
app.add_typer(staff_app, name="staff")
app.add_typer(sections_app, name="sections")
app.add_typer(target_app, name="target")
app.add_typer(lifecycle_app, name="lifecycle")
app.command()(demo)


def main() -> None:
    app()
