"""The credential keeper the Directory asks (directory/access.py's Authenticator): who each presented
credential stands for, checked inside the transaction that uses it, and what follows a password change."""

from __future__ import annotations

import hmac
from collections.abc import Collection

from sqlalchemy import Connection

from provisionhub.auth import oauth, passwords, person_keys, tokens
from provisionhub.auth.person_keys import Holder
from provisionhub.directory.access import (
    PERSON_PERMISSIONS,
    STAFF_PERMISSIONS,
    AccessToken,
    ApiToken,
    CheckedPassword,
    Credential,
    Kind,
    PersonKey,
    Principal,
)
from provisionhub.directory.errors import CredentialProblem, Unauthenticated
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database

Answer = Principal | Unauthenticated


class Authenticator:
    """API tokens, OAuth access tokens, people's keys and checked passwords, as principals."""

    def principal(self, conn: Connection, credential: Credential) -> Answer:
        """One credential's principal, or why it is refused (a request of its own: an API token's may be
        remembered on conn)."""
        if isinstance(credential, ApiToken):
            return _named(credential, _one_token(conn, credential.secret))
        return self.principals(conn, [credential])[credential]

    def principals(self, conn: Connection, credentials: Collection[Credential]) -> dict[Credential, Answer]:
        answers: dict[Credential, Answer] = {}
        api_tokens = [c for c in credentials if isinstance(c, ApiToken)]
        if len(api_tokens) == 1:  # a request of its own: the principal may be remembered on conn
            answers[api_tokens[0]] = _named(api_tokens[0], _one_token(conn, api_tokens[0].secret))
        elif api_tokens:
            found = tokens.authenticate_many(conn, [c.secret for c in api_tokens])
            answers.update({c: _named(c, found[c.secret]) for c in api_tokens})
        for credential in credentials:
            match credential:
                case PersonKey():
                    answers[credential] = _person(person_keys.holder_by_key(conn, credential.key))
                case CheckedPassword():
                    holder = person_keys.holder_by_id(conn, credential.person_id)
                    if holder is not None and not hmac.compare_digest(
                        holder.password_hash or "", credential.password_hash
                    ):
                        holder = None  # the password changed since it was checked
                    answers[credential] = _person(holder)
                case AccessToken():
                    try:
                        answers[credential] = oauth.authenticate_token(conn, credential.token, credential.at)
                    except Unauthenticated as exc:
                        answers[credential] = exc
                case _ if not isinstance(credential, ApiToken):
                    raise TypeError(f"not a credential kept here: {credential!r}")
        return answers

    def password_changed(self, conn: Connection, person_ids: Collection[int]) -> None:
        """A new password signs every key of the person out (as OCL does), whichever dialect set it."""
        for person_id in sorted(set(person_ids)):
            person_keys.revoke_keys(conn, person_id)

    def hash_password(self, password: str, stored: str | None) -> str:
        return passwords.hash_for(password, stored)

    def check_password(self, field: str, value: object) -> str:
        return passwords.check_password(field, value)


def _one_token(conn: Connection, secret: str) -> Answer:
    try:
        return tokens.authenticate(conn, secret)
    except Unauthenticated as exc:
        return exc


def _named(credential: ApiToken, found: Answer) -> Answer:
    """A token's principal, if the credential names the token rightly (when it names one)."""
    if isinstance(found, Unauthenticated):
        return Unauthenticated(found.message, found.problem)
    if credential.name is not None and not hmac.compare_digest(
        found.name.encode("utf-8", "surrogatepass"), credential.name.encode("utf-8", "surrogatepass")
    ):
        return Unauthenticated("the token's name is not that of its secret")
    return found


def _person(holder: Holder | None) -> Answer:
    """The principal of a person presenting their own credential (None: it matched nobody)."""
    if holder is None:
        return Unauthenticated("no person holds this credential")
    if not holder.active:
        return Unauthenticated("this person is not active", CredentialProblem.INACTIVE)
    permissions = STAFF_PERMISSIONS if holder.staff else PERSON_PERMISSIONS
    return Principal(holder.username, permissions, kind=Kind.PERSON, person_id=holder.id, staff=holder.staff)


def directory_over(database: Database) -> Directory:
    """The Directory over database, its credentials kept here: what the app, the command line, the
    benchmarks and the tests open."""
    return Directory(database, Authenticator())
