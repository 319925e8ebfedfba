"""The myON endpoints: POST arrays of accounts, buildings, permissions and users (create or update), GET
one back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from provisionhub.auth.passwords import hashes_for, stored_hashes
from provisionhub.auth.permissions import Permission, Principal
from provisionhub.auth.tokens import authenticate
from provisionhub.dialects.myon import errors, wire
from provisionhub.directory.entitlements import GrantEntitlement, grants_of
from provisionhub.directory.errors import ItemError, NotFound, Rejected, Unauthenticated
from provisionhub.directory.memberships import UpsertMember, find_members
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation, find_organisations
from provisionhub.directory.service import Directory
from provisionhub.http.answers import LargeJSONResponse
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect
from provisionhub.store.database import Database

PREFIX = "/myon"

_PATHS = {OrgKind.ACCOUNT: "/accounts", OrgKind.BUILDING: "/buildings"}
_WHAT_GET_ANSWERS = {OrgKind.ACCOUNT: "account", OrgKind.BUILDING: "building, with the permissions it holds"}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not a JSON array"},
    401: {"description": "No bearer token, or one that is not valid"},
    403: {"description": "The token lacks the permission"},
    413: {"description": "More than 1,000 items, or a body over the size limit"},
    422: {"description": "Items refused (one error per item, by index); nothing was written"},
}

_GET_RESPONSES = {k: v for k, v in _RESPONSES.items() if k in (401, 403)} | {
    404: {"description": "No such id"}
}


def myon_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    """myON at /myon: bearer tokens, arrays in, arrays out, errors as {"status", "message", "errors"}."""
    return Dialect(
        PREFIX, _router(directory, max_body_bytes), errors.error_response, handled=(errors.MyonError,)
    )


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_items(request: Request, max_body_bytes: int) -> list[Any]:
    """The body: a JSON array of at most MAX_ITEMS items."""
    body = await read_json(request, max_body_bytes)
    if not isinstance(body, list):
        raise errors.MyonError(400, "the body must be a JSON array of objects, even for one item")
    if not body:
        raise errors.MyonError(400, "the array is empty: send at least one item")
    if len(body) > wire.MAX_ITEMS:
        raise errors.MyonError(
            413, f"{len(body)} items: at most {wire.MAX_ITEMS} are accepted in one request"
        )
    return body


C = TypeVar("C")
R = TypeVar("R")


def apply_parsed(parsed: wire.Parsed[C], apply: Callable[[list[C]], list[R]]) -> list[R]:
    """apply() the commands the wire accepted; refuse the whole array, naming every bad item (the
    wire's refusals and the directory's, by their index in the array), if any item is bad."""
    valid = [(index, command) for index, command in enumerate(parsed.commands) if command is not None]
    try:
        results = apply([command for _, command in valid])
    except Rejected as exc:
        found = [ItemError(valid[e.index][0], e.error) for e in exc.errors]
        raise Rejected(sorted(parsed.errors + found, key=lambda e: e.index)) from None
    if parsed.errors:  # the others were fine: roll them back, all or nothing
        raise Rejected(parsed.errors)
    return results


def required_token(request: Request) -> str:
    token = bearer_token(request)
    if token is None:  # before the body is read: without a credential, nothing else matters
        raise Unauthenticated("an Authorization: Bearer <API token> header is required")
    return token


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=[PREFIX.strip("/")])
    database = directory.database

    def post_array(
        parse: Callable[[list[Any]], wire.Parsed[C]],
        permission: Permission,
        apply: Callable[[Connection, list[C], Principal], list[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        """A POST of an array: each item parsed, then all applied or none; its answer one result an item."""

        async def post(request: Request) -> JSONResponse:
            token = required_token(request)
            parsed = parse(await read_items(request, max_body_bytes))

            def work(conn: Connection) -> list[dict[str, Any]]:
                principal = authenticate(conn, token)
                principal.require(permission)
                return apply_parsed(parsed, lambda commands: apply(conn, commands, principal))

            return _post_answer(await database.write(work))

        return post

    def post_organisations(kind: OrgKind) -> Callable[[Request], Awaitable[JSONResponse]]:
        def apply(
            conn: Connection, commands: list[UpsertOrganisation], principal: Principal
        ) -> list[dict[str, Any]]:
            results = directory.upsert_organisations(conn, commands, principal.actor, principal.account)
            return [wire.result_out(r.organisation.public_id, r.created, r.changed) for r in results]

        return post_array(lambda items: wire.organisation_commands(kind, items), Permission.ORG_WRITE, apply)

    def grant_permissions(
        conn: Connection, commands: list[GrantEntitlement], principal: Principal
    ) -> list[dict[str, Any]]:
        results = directory.grant_entitlements(conn, commands, principal.actor, principal.account)
        return [wire.grant_result_out(r) for r in results]

    def get_one(
        permission: Permission,
        what: str,
        answer: Callable[[Connection, str, Principal], dict[str, Any] | None],
    ) -> Callable[[str, Request], Awaitable[JSONResponse]]:
        """A GET of one entity by its myon_id: answer() gives its body, or None for no such entity."""

        async def get(myon_id: str, request: Request) -> JSONResponse:
            token = bearer_token(request)

            def work(conn: Connection) -> dict[str, Any]:
                principal = authenticate(conn, token)
                principal.require(permission)
                body = answer(conn, myon_id, principal)
                if body is None:
                    raise NotFound(f"no {what} has the myon_id {myon_id}")
                return body

            return JSONResponse(await database.read(work))

        return get

    def organisation(kind: OrgKind) -> Callable[[Connection, str, Principal], dict[str, Any] | None]:
        def answer(conn: Connection, myon_id: str, principal: Principal) -> dict[str, Any] | None:
            found = find_organisations(conn, [myon_id], principal.account).get(myon_id)
            if found is None or found.kind is not kind:
                return None
            if kind is OrgKind.BUILDING:
                return wire.organisation_out(found, grants_of(conn, [myon_id]).get(myon_id, []))
            return wire.organisation_out(found)

        return answer

    def user(conn: Connection, myon_id: str, principal: Principal) -> dict[str, Any] | None:
        found = find_members(conn, [myon_id], principal.account).get(myon_id)
        return wire.user_out(found) if found is not None else None

    async def post_users(request: Request) -> JSONResponse:
        token = required_token(request)
        parsed = wire.user_commands(await read_items(request, max_body_bytes))
        accepted = [item for item in parsed.commands if item is not None]
        if any(item.password is not None for item in accepted):
            # The token is checked before any password is hashed: hashing is the costly part. Without
            # passwords, the write's own check comes first anyway, and a read of its own would cost a
            # trip to a worker thread (~0.8 ms of a 1,000-user request).
            _may_write_users(await database.read(lambda conn: authenticate(conn, token)), accepted)
        commands = await _with_password_hashes(database, parsed.commands)

        def work(conn: Connection) -> list[dict[str, Any]]:
            principal = authenticate(conn, token)  # again: it may have been revoked while we hashed
            _may_write_users(principal, accepted)
            results = apply_parsed(
                wire.Parsed(commands, parsed.errors),
                lambda valid: directory.upsert_members(conn, valid, principal.actor, principal.account),
            )
            return [wire.result_out(r.person.public_id, r.created, r.changed) for r in results]

        return _post_answer(await database.write(work))

    router.add_api_route(
        "/users",
        post_users,
        methods=["POST"],
        status_code=201,
        responses=_RESPONSES,
        summary="Create or update district and building admins (permission user-create, user-update)",
    )
    router.add_api_route(
        "/users/{myon_id}",
        get_one(Permission.USER_READ, "user", user),
        methods=["GET"],
        responses=_GET_RESPONSES,
        summary="One user (permission user-read)",
    )
    for kind, path in _PATHS.items():
        router.add_api_route(
            path,
            post_organisations(kind),
            methods=["POST"],
            status_code=201,
            responses=_RESPONSES,
            summary=f"Create or update {kind.value}s (permission org-write)",
        )
        router.add_api_route(
            path + "/{myon_id}",
            get_one(Permission.ORG_READ, kind.value, organisation(kind)),
            methods=["GET"],
            responses=_GET_RESPONSES,
            summary=f"One {_WHAT_GET_ANSWERS[kind]} (permission org-read)",
        )
    router.add_api_route(
        "/permissions",
        post_array(wire.permission_commands, Permission.ENTITLEMENT_WRITE, grant_permissions),
        methods=["POST"],
        status_code=201,
        responses=_RESPONSES,
        summary="Grant permissions to buildings, or change those grants (permission entitlement-write)",
    )
    return router


def _post_answer(answer: list[dict[str, Any]]) -> JSONResponse:
    """A POST's answer: 201 if anything was created, else 200."""
    created = any(item["result"] == "created" for item in answer)
    return LargeJSONResponse(answer, status_code=201 if created else 200)


