"""What the dialects ask of auth besides the Directory's door: a person's password checked (outside any
transaction: Argon2id is heavy CPU work), a person signed in with a key, an OAuth access token issued.
Each is auth's own write or read of the credentials it keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import anyio.to_thread
from sqlalchemy import Connection

from provisionhub.auth import oauth, person_keys
from provisionhub.auth.oauth import GrantPolicy, GrantRefused, IssuedToken
from provisionhub.auth.passwords import verify_or_waste
from provisionhub.directory.access import CheckedPassword
from provisionhub.directory.errors import CredentialProblem, Unauthenticated
from provisionhub.store.database import Database


class Credentials:
    """Checking passwords, signing people in, issuing OAuth access tokens, over one database."""

    def __init__(self, database: Database, policy: GrantPolicy, clock: Callable[[], datetime]) -> None:
        self._database = database
        self._policy = policy
        self._clock = clock

    async def checked_password(self, username: str, password: str, refusal: str) -> CheckedPassword:
        """The person with this username, if the password is theirs; Unauthenticated(refusal) if not.
        The check runs on a worker thread, and takes as long for nobody as for a wrong password: no
        probing for usernames."""
        holder = await self._database.read(lambda conn: person_keys.holder_by_username(conn, username))
        stored = holder.password_hash if holder is not None else None
        if not await anyio.to_thread.run_sync(verify_or_waste, stored, password) or holder is None:
            raise Unauthenticated(refusal)
        assert stored is not None
        return CheckedPassword(holder.id, stored)

    async def sign_in(self, username: str, password: str, refusal: str) -> str:
        """A new key for the person with this username and password: the only time anyone sees it.
        Unauthenticated(refusal) for a wrong password; with problem INACTIVE for a person not active."""
        checked = await self.checked_password(username, password, refusal)
        now = self._clock()

        def issue(conn: Connection) -> str:
            current = person_keys.holder_by_id(conn, checked.person_id)
            if current is None or current.password_hash != checked.password_hash:
                raise Unauthenticated(refusal)  # the password changed while it was checked
            if not current.active:
                raise Unauthenticated("this person is not active", CredentialProblem.INACTIVE)
            return person_keys.issue_key(conn, current.id, now)

        return await self._database.write(issue)

    async def issue_token(self, client_id: str, secret: str) -> IssuedToken | GrantRefused:
        """An OAuth access token for a client's id and secret, or why not (the failure it counts is
        committed with the refusal)."""
        now = self._clock()
        return await self._database.write(
            lambda conn: oauth.issue_token(conn, client_id, secret, now, self._policy)
        )

    def now(self) -> datetime:
        return self._clock()
