"""SCIM Bulk (RFC 7644 3.7): many operations on Users and Groups in one request.

Operations run in order, each a write of its own through the directory (RFC 7644 3.7 asks for no
transaction across them): one that fails is answered with its error, the others stand; `failOnErrors`
stops the run after that many. An operation may name a resource another one creates by `bulkId:<id>` (in
its path or anywhere in its data); it then waits until that one has run, whatever their order in the
request. One that names a bulkId no operation has, or whose operation failed, fails; operations that wait
on each other in a circle fail with 409.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from provisionhub.dialects.scim import errors, schemas
from provisionhub.dialects.scim.access import versions
from provisionhub.dialects.scim.errors import ScimError, ScimType, as_scim_error, invalid_value
from provisionhub.dialects.scim.resources import Resources, scim_error
from provisionhub.dialects.scim.users import user_in
from provisionhub.directory.errors import DirectoryError

#: The most operations one request may carry (advertised as bulk.maxOperations).
MAX_OPERATIONS = 1000

_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_PATH = re.compile(r"/(Users|Groups)(?:/([^/]+))?")
_REFERENCE = re.compile(r"bulkId:(.+)")


@dataclass(slots=True)
class Operation:
    index: int
    method: str
    path: str
    bulk_id: str | None
    data: Any
    version: str | None
    waits_for: set[str] = field(default_factory=set)


def read_request(body: Any) -> tuple[list[Operation], int | None]:
    """A BulkRequest's operations and failOnErrors; ScimError if the request as a whole is malformed."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a BulkRequest object", ScimType.INVALID_SYNTAX)
    listed = body.get("schemas")
    if listed is not None and (not isinstance(listed, list) or schemas.BULK_REQUEST not in listed):
        raise ScimError(400, f"schemas must list {schemas.BULK_REQUEST}", ScimType.INVALID_SYNTAX)
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int) or fail_on_errors < 1
    ):
        raise invalid_value("failOnErrors must be a whole number of at least 1")
    raw = body.get("Operations")
    if not isinstance(raw, list) or not raw:
        raise ScimError(400, "Operations must be a non-empty list", ScimType.INVALID_SYNTAX)
    if len(raw) > MAX_OPERATIONS:
        message = f"{len(raw)} operations: at most {MAX_OPERATIONS} (maxOperations) in one request"
        raise ScimError(413, message, ScimType.TOO_MANY)
    operations = [_operation(index, item) for index, item in enumerate(raw)]
    bulk_ids = [op.bulk_id for op in operations if op.bulk_id is not None]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise invalid_value("each bulkId must be given to one operation only")
    return operations, fail_on_errors


def _operation(index: int, item: Any) -> Operation:
    where = f"Operations[{index}]"
    if not isinstance(item, dict):
        raise ScimError(400, f"{where} must be an object", ScimType.INVALID_SYNTAX)
    method = item.get("method")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ScimError(400, f"{where}.method must be POST, PUT, PATCH or DELETE", ScimType.INVALID_SYNTAX)
    path, bulk_id, version = item.get("path"), item.get("bulkId"), item.get("version")
    if not isinstance(path, str):
        raise ScimError(400, f"{where}.path must be a string", ScimType.INVALID_SYNTAX)
    if bulk_id is not None and not isinstance(bulk_id, str):
        raise invalid_value(f"{where}.bulkId must be a string")
    if method.upper() == "POST" and not bulk_id:
        raise invalid_value(f"{where}: a POST needs a bulkId")
    if version is not None and not isinstance(version, str):
        raise invalid_value(f"{where}.version must be a string")
    operation = Operation(index, method.upper(), path, bulk_id, item.get("data"), version)
    operation.waits_for = set(_references(path)) | set(_references(operation.data))
    return operation


