"""The OCL users endpoints: sign-in, the authenticated user, staff administration of users, the list.

Every path answers with and without its trailing slash (OCL's own URLs end in one). A user is addressed
by username, compared case-insensitively (usernames are unique that way across the directory), and
only active people are found, unless staff ask for inactive ones with includeInactive=true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from provisionhub.auth.credentials import Credentials
from provisionhub.dialects.ocl import errors, wire
from provisionhub.dialects.ocl.access import INACTIVE, as_ocl, credential
from provisionhub.directory.access import ApiToken, Credential, Permission, Principal
from provisionhub.directory.errors import CredentialProblem, Forbidden, NotFound, Unauthenticated
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.passwords import PASSWORD, Password
from provisionhub.directory.people import (
    ACTIVE_STATUSES,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.people_queries import (
    Myself,
    PersonById,
    PersonByUsername,
    PersonView,
    SearchPeople,
)
from provisionhub.directory.people_search import PeopleQuery
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_fields
from provisionhub.http.dialects import Dialect
from provisionhub.http.endpoints import EndpointsWithCredentials
from provisionhub.http.route_permissions import needs, public, refused

#: The login source of the people OCL creates; their unique_id is their public id.
LOGIN_SOURCE = "OCL"
WRONG_SIGN_IN = "No such user or wrong password."
ACTIVE_VALUES = frozenset(status.value for status in ACTIVE_STATUSES)

Endpoint = Callable[..., Awaitable[Response]]


def ocl_dialect(directory: Directory, credentials: Credentials, max_body_bytes: int) -> Dialect:
    """OCL at /ocl: Token keys, HTTP Basic or API tokens; DRF's error bodies."""
    return Dialect(
        wire.PREFIX,
        _router(directory, credentials, max_body_bytes),
        errors.error_response,
        handled=(errors.OclError, wire.FieldErrors),
    )


def _router(directory: Directory, credentials: Credentials, max_body_bytes: int) -> APIRouter:
    """The endpoints (OclRoutes) on a router, in the order they are matched."""
    router = APIRouter(prefix=wire.PREFIX, tags=["ocl"])
    ocl = OclRoutes(directory, credentials, max_body_bytes)
    signing_in = public("signing in: the username and password in the body are the credential")
    sign_in = "Sign in: a key for `Authorization: Token <key>`"
    _route(router, "/users/login", ocl.login, ["POST"], sign_in, signing_in)
    read, write = needs(Permission.USER_READ), needs(Permission.USER_UPDATE)
    listing = "Active users, a page at a time (q, sortAsc, sortDesc, verbose)"
    _route(router, "/users", ocl.list_users, ["GET"], listing, read)
    create = needs(Permission.USER_CREATE)
    _route(router, "/users", ocl.create_user, ["POST"], "Create a user (staff)", create, 201)
    # /user is a person's own: a person signed in may always read and change it; a token is nobody.
    _route(router, "/user", ocl.get_self, ["GET"], "The authenticated user", read)
    own = "Change the authenticated user's own fields"
    _route(router, "/user", ocl.update_self, ["POST", "PUT"], own, read)
    nobody = refused("nobody deactivates themselves")
    not_allowed = "Not allowed: nobody deactivates themselves"
    _route(router, "/user", ocl.delete_self, ["DELETE"], not_allowed, nobody, 405)
    reactivation = "Reactivate a deactivated user (staff)"
    _route(router, "/users/{user}/reactivate", ocl.reactivate, ["PUT"], reactivation, write, 204)
    _route(router, "/users/{user}", ocl.get_user, ["GET"], "One active user", read)
    changing = "Change a user's fields (staff, or themselves)"
    _route(router, "/users/{user}", ocl.update_user, ["POST", "PUT"], changing, write)
    deactivate = needs(Permission.USER_DELETE)
    _route(router, "/users/{user}", ocl.delete_user, ["DELETE"], "Deactivate a user (staff)", deactivate, 204)
    return router


