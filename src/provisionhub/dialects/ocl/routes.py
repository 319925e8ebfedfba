"""The OCL users endpoints: sign-in, the authenticated user, staff administration of users, the list.

Every path answers with and without its trailing slash (OCL's own URLs end in one). A user is addressed
by username, compared case-insensitively (usernames are unique that way across the directory), and
only active people are found, unless staff ask for inactive ones with includeInactive=true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from provisionhub.auth.basic import verified
from provisionhub.auth.passwords import hash_password
from provisionhub.auth.permissions import Permission
from provisionhub.auth.person_keys import holder_by_id, issue_key, revoke_keys
from provisionhub.dialects.ocl import errors, wire
from provisionhub.dialects.ocl.access import Caller, Credential, caller, credential
from provisionhub.directory.errors import Forbidden, NotFound, Unauthenticated
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.people import (
    ACTIVE_STATUSES,
    Person,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.people_search import (
    PeopleQuery,
    find_by_username,
    membership_counts,
    search_people,
)
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_fields
from provisionhub.http.dialects import Dialect

#: The login source of the people OCL creates; their unique_id is their public id.
LOGIN_SOURCE = "OCL"
WRONG_SIGN_IN = "No such user or wrong password."

Endpoint = Callable[..., Awaitable[Response]]


def ocl_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    """OCL at /ocl: Token keys, HTTP Basic or API tokens; DRF's error bodies."""
    return Dialect(
        wire.PREFIX,
        _router(directory, max_body_bytes),
        errors.error_response,
        handled=(errors.OclError, wire.FieldErrors),
    )


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=wire.PREFIX, tags=["ocl"])
    database = directory.database

    def route(path: str, endpoint: Endpoint, methods: list[str], summary: str, status: int = 200) -> None:
        """Serve path with its trailing slash (documented) and without (the same endpoint, undocumented);
        one route a method, so that each has an OpenAPI operation of its own."""
        for method in methods:
            router.add_api_route(path + "/", endpoint, methods=[method], summary=summary, status_code=status)
            router.add_api_route(
                path, endpoint, methods=[method], status_code=status, include_in_schema=False
            )

    async def checked(request: Request) -> tuple[Credential, Caller]:
        """The request's credential and caller, checked before its body is read or a password hashed;
        the write checks the credential again, in its own transaction."""
        presented = await credential(request, database)
        return presented, await database.read(lambda conn: caller(conn, presented))

    async def body_of(request: Request) -> Any:
        return await read_fields(request, max_body_bytes)

    def detail(conn: Connection, person: Person, who: Caller) -> dict[str, Any]:
        orgs = membership_counts(conn, [person.id]).get(person.id, 0)
        return wire.user_out(person, orgs, show_email=who.sees_email(person))

    def target(conn: Connection, who: Caller, username: str, include_inactive: bool = False) -> Person:
        """The user a path names (active only, unless include_inactive), as who may see them."""
        if include_inactive and not who.oversees:
            raise Forbidden("Only staff may see inactive users (includeInactive).")
        person = find_by_username(conn, username, include_inactive)
        if person is None:
            raise NotFound("Not found.")
        return person

    def own(conn: Connection, who: Caller) -> Person:
        if who.holder is None:
            raise Forbidden("An API token is not a user: /user answers for a person signed in as themselves.")
        return directory.find_person(conn, who.holder.public_id)

    # -- signing in ------------------------------------------------------------------------------

    async def login(request: Request) -> JSONResponse:
        body = await body_of(request)
        if not isinstance(body, dict):
            raise wire.refuse("non_field_errors", "Invalid data. Expected a dictionary.")
        problems: dict[str, list[str]] = {}
        for name in ("username", "password"):
            value = body.get(name)
            if value is None or value == "":
                problems[name] = [wire.REQUIRED]
            elif not isinstance(value, str):
                problems[name] = ["Not a valid string."]
        if "hashed_password" in body:
            problems["hashed_password"] = ["Signing in with a password hash is not accepted: send password."]
        if problems:
            raise wire.FieldErrors(problems)
        holder = await verified(database, str(body["username"]), str(body["password"]), WRONG_SIGN_IN)

        def sign_in(conn: Connection) -> str:
            current = holder_by_id(conn, holder.id)  # as it is now, not as it was before the hash check
            if current is None or current.password_hash != holder.password_hash:
                raise Unauthenticated(WRONG_SIGN_IN)
            if not current.active:
                raise Unauthenticated("User inactive or deleted.")
            return issue_key(conn, current.id, directory.now())

        return JSONResponse({"token": await database.write(sign_in)})

    route("/users/login", login, ["POST"], "Sign in: a key for `Authorization: Token <key>`")

    # -- reading -------------------------------------------------------------------------------------

    async def get_user(user: str, request: Request) -> JSONResponse:
        presented = await credential(request, database)
        include_inactive = wire.flag(request.query_params.get("includeInactive"))

        def work(conn: Connection) -> dict[str, Any]:
            who = caller(conn, presented)
            who.require(Permission.USER_READ)
            return detail(conn, target(conn, who, user, include_inactive), who)

        return JSONResponse(await database.read(work))

    async def get_self(request: Request) -> JSONResponse:
        presented = await credential(request, database)

        def work(conn: Connection) -> dict[str, Any]:
            who = caller(conn, presented)
            return detail(conn, own(conn, who), who)

        return JSONResponse(await database.read(work))

    async def list_users(request: Request) -> JSONResponse:
        presented = await credential(request, database)
        params = request.query_params
        verbose = wire.flag(params.get("verbose"))

        def work(conn: Connection) -> tuple[PeopleQuery, int, list[dict[str, Any]]]:
            who = caller(conn, presented)
            who.require(Permission.USER_READ)  # before the parameters: a stranger learns nothing of them
            query = _people_query(request)
            if query.include_inactive and not who.oversees:
                raise Forbidden("Only staff may list inactive users (includeInactive).")
            found = search_people(conn, query)
            if not verbose:
                return query, found.total, [wire.user_summary(person) for person in found.people]
            orgs = membership_counts(conn, [person.id for person in found.people])
            rows = [
                wire.user_out(person, orgs.get(person.id, 0), show_email=who.sees_email(person))
                for person in found.people
            ]
            return query, found.total, rows

        query, total, rows = await database.read(work)
        headers = {"num_found": str(total), "num_returned": str(len(rows)), "offset": str(query.offset)}
        page = query.offset // query.limit + 1
        if query.offset + len(rows) < total:
            headers["next"] = str(request.url.include_query_params(page=page + 1))
        if page > 1:
            headers["previous"] = str(request.url.include_query_params(page=page - 1))
        return JSONResponse(rows, headers=headers)

    # -- writing -------------------------------------------------------------------------------------

    async def create_user(request: Request) -> JSONResponse:
        presented, first = await checked(request)
        first.require(Permission.USER_CREATE)
        read = wire.user_input(await body_of(request), creating=True)
        password_hash = await _hash(read.password)
        assert read.username is not None

        def work(conn: Connection) -> dict[str, Any]:
            who = caller(conn, presented)
            who.require(Permission.USER_CREATE)
            who.require_login_source(LOGIN_SOURCE)
            holder = find_by_username(conn, read.username, include_inactive=True)
            if holder is not None:
                state = (
                    "is active"
                    if holder.status in ACTIVE_STATUSES
                    else f"is deactivated ({holder.status.value})"
                )
                message = f"A user with username {holder['username']} already exists and {state}."
                if holder.status not in ACTIVE_STATUSES:
                    message += f" Reactivate it: PUT {wire.user_url(holder['username'])}reactivate/"
                raise wire.refuse("username", message)
            public_id = new_public_id()
            fields = {**read.fields, "username": read.username}
            if password_hash is not None:
                fields["password_hash"] = password_hash
            command = UpsertPerson(LOGIN_SOURCE, public_id, fields, frozenset({"email"}), public_id)
            created = directory.upsert_person(conn, command, who.actor).person
            return detail(conn, created, who)

        body = await database.write(work)
        location = str(request.base_url).rstrip("/") + body["url"]
        return JSONResponse(body, status_code=201, headers={"Location": location})

    async def update(request: Request, username: str | None) -> JSONResponse:
        """A partial update: of the user named (by staff, or by the user themselves), or of oneself (None)."""
        presented, _ = await checked(request)
        read = wire.user_input(await body_of(request), creating=False)
        password_hash = await _hash(read.password)

        def work(conn: Connection) -> dict[str, Any]:
            who = caller(conn, presented)
            person = own(conn, who) if username is None else target(conn, who, username)
            if not who.is_person(person):
                who.require(Permission.USER_UPDATE)
                who.require_login_source(person.login_source)
            if read.username is not None and read.username.casefold() != person["username"].casefold():
                raise wire.refuse("username", "A username cannot be changed.")
            fields = dict(read.fields)
            if password_hash is not None:
                fields["password_hash"] = password_hash
                revoke_keys(conn, person.id)  # a new password signs every key out, as OCL does
            if fields:
                person = directory.update_person(
                    conn, UpdatePerson(person.public_id, fields), who.actor
                ).person
            return detail(conn, person, who)

        return JSONResponse(await database.write(work))

    async def update_self(request: Request) -> JSONResponse:
        return await update(request, None)

    async def update_user(user: str, request: Request) -> JSONResponse:
        return await update(request, user)

    async def delete_user(user: str, request: Request) -> Response:
        presented = await credential(request, database)
        if request.query_params.get("hardDelete") is not None and wire.flag(
            request.query_params["hardDelete"]
        ):
            raise errors.OclError(400, "hardDelete is not supported: provisionhub deactivates, never erases.")

        def work(conn: Connection) -> None:
            who = caller(conn, presented)
            person = target(conn, who, user)
            if who.is_person(person):
                raise errors.OclError(405, "You cannot deactivate yourself.")
            who.require(Permission.USER_DELETE)
            who.require_login_source(person.login_source)
            directory.set_status(conn, SetStatus(person.public_id, Status.DELETED), who.actor)

        await database.write(work)
        return Response(status_code=204)

    async def delete_self(request: Request) -> Response:
        await checked(request)
        raise errors.OclError(405, "You cannot deactivate yourself.")

    async def reactivate(user: str, request: Request) -> Response:
        presented = await credential(request, database)

        def work(conn: Connection) -> None:
            who = caller(conn, presented)
            who.require(Permission.USER_UPDATE)
            person = find_by_username(conn, user, include_inactive=True)
            if person is None or person.status in ACTIVE_STATUSES:
                raise NotFound("Not found: no deactivated user has this username.")
            who.require_login_source(person.login_source)
            after = directory.set_status(conn, SetStatus(person.public_id, Status.ACTIVE), who.actor).person
            if after.status not in ACTIVE_STATUSES:  # the validity window holds them: nothing is written
                raise errors.OclError(
                    400, f"User cannot be reactivated: their validity window makes them {after.status.value}."
                )

        await database.write(work)
        return Response(status_code=204)

    route("/users", list_users, ["GET"], "Active users, a page at a time (q, sortAsc, sortDesc, verbose)")
    route("/users", create_user, ["POST"], "Create a user (staff)", status=201)
    route("/user", get_self, ["GET"], "The authenticated user")
    route("/user", update_self, ["POST", "PUT"], "Change the authenticated user's own fields")
    route("/user", delete_self, ["DELETE"], "Not allowed: nobody deactivates themselves", status=405)
    route(
        "/users/{user}/reactivate", reactivate, ["PUT"], "Reactivate a deactivated user (staff)", status=204
    )
    route("/users/{user}", get_user, ["GET"], "One active user")
    route("/users/{user}", update_user, ["POST", "PUT"], "Change a user's fields (staff, or themselves)")
    route("/users/{user}", delete_user, ["DELETE"], "Deactivate a user (staff)", status=204)
    return router


def _people_query(request: Request) -> PeopleQuery:
    """The list's query parameters, read; FieldErrors names a bad one."""
    params = request.query_params
    limit = min(wire.whole_number("limit", params.get("limit"), wire.DEFAULT_LIMIT, 1), wire.MAX_LIMIT)
    page = wire.whole_number("page", params.get("page"), 1, 1)
    sort, descending = wire.sort_order(params.get("sortAsc"), params.get("sortDesc"))
    return PeopleQuery(
        text=(params.get("q") or "").strip() or None,
        include_inactive=wire.flag(params.get("includeInactive")),
        sort=sort,
        descending=descending,
        offset=(page - 1) * limit,
        limit=limit,
    )


async def _hash(password: str | None) -> str | None:
    """The Argon2id hash of a new password, computed on a worker thread (None: no password sent)."""
    if password is None:
        return None
    return await anyio.to_thread.run_sync(hash_password, password)