def _references(value: Any) -> Iterator[str]:
    """The bulkIds a value names (`bulkId:<id>`, as a whole string or a path's last segment)."""
    if isinstance(value, str):
        found = _REFERENCE.fullmatch(value.rsplit("/", 1)[-1])
        if found:
            yield found.group(1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _resolved(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        head, _, last = value.rpartition("/")
        found = _REFERENCE.fullmatch(last)
        if found and found.group(1) in ids:
            return f"{head}/{ids[found.group(1)]}" if "/" in value else ids[found.group(1)]
        return value
    if isinstance(value, dict):
        return {key: _resolved(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, ids) for item in value]
    return value


def _path_kind(path: str) -> str | None:
    found = _PATH.fullmatch(path)
    return found.group(1) if found else None


async def run(
    seen: Resources, operations: list[Operation], fail_on_errors: int | None
) -> list[dict[str, Any]]:
    """Run the operations, each a write of its own; one result each, in the request's order, for those
    that ran."""
    results: dict[int, dict[str, Any]] = {}
    created: dict[str, str] = {}  # bulkId -> the id of what its operation created
    failed: set[str] = set()
    known = {op.bulk_id for op in operations if op.bulk_id is not None}
    pending = list(operations)
    errors_seen = 0
    while pending:
        ready = [op for op in pending if op.waits_for <= created.keys() | failed | (op.waits_for - known)]
        if not ready:  # every one left waits for another one left: a circle
            for op in pending:
                results[op.index] = _error(op, ScimError(409, "its bulkId references go round in a circle"))
            break
        for op in ready:
            pending.remove(op)
            missing = sorted(op.waits_for - created.keys())
            try:
                if missing:
                    raise invalid_value(f"no operation created bulkId:{missing[0]}")
                results[op.index] = await _run_one(seen, op, created)
            except (ScimError, DirectoryError) as exc:
                results[op.index] = _error(op, as_scim_error(scim_error(exc)))
                errors_seen += 1
                if op.bulk_id is not None:
                    failed.add(op.bulk_id)
                if fail_on_errors is not None and errors_seen >= fail_on_errors:
                    return [results[i] for i in sorted(results)]
    return [results[i] for i in sorted(results)]


async def _run_one(seen: Resources, op: Operation, created: dict[str, str]) -> dict[str, Any]:
    path = _resolved(op.path, created)
    data = _resolved(op.data, created)
    found = _PATH.fullmatch(path)
    if found is None:
        raise ScimError(400, f"path {op.path!r}: not /Users, /Groups or one of theirs", ScimType.INVALID_PATH)
    kind, resource_id = found.groups()
    if (op.method == "POST") != (resource_id is None):
        raise ScimError(
            400,
            f"{op.method} {op.path}: POST goes to /{kind}, the others to /{kind}/<id>",
            ScimType.INVALID_PATH,
        )
    document = await _apply(seen, op.method, kind, resource_id, data, versions(op.version))
    result: dict[str, Any] = {"method": op.method}
    if op.bulk_id is not None:
        result["bulkId"] = op.bulk_id
    if document is None:
        result["location"] = f"{seen.url}{path}"
        result["status"] = "204"
        return result
    if op.method == "POST" and op.bulk_id is not None:
        created[op.bulk_id] = document["id"]
    result["location"] = document["meta"]["location"]
    result["version"] = document["meta"]["version"]
    result["status"] = "201" if op.method == "POST" else "200"
    return result


async def _apply(
    seen: Resources,
    method: str,
    kind: str,
    resource_id: str | None,
    data: Any,
    wanted: frozenset[int] | None,
) -> dict[str, Any] | None:
    if kind == "Users":
        if method == "POST":
            return await seen.create_user(user_in(data))
        assert resource_id is not None
        if method == "PUT":
            return await seen.replace_user(resource_id, user_in(data), wanted)
        if method == "PATCH":
            return await seen.patch_user(resource_id, data, wanted)
        await seen.delete_user(resource_id, wanted)
        return None
    if method == "POST":
        return await seen.create_group(data)
    assert resource_id is not None
    if method in ("PUT", "PATCH"):
        return await seen.change_group(resource_id, data, patch=method == "PATCH", versions=wanted)
    await seen.delete_group(resource_id, wanted)
    return None


def _error(op: Operation, error: ScimError) -> dict[str, Any]:
    result: dict[str, Any] = {"method": op.method}
    if op.bulk_id is not None:
        result["bulkId"] = op.bulk_id
    result["status"] = str(error.status)
    result["response"] = errors.body(error.status, error.detail, error.scim_type)
    return result


def response(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [schemas.BULK_RESPONSE], "Operations": results}
