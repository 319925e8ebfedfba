"""The receiver's endpoints, at the URLs COmanage's ApiProvisioner builds from a server URL of
`http://HOST/comanage/people`: POST mode posts every message to `people/`; PUT mode upserts at
`people/{identifier}` (PUT, as its documentation says, or POST, as its code sends) and deletes there
with DELETE.

Each message is one command to the directory, one transaction: the person's fields, then the groups
COmanage gave them, then their status, with the change log and outbox together. A message that changes
nothing writes nothing, so COmanage's retries are harmless. What a credential needs is what the message
does, as for any source's upsert: user-create to create, user-create or user-update to change, user-delete
to delete.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from provisionhub.auth.credentials import Credentials
from provisionhub.dialects.comanage import access, errors, translate, wire
from provisionhub.dialects.comanage.translate import Provision
from provisionhub.directory.access import Credential
from provisionhub.directory.people import SetStatus, Status, UpsertPerson
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect
from provisionhub.http.endpoints import EndpointsWithCredentials
from provisionhub.http.openapi import json_body
from provisionhub.http.route_permissions import needs

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


def comanage_dialect(directory: Directory, credentials: Credentials, max_body_bytes: int) -> Dialect:
    """The COmanage receiver at /comanage: HTTP Basic; errors as `{"error", "field", "message"}`."""
    return Dialect(
        wire.PREFIX,
        _router(directory, credentials, max_body_bytes),
        errors.error_response,
        handled=(errors.ComanageError,),
    )


def _router(directory: Directory, credentials: Credentials, max_body_bytes: int) -> APIRouter:
    """The endpoints (ComanageRoutes) on a router, in the order they are matched."""
    router = APIRouter(prefix=wire.PREFIX, tags=["comanage"])
    comanage = ComanageRoutes(directory, credentials, max_body_bytes)
    body = {
        **json_body(wire.Message),
        **needs(*access.PROVISIONING),
    }
    answers = {**_ERRORS, 204: {"description": "deleted (or nobody to delete)"}}
    for path in (PEOPLE + "/", PEOPLE):  # without the slash: a server URL configured with it gets it stripped
        router.add_api_route(
            path,
            comanage.post_mode,
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
            comanage.put_mode,
            methods=[method],
            summary="PUT mode: create or change the person the URL names (person.meta.deleted: delete)",
            response_model=wire.Provisioned,
            responses=answers,
            openapi_extra=body,
            operation_id=f"comanage_{method.lower()}_person",
        )
    router.add_api_route(
        PEOPLE + "/{identifier:path}",
        comanage.delete,
        methods=["DELETE"],
        summary="PUT mode: delete the person the URL names (no body)",
        status_code=204,
        responses=_ERRORS,
        openapi_extra=needs(*access.PROVISIONING),
    )
    return router


class ComanageRoutes(EndpointsWithCredentials):
    """The receiver's endpoints: POST mode's and PUT mode's."""

    async def write(self, presented: Credential, read: Provision) -> Response:
        with errors.at_paths(read.paths):
            receipt = await self._directory.submit(presented, [command_of(read)])
        result = receipt.results[0]
        if result is None or read.delete:
            return Response(status_code=204)
        outcome = "created" if result.created else "updated" if result.changed else "unchanged"
        return JSONResponse(
            {"id": result.public_id, "identifier": read.identifier, "result": outcome},
            status_code=201 if outcome == "created" else 200,
        )

    async def message(self, request: Request, identifier: str | None) -> Response:
        presented = await access.credential(
            request, self._directory, self._credentials
        )  # first: a stranger learns nothing
        read = translate.provision(await read_json(request, self._max_body_bytes), identifier)
        return await self.write(presented, read)

    async def post_mode(self, request: Request) -> Response:
        return await self.message(request, None)

    async def put_mode(self, identifier: str, request: Request) -> Response:
        return await self.message(request, identifier)

    async def delete(self, identifier: str, request: Request) -> Response:
        presented = await access.credential(request, self._directory, self._credentials)
        return await self.write(presented, translate.deletion(identifier))


def command_of(read: Provision) -> UpsertPerson | SetStatus:
    """What a message asks of the directory: the person as its source says they are (fields, groups,
    status), or, for a deletion, the person with its identifier deleted (if anyone has it: COmanage
    retries, and deleting nobody is done already)."""
    if read.delete:
        return SetStatus(None, Status.DELETED, identity=(wire.LOGIN_SOURCE, read.identifier))
    return UpsertPerson(
        wire.LOGIN_SOURCE, read.identifier, read.fields, groups=read.groups, status=read.status
    )