def _route(
    router: APIRouter,
    path: str,
    endpoint: Endpoint,
    methods: list[str],
    summary: str,
    access: dict[str, Any],
    status: int = 200,
) -> None:
    """Serve path with its trailing slash (documented) and without (the same endpoint, undocumented);
    one route a method, so that each has an OpenAPI operation of its own. access: what it asks of a
    credential (http/route_permissions.py)."""
    for method in methods:
        for served, documented in ((path + "/", True), (path, False)):
            router.add_api_route(
                served,
                endpoint,
                methods=[method],
                summary=summary,
                status_code=status,
                include_in_schema=documented,
                openapi_extra=access,
            )


class OclRoutes(EndpointsWithCredentials):
    """OCL's endpoints: signing in; users read, listed, created, changed, deactivated, reactivated."""

    async def presented(self, request: Request, *permissions: Permission) -> tuple[Credential, Principal]:
        """The request's credential and its principal (holding one of permissions, if named), checked
        before its body is read or a password hashed; the directory checks it again as it acts."""
        found = await credential(request, self._credentials)
        return found, await as_ocl(found, self._directory.principal(found, *permissions))

    async def body_of(self, request: Request) -> Any:
        return await read_fields(request, self._max_body_bytes)

    # -- signing in ------------------------------------------------------------------------------

    async def login(self, request: Request) -> JSONResponse:
        body = await self.body_of(request)
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
        try:
            key = await self._credentials.sign_in(str(body["username"]), str(body["password"]), WRONG_SIGN_IN)
        except Unauthenticated as exc:
            if exc.problem is CredentialProblem.INACTIVE:
                raise Unauthenticated(INACTIVE) from None
            raise
        return JSONResponse({"token": key})

    # -- reading -------------------------------------------------------------------------------------

    async def user_named(
        self, found: Credential, username: str, *, include_inactive: bool = False, to_change: bool = False
    ) -> PersonView:
        """The user a path names (active only, unless include_inactive), as the credential may see them."""
        asked = PersonByUsername(username, include_inactive, to_change)
        try:
            return await as_ocl(found, self._directory.read(found, asked))
        except NotFound:
            raise NotFound("Not found.") from None

    async def get_user(self, user: str, request: Request) -> JSONResponse:
        found = await credential(request, self._credentials)
        include_inactive = wire.flag(request.query_params.get("includeInactive"))
        return JSONResponse(_detail(await self.user_named(found, user, include_inactive=include_inactive)))

    async def get_self(self, request: Request) -> JSONResponse:
        found, _ = await self.presented(request)  # a credential that is no one's is refused as such first
        return JSONResponse(_detail(await as_ocl(found, self._directory.read(found, _myself(found)))))

    async def list_users(self, request: Request) -> JSONResponse:
        found = await credential(request, self._credentials)
        verbose = wire.flag(request.query_params.get("verbose"))
        try:
            query = _people_query(request)
        except wire.FieldErrors:
            # a stranger learns nothing
            await as_ocl(found, self._directory.principal(found, Permission.USER_READ))
            raise
        page = await as_ocl(
            found, self._directory.read(found, SearchPeople(query, with_organisations=verbose))
        )
        if verbose:
            rows = [_detail(view) for view in page.views]
        else:
            rows = [wire.user_summary(view.person) for view in page.views]
        headers = {"num_found": str(page.total), "num_returned": str(len(rows)), "offset": str(query.offset)}
        number = query.offset // query.limit + 1
        if query.offset + len(rows) < page.total:
            headers["next"] = str(request.url.include_query_params(page=number + 1))
        if number > 1:
            headers["previous"] = str(request.url.include_query_params(page=number - 1))
        return JSONResponse(rows, headers=headers)

    # -- writing -------------------------------------------------------------------------------------

    async def create_user(self, request: Request) -> JSONResponse:
        found, _ = await self.presented(request, Permission.USER_CREATE)
        read = wire.user_input(await self.body_of(request), creating=True)
        assert read.username is not None
        await _refuse_taken(self._directory, found, read.username)
        public_id = new_public_id()
        fields = {**read.fields, "username": read.username}
        if read.password is not None:
            fields[PASSWORD] = Password(read.password)
        command = UpsertPerson(LOGIN_SOURCE, public_id, fields, frozenset({"email"}), public_id)
        receipt = await as_ocl(found, self._directory.submit(found, [command], answer=PersonById(public_id)))
        body = _detail(receipt.answer)
        location = str(request.base_url).rstrip("/") + body["url"]
        return JSONResponse(body, status_code=201, headers={"Location": location})

    async def update(self, request: Request, username: str | None) -> JSONResponse:
        """A partial update: of the user named (by staff, or by the user themselves), or of oneself (None)."""
        found, _ = await self.presented(request)
        read = wire.user_input(await self.body_of(request), creating=False)
        if username is None:
            person = (await as_ocl(found, self._directory.read(found, _myself(found)))).person
        else:
            person = (await self.user_named(found, username, to_change=True)).person
        if read.username is not None and read.username.casefold() != person["username"].casefold():
            raise wire.refuse("username", "A username cannot be changed.")
        fields = dict(read.fields)
        if read.password is not None:
            fields[PASSWORD] = Password(read.password)  # a new password signs every key out, as OCL does
        commands = [UpdatePerson(person.public_id, fields)] if fields else []
        receipt = await as_ocl(
            found, self._directory.submit(found, commands, answer=PersonById(person.public_id))
        )
        return JSONResponse(_detail(receipt.answer))

    async def update_self(self, request: Request) -> JSONResponse:
        return await self.update(request, None)

    async def update_user(self, user: str, request: Request) -> JSONResponse:
        return await self.update(request, user)

    async def delete_user(self, user: str, request: Request) -> Response:
        found = await credential(request, self._credentials)
        if request.query_params.get("hardDelete") is not None and wire.flag(
            request.query_params["hardDelete"]
        ):
            raise errors.OclError(400, "hardDelete is not supported: provisionhub deactivates, never erases.")
        principal = await as_ocl(found, self._directory.principal(found))
        person = (await self.user_named(found, user, to_change=True)).person
        if principal.is_person(person.id):
            raise errors.OclError(405, "You cannot deactivate yourself.")
        await as_ocl(found, self._directory.submit(found, [SetStatus(person.public_id, Status.DELETED)]))
        return Response(status_code=204)

    async def delete_self(self, request: Request) -> Response:
        await self.presented(request)
        raise errors.OclError(405, "You cannot deactivate yourself.")

    async def reactivate(self, user: str, request: Request) -> Response:
        found, _ = await self.presented(request, Permission.USER_UPDATE)
        try:
            view = await self.user_named(found, user, include_inactive=True, to_change=True)
        except NotFound:
            view = None
        if view is None or view.person.status in ACTIVE_STATUSES:
            raise NotFound("Not found: no deactivated user has this username.")
        command = SetStatus(view.person.public_id, Status.ACTIVE)
        # Only if it makes them active: a validity window that holds them leaves them as they are.
        trial = await as_ocl(found, self._directory.submit(found, [command], check=True))
        after = trial.results[0].row["status"]
        if after not in ACTIVE_VALUES:
            raise errors.OclError(
                400, f"User cannot be reactivated: their validity window makes them {after}."
            )
        await as_ocl(found, self._directory.submit(found, [command]))
        return Response(status_code=204)


def _detail(view: PersonView) -> dict[str, Any]:
    return wire.user_out(view.person, view.organisations, show_email=view.private)


def _myself(presented: Credential) -> Myself:
    """/user: the person signed in. An API token is nobody."""
    if isinstance(presented, ApiToken):
        raise Forbidden("An API token is not a user: /user answers for a person signed in as themselves.")
    return Myself()


async def _refuse_taken(directory: Directory, presented: Credential, username: str) -> None:
    """A create refused, in OCL's words, when the username is someone's the credential may see (the write
    refuses any taken username, seen or not)."""
    asked = PersonByUsername(username, include_inactive=True, to_change=True)
    try:
        holder = (await directory.read(presented, asked)).person
    except (NotFound, Forbidden):
        return
    active = holder.status in ACTIVE_STATUSES
    state = "is active" if active else f"is deactivated ({holder.status.value})"
    message = f"A user with username {holder['username']} already exists and {state}."
    if not active:
        message += f" Reactivate it: PUT {wire.user_url(holder['username'])}reactivate/"
    raise wire.refuse("username", message)


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