def _may_write_users(principal: Principal, items: Sequence[wire.UserCommand]) -> None:
    """Creating users takes user-create; changing them, user-update."""
    if any(item.command.public_id is None for item in items):
        principal.require(Permission.USER_CREATE)
    if any(item.command.public_id is not None for item in items):
        principal.require(Permission.USER_UPDATE)


async def _with_password_hashes(
    database: Database, items: Sequence[wire.UserCommand | None]
) -> list[UpsertMember | None]:
    """Each item's command, its password (if it has one) replaced by the hash to store.

    Hashing takes tens of milliseconds a password, so it happens before the write transaction, on
    worker threads. A password the user already has keeps its stored hash: sending it again changes
    nothing. (Should the stored hash change meanwhile, the one computed here is still a hash of the
    password sent, and the write compares it with what is stored then.)
    """
    with_password = [item for item in items if item is not None and item.password is not None]
    ids = [item.command.public_id for item in with_password if item.command.public_id]
    stored = await database.read(lambda conn: stored_hashes(conn, ids)) if ids else {}
    pairs = [(str(item.password), stored.get(item.command.public_id or "")) for item in with_password]
    hashes = iter(await hashes_for(pairs))
    commands: list[UpsertMember | None] = []
    for item in items:
        if item is None or item.password is None:
            commands.append(item.command if item is not None else None)
        else:
            commands.append(
                replace(item.command, person={**item.command.person, "password_hash": next(hashes)})
            )
    return commands
