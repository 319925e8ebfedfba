"""The receiver's endpoints, at the URLs COmanage's ApiProvisioner builds from a server URL of
`http://HOST/comanage/people`: POST mode posts every message to `people/`; PUT mode upserts at
`people/{identifier}` (PUT, as its documentation says, or POST, as its code sends) and deletes there
with DELETE.

Each message is one transaction through the directory: the person's fields, then the groups COmanage
gave them, then their status, with the change log and outbox together. A message that changes nothing
writes nothing, so COmanage's retries are harmless. What a credential needs is what the message does:
user-create to create, user-update to change, user-delete to delete (a repeat that changes nothing
needs one of the first two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from provisionhub.auth.permissions import Permission, Principal
from provisionhub.dialects.comanage import access, errors, translate, wire
from provisionhub.dialects.comanage.translate import Provision
from provisionhub.directory.groups import SetSourceGroups
from provisionhub.directory.people import SetStatus, Status, UpsertPerson
from provisionhub.directory.people_search import find_by_identity
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect

PEOPLE = "/people"

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": wire.ErrorBody, "description": description}
    for status, description in {
        400: "the body is not JSON, or a property is of the wrong type, too long or invalid (field names it)",
        401: "no Basic credentials, or not those of an API token or a staff member",
        403: "the credential lacks the permission, or may not write people of login source COMANAGE",
        409: "the email or username belongs to another person",
        413: "the body is too large",
    }.items()
}


def comanage_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    """The COmanage receiver at /comanage: HTTP Basic; errors as `{"error", "field", "message"}`."""
    return Dialect(
        wire.PREFIX,
        _router(directory, max_body_bytes),
        errors.error_response,
        handled=(errors.ComanageError,),
    )


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=wire.PREFIX, tags=["comanage"])
    database = directory.database

    async def write(presented: access.Credential, read: Provision) -> Response:
        def work(conn: Connection) -> Outcome | None:
            return apply(directory, conn, access.provisioner(conn, presented), read)

        outcome = await database.write(work)
        if outcome is None:
            return Response(status_code=204)
        return JSONResponse(
            {"id": outcome.public_id, "identifier": read.identifier, "result": outcome.result},
            status_code=201 if outcome.result == "created" else 200,
        )

    async def message(request: Request, identifier: str | None) -> Response:
        presented = await access.credential(request, database)  # first: a stranger learns nothing more
        read = translate.provision(await read_json(request, max_body_bytes), identifier)
        return await write(presented, read)

    async def post_mode(request: Request) -> Response:
        return await message(request, None)

    async def put_mode(identifier: str, request: Request) -> Response:
        return await message(request, identifier)

    async def delete(identifier: str, request: Request) -> Response:
        presented = await access.credential(request, database)
        return await write(presented, translate.deletion(identifier))

    body = {"requestBody": {"content": {"application/json": {"schema": wire.Message.model_json_schema()}}}}
    answers = {**_ERRORS, 204: {"description": "deleted (or nobody to delete)"}}
    for path in (PEOPLE + "/", PEOPLE):  # without the slash: a server URL configured with it gets it stripped
        router.add_api_route(
            path,
            post_mode,
            methods=["POST"],
            summary="POST mode: create, change or delete the person person.meta.id names",
            response_model=wire.Provisioned,
            responses=answers,
            openapi_extra=body,
            include_in_schema=path.endswith("/"),
        )
    # After POST mode's route: {identifier:path} matches the empty identifier too. An identifier may hold
    # a slash (an eptid does), percent-encoded or not.
    for method in ("PUT", "POST"):  # the documentation's PUT, the code's POST
        router.add_api_route(
            PEOPLE + "/{identifier:path}",
            put_mode,
            methods=[method],
            summary="PUT mode: create or change the person the URL names (person.meta.deleted: delete)",
            response_model=wire.Provisioned,
            responses=answers,
            openapi_extra=body,
            operation_id=f"comanage_{method.lower()}_person",
        )
    router.add_api_route(
        PEOPLE + "/{identifier:path}",
        delete,
        methods=["DELETE"],
        summary="PUT mode: delete the person the URL names (no body)",
        status_code=204,
        responses=_ERRORS,
    )
    return router


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an upsert did to the person with this public id."""

    public_id: str
    result: Literal["created", "updated", "unchanged"]


def apply(directory: Directory, conn: Connection, who: Principal, read: Provision) -> Outcome | None:
    """Do what a message says, inside the request's transaction; None for a delete. A permission
    refused after writing rolls the writing back with it."""
    actor = who.actor
    if read.delete:
        who.require(Permission.USER_DELETE)
        person = find_by_identity(conn, wire.LOGIN_SOURCE, read.identifier)
        if person is not None:  # deleting nobody, or the deleted, is done already: COmanage retries
            directory.set_status(conn, SetStatus(person.public_id, Status.DELETED), actor)
        return None
    with errors.at_paths(read.paths):
        result = directory.upsert_person(
            conn, UpsertPerson(wire.LOGIN_SOURCE, read.identifier, read.fields), actor
        )
    public_id = result.public_id
    changed = bool(result.changed)
    changed |= directory.set_source_groups(
        conn, SetSourceGroups(public_id, wire.LOGIN_SOURCE, read.groups), actor
    )
    if read.status is not None:
        changed |= bool(directory.set_status(conn, SetStatus(public_id, read.status), actor).changed)
    if result.created:
        who.require(Permission.USER_CREATE)
        return Outcome(public_id, "created")
    if changed:
        who.require(Permission.USER_UPDATE)
        return Outcome(public_id, "updated")
    who.require_any(Permission.USER_CREATE, Permission.USER_UPDATE)
    return Outcome(public_id, "unchanged")
