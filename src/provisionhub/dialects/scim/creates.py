"""SCIM creates in batches: the POST /Users queued together go to one handler, which checks their tokens
in one query and creates their people with one batched upsert, each User still created or refused on
its own (as OPS-COM's pushes are). The upsert only creates: an externalId someone has, or one an earlier
create of the same batch took, is a Conflict (409 uniqueness)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from provisionhub.auth.permissions import Principal
from provisionhub.auth.tokens import authenticate_many
from provisionhub.dialects.scim.errors import ScimError
from provisionhub.dialects.scim.resources import Resources, scim_error
from provisionhub.dialects.scim.users import UserIn
from provisionhub.directory.errors import DirectoryError, Unauthenticated
from provisionhub.directory.ids import new_public_ids
from provisionhub.directory.people import Person, UpsertPerson
from provisionhub.directory.service import Directory
from provisionhub.store.writes import BatchHandler

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewUser:
    """A create waiting in the write queue: its bearer token (checked in the handler's transaction),
    the base URL it was asked at, the User read from its body, and its password's hash if it sets one."""

    token: str
    url: str
    read: UserIn
    hashes: Mapping[str, str]


def user_creations(directory: Directory) -> BatchHandler:
    """The batch handler of SCIM creates: each item's outcome is its User's document, or its refusal."""

    def create(conn: Connection, items: list[NewUser]) -> list[Document | Exception]:
        principals = authenticate_many(conn, [item.token for item in items])
        outcomes: list[Document | Exception | None] = [None] * len(items)
        accepted: list[tuple[int, Resources]] = []
        commands: list[tuple[UpsertPerson, str]] = []
        # The Users' ids drawn at once: one system call for the batch's random bytes, not one each.
        for index, (item, public_id) in enumerate(zip(items, new_public_ids(len(items)), strict=True)):
            try:
                seen = Resources(directory, item.url, _principal(principals[item.token]))
                command = seen.creation(item.read, item.hashes, public_id)
            except (DirectoryError, ScimError) as exc:
                outcomes[index] = scim_error(exc)
                continue
            accepted.append((index, seen))
            commands.append((command, seen.who.actor))
        # Documents are made per view (base URL, bound login source). A new User is in no group yet, and
        # their version is the change just logged (or the status change `active` made).
        views: dict[tuple[str, str], tuple[Resources, list[tuple[int, Person]]]] = {}
        versions: dict[str, int] = {}
        for (index, seen), result in zip(accepted, directory.upsert_each(conn, commands), strict=True):
            if isinstance(result, DirectoryError):
                outcomes[index] = scim_error(result)
                continue
            made = seen.made_active(conn, result, items[index].read)
            version = result.seq if made.seq is None else made.seq  # None: `active` changed nothing
            assert version is not None
            versions[made.public_id] = version
            views.setdefault((seen.url, seen.bound), (seen, []))[1].append((index, made.person))
        for seen, created in views.values():
            documents = seen.user_documents(conn, [person for _, person in created], versions, _NO_GROUPS)
            for (index, _), document in zip(created, documents, strict=True):
                outcomes[index] = document
        return outcomes  # type: ignore[return-value]

    return create


_NO_GROUPS: Mapping[int, list[Any]] = {}


def _principal(found: Principal | Unauthenticated) -> Principal:
    """The principal of a token checked with others; a refusal of its own for each request."""
    if isinstance(found, Unauthenticated):
        raise Unauthenticated(found.message)
    found.require_unscoped()
    return found
