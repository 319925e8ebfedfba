"""What every SCIM endpoint shares: the media type, credentials, paging parameters, list answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import ColumnElement, Connection, func

from provisionhub.auth.permissions import Permission, Principal
from provisionhub.dialects.scim import access, errors, schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.dialects.scim.filter_sql import DataType, SqlAttribute
from provisionhub.dialects.scim.filters import FilterError
from provisionhub.dialects.scim.projection import Projection, projection
from provisionhub.http.answers import LargeJSONResponse, json_bytes
from provisionhub.http.bodies import read_json
from provisionhub.store.database import Database

PREFIX = "/scim/v2"
#: The most resources one list answer carries (advertised as filter.maxResults).
MAX_RESULTS = 1000
DEFAULT_COUNT = 100
#: The largest startIndex taken as given; a larger one counts as this (its page is empty all the same).
MAX_START_INDEX = 2**31 - 1


class ScimResponse(LargeJSONResponse):
    media_type = errors.MEDIA_TYPE


def base_url(request: Request) -> str:
    """Where this service provider is, as the request names it (its resources' locations start so)."""
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    root = scope.get("app_root_path", scope.get("root_path", ""))
    return _base_url(request, (scope["scheme"], host, scope.get("server"), root))


def _base_url(request: Request, key: tuple[Any, ...]) -> str:
    """Starlette's base URL of request, made once for each key (what it is made of): ~15 µs each time."""
    found = _BASE_URLS.get(key)
    if found is None:
        if len(_BASE_URLS) >= _BASE_URLS_KEPT:  # a Host header is the client's to choose
            _BASE_URLS.clear()
        found = _BASE_URLS[key] = str(request.base_url).rstrip("/") + PREFIX
    return found


_BASE_URLS: dict[tuple[Any, ...], str] = {}
_BASE_URLS_KEPT = 256


def requested(request: Request) -> Projection:
    """The attributes a request's query asks for (attributes, excludedAttributes)."""
    if not request.scope["query_string"]:
        return _EVERYTHING
    return projection(request.query_params.get("attributes"), request.query_params.get("excludedAttributes"))


_EVERYTHING = projection(None, None)


async def authorised(database: Database, request: Request, permission: Permission) -> tuple[str, Principal]:
    """The request's bearer token and its principal, which must have permission."""
    token = access.bearer(request)
    return token, await database.read(lambda conn: again(conn, token, permission))


def again(conn: Connection, token: str, permission: Permission) -> Principal:
    """The token's principal, which must have permission (a write checks it inside its transaction)."""
    who = access.principal(conn, token)
    who.require(permission)
    return who


def list_response(resources: list[dict[str, Any]], total: int | None = None, start: int = 1) -> JSONResponse:
    return ScimResponse(
        {
            "schemas": [schemas.LIST_RESPONSE],
            "totalResults": len(resources) if total is None else total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    return value


def number(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid_value(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be an integer") from None


def paging(params: dict[str, Any]) -> tuple[int, int]:
    """startIndex (1-based; below 1 counts as 1) and count (negative counts as 0; at most MAX_RESULTS),
    as RFC 7644 3.4.2.4 says."""
    # Past the last resource a page is empty; an index beyond 64 bits is no offset a database takes.
    start = min(max(number(params, "startIndex", 1), 1), MAX_START_INDEX)
    count = min(max(number(params, "count", DEFAULT_COUNT), 0), MAX_RESULTS)
    return start, count


def sort_descending(params: dict[str, Any]) -> bool:
    order = text(params, "sortOrder")
    if order is None or order.lower() == "ascending":
        return False
    if order.lower() == "descending":
        return True
    raise invalid_value("sortOrder must be ascending or descending")


def resource_response(document: dict[str, Any], shown: dict[str, Any], status: int = 200) -> Response:
    """One resource (shown: the document as projected), with its ETag (and Location, when created)."""
    return ResourceResponse(shown, document["meta"], status)


class ResourceResponse(Response):
    """A resource's answer, its headers made directly: Starlette's Response lowers and encodes each header
    it is given and looks through them for its own (a tenth of what answering a SCIM read costs)."""

    media_type = errors.MEDIA_TYPE

    def __init__(self, shown: dict[str, Any], meta: dict[str, Any], status: int) -> None:
        self.status_code = status
        self.background = None
        self.body = json_bytes(shown)
        self.raw_headers = [
            (b"etag", meta["version"].encode("latin-1")),
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", _MEDIA_TYPE),
        ]
        if status == 201:
            self.raw_headers.insert(1, (b"location", meta["location"].encode("latin-1")))


_MEDIA_TYPE = errors.MEDIA_TYPE.encode("latin-1")


def read_response(request: Request, document: dict[str, Any], shown: dict[str, Any]) -> Response:
    """A GET's answer: 304 if the client's If-None-Match holds the current version, else the resource."""
    if access.not_modified(request, document["meta"]["version"]):
        return Response(status_code=304, headers={"ETag": document["meta"]["version"]})
    return resource_response(document, shown)


def sort_key(
    sort_by: str | None, resolver: Mapping[str, SqlAttribute], default: ColumnElement[Any], what: str
) -> ColumnElement[Any]:
    """The expression a sortBy names (default when none): strings that are not case-exact sort as
    lower-cased (RFC 7644 3.4.2.3)."""
    if not sort_by:
        return default
    path = sort_by.strip()
    found = resolver.get((path.rpartition(":")[2] if path.lower().startswith("urn:") else path).lower())
    if found is None:
        raise invalid_value(f"sortBy: {sort_by} is not an attribute {what} can be sorted by")
    if found.folded_column is not None:
        return found.folded_column
    if found.type is DataType.STRING and not found.case_exact:
        return func.lower(found.column)
    return found.column


Endpoint = Callable[..., Any]


def add_resource_routes(
    router: APIRouter,
    endpoint: str,
    resource: str,
    *,
    create: Endpoint,
    listing: Endpoint,
    search: Endpoint,
    read: Endpoint,
    replace: Endpoint,
    change: Endpoint,
    delete: Endpoint,
) -> None:
    """A resource type's routes: endpoint (/Users), and endpoint/{id} for one resource."""
    one = endpoint + "/{resource_id}"
    router.add_api_route(endpoint, create, methods=["POST"], status_code=201, summary=f"Create a {resource}")
    router.add_api_route(endpoint, listing, methods=["GET"], summary=f"List {resource}s (filter, sort, page)")
    router.add_api_route(endpoint + "/.search", search, methods=["POST"], summary=f"Search {resource}s")
    router.add_api_route(one, read, methods=["GET"], summary=f"One {resource}")
    router.add_api_route(one, replace, methods=["PUT"], summary=f"Replace a {resource}")
    router.add_api_route(one, change, methods=["PATCH"], summary=f"Change a {resource}")
    router.add_api_route(one, delete, methods=["DELETE"], status_code=204, summary=f"Delete a {resource}")


Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    """One resource type's lists: the condition of a filter, the key of a sortBy, a page of documents
    (with the total matching), and a document as a request's attributes show it."""

    condition: Callable[[str | None], ColumnElement[bool]]
    sort: Callable[[str | None], ColumnElement[Any]]
    page: Callable[
        [Connection, ColumnElement[bool], ColumnElement[Any], bool, int, int], tuple[int, list[Document]]
    ]
    shown: Callable[[Document, Projection], Document]


async def list_answer(
    database: Database, params: Mapping[str, Any], listings_for: Callable[[Connection], Sequence[Listing]]
) -> JSONResponse:
    """A ListResponse of the resources of the listings listings_for gives (several: a search at the root,
    RFC 7644 3.4.3, one type after another), all in one read: listings_for checks the credential first.
    A filter naming an attribute one type lacks matches none of that type."""

    def work(conn: Connection) -> tuple[int, int, list[Document]]:
        listings = listings_for(conn)
        start, count = paging(params)
        filter_text, sort_by = text(params, "filter"), text(params, "sortBy")
        descending = sort_descending(params)
        wanted = projection(params.get("attributes"), params.get("excludedAttributes"))
        plans = []
        for listing in listings:
            try:
                plans.append((listing, listing.condition(filter_text), listing.sort(sort_by)))
            except (FilterError, ScimError):
                if len(listings) == 1:
                    raise
        if not plans:
            listings[0].condition(filter_text)  # raises the first type's error
            listings[0].sort(sort_by)
        total, offset, shown = 0, start - 1, []
        for listing, where, order in plans:
            found, documents = listing.page(conn, where, order, descending, offset, count - len(shown))
            shown += [listing.shown(d, wanted) for d in documents]
            total += found
            offset = max(offset - found, 0)
        return start, total, shown

    start, total, resources = await database.read(work)
    return list_response(resources, total, start)


async def search_request(request: Request, max_body_bytes: int) -> dict[str, Any]:
    """A POST .search body: a SearchRequest object."""
    body = await read_json(request, max_body_bytes)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a SearchRequest object", ScimType.INVALID_SYNTAX)
    return body
