"""What every SCIM endpoint shares: the media type, paging parameters, list answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from provisionhub.dialects.scim import access, errors, schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.dialects.scim.projection import Projection, projection
from provisionhub.dialects.scim.resources import Resources
from provisionhub.directory.access import ApiToken, Permission
from provisionhub.directory.conditions import Filter, FilterError
from provisionhub.http.answers import LargeJSONResponse, json_bytes
from provisionhub.http.bodies import read_json
from provisionhub.http.endpoints import Endpoints
from provisionhub.http.route_permissions import needs

PREFIX = "/scim/v2"
#: The most resources one list answer carries (advertised as filter.maxResults).
MAX_RESULTS = 1000
DEFAULT_COUNT = 100
#: The largest startIndex taken as given; a larger one counts as this (its page is empty all the same).
MAX_START_INDEX = 2**31 - 1


class ScimEndpoints(Endpoints):
    """What SCIM's endpoints share: the directory's resources as a request's credential sees them."""

    def resources(self, request: Request) -> Resources:
        return Resources(self._directory, access.bearer(request), base_url(request))

    def checked(self, credential: ApiToken, *permissions: Permission) -> Callable[[], Awaitable[object]]:
        """The check list_answer makes before it tells what is wrong with a search: the credential good
        and holding one of permissions (any, if none named)."""
        return lambda: self._directory.principal(credential, *permissions)


class ScimResponse(LargeJSONResponse):
    media_type = errors.MEDIA_TYPE


def base_url(request: Request) -> str:
    """Where this service provider is, as the request names it (its resources' locations start so)."""
    scope = request.scope
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    root = scope.get("app_root_path", scope.get("root_path", ""))
    return _base_url(request, (scope["scheme"], host, scope.get("server"), root))


def _base_url(request: Request, key: tuple[Any, ...]) -> str:
    """Starlette's base URL of request, made once for each key (what it is made of): Starlette builds it
    anew on every call (docs/benchmarks)."""
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


def list_response(resources: list[dict[str, Any]], total: int | None = None, start: int = 1) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [schemas.LIST_RESPONSE],
            "totalResults": len(resources) if total is None else total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    return value


def number(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid_value(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be an integer") from None


def paging(params: Mapping[str, Any]) -> tuple[int, int]:
    """startIndex (1-based; below 1 counts as 1) and count (negative counts as 0; at most MAX_RESULTS),
    as RFC 7644 3.4.2.4 says."""
    # Past the last resource a page is empty; an index beyond 64 bits is no offset a database takes.
    start = min(max(number(params, "startIndex", 1), 1), MAX_START_INDEX)
    count = min(max(number(params, "count", DEFAULT_COUNT), 0), MAX_RESULTS)
    return start, count


def sort_descending(params: Mapping[str, Any]) -> bool:
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
    it is given and looks through them for its own, a measurable share of answering a SCIM read
    (docs/benchmarks)."""

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


def read_response(
    request: Request, document: dict[str, Any], shown: dict[str, Any], version: int
) -> Response:
    """A GET's answer: 304 if the client's If-None-Match holds the current version, else the resource."""
    if access.not_modified(request, version):
        return Response(status_code=304, headers={"ETag": document["meta"]["version"]})
    return resource_response(document, shown)


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
    permissions: ResourcePermissions,
) -> None:
    """A resource type's routes: endpoint (/Users), and endpoint/{id} for one resource."""
    one = endpoint + "/{resource_id}"
    reading, creating = needs(permissions.read), needs(permissions.create)
    changing, deleting = needs(permissions.change), needs(permissions.delete)

    def add(
        path: str, call: Endpoint, method: str, summary: str, access: dict[str, Any], status: int = 200
    ) -> None:
        router.add_api_route(
            path, call, methods=[method], status_code=status, summary=summary, openapi_extra=access
        )

    add(endpoint, create, "POST", f"Create a {resource}", creating, 201)
    add(endpoint, listing, "GET", f"List {resource}s (filter, sort, page)", reading)
    add(endpoint + "/.search", search, "POST", f"Search {resource}s", reading)
    add(one, read, "GET", f"One {resource}", reading)
    add(one, replace, "PUT", f"Replace a {resource}", changing)
    add(one, change, "PATCH", f"Change a {resource}", changing)
    add(one, delete, "DELETE", f"Delete a {resource}", deleting, 204)


@dataclass(frozen=True, slots=True)
class ResourcePermissions:
    """What a resource type's routes need: to read, create, change and delete one."""

    read: Permission
    create: Permission
    change: Permission
    delete: Permission


Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    """One resource type's lists: a filter and a sortBy in the directory's terms (read here), a page of
    documents with the total matching (condition, sort, descending, offset, limit), and a document as a
    request's attributes show it."""

    condition: Callable[[str | None], Filter | None]
    sort: Callable[[str | None], str | None]
    page: Callable[[Filter | None, str | None, bool, int, int], Awaitable[tuple[int, list[Document]]]]
    shown: Callable[[Document, Projection], Document]


async def list_answer(
    params: Mapping[str, Any], listings: Sequence[Listing], checked: Callable[[], Awaitable[object]]
) -> JSONResponse:
    """A ListResponse of the resources of listings (several: a search at the root, RFC 7644 3.4.3, one
    type after another). A filter naming an attribute one type lacks matches none of that type. Parameters
    that are refused are told only once checked() has found the credential good: a stranger learns
    nothing of them."""
    try:
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
    except (FilterError, ScimError):
        await checked()
        raise
    total, offset = 0, start - 1
    shown: list[Document] = []
    for listing, condition, order in plans:
        found, documents = await listing.page(condition, order, descending, offset, count - len(shown))
        shown += [listing.shown(d, wanted) for d in documents]
        total += found
        offset = max(offset - found, 0)
    return list_response(shown, total, start)


async def search_request(request: Request, max_body_bytes: int) -> dict[str, Any]:
    """A POST .search body: a SearchRequest object."""
    body = await read_json(request, max_body_bytes)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a SearchRequest object", ScimType.INVALID_SYNTAX)
    return body
