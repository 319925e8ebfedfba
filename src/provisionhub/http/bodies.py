"""Reading a request body with a size limit, and parsing it (JSON, or a form), with typed failures; naming
the kind of a JSON value."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message


class BodyError(Exception):
    """The body could not be used; message says why, for the client."""


class BodyTooLarge(BodyError):
    pass


class NotJSON(BodyError):
    pass


class HoldsNul(BodyError):
    """A text of the request holds a NUL character."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (before reading it all) anything over limit bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """The body parsed as JSON (UTF-8); NotJSON if it is empty or not JSON."""
    body = await read_body(request, limit)
    if not body.strip():
        raise NotJSON("the request body is empty; a JSON object was expected")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        if b"\\u0000" in body:  # rare: only then is every string looked at
            _refuse_nul(parsed)
        return parsed
    # orjson refuses some texts JSON allows (a lone surrogate escape, an integer beyond 64 bits); the
    # standard parser takes those, so that the validation after it can name the offending field.
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJSON(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:  # deeper than Python's parser goes (orjson stops at 1024 levels)
        raise NotJSON("the request body is not valid JSON: nested too deeply") from None
    _refuse_nul(parsed)
    return parsed


def _refuse_nul(value: Any) -> None:
    """No text of a request may hold a NUL character: PostgreSQL cannot store or even compare one (a
    lookup by such a value was a 500), and no name, id or address has one. Walked without recursion:
    a body may nest as deep as the JSON parser allows."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise HoldsNul("the request holds a NUL character (\\u0000), which no value may hold")
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def json_kind(value: Any) -> str:
    """What a parsed JSON value is, for messages that say what was expected instead."""
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
    return "null"


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_fields(request: Request, limit: int) -> Any:
    """The body as JSON or, if it was sent as a form (urlencoded or multipart), as {name: value} (a field
    sent twice: its last value). A form may not carry files."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in _FORMS:
        return await read_json(request, limit)
    body = await read_body(request, limit)  # the limit holds for forms too

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, receive).form()
    except (MultiPartException, HTTPException) as exc:  # inside an app, Starlette raises the latter
        detail = exc.message if isinstance(exc, MultiPartException) else exc.detail
        raise BodyError(f"the request body is not a valid {media_type} form: {detail}") from None
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise BodyError(f"the form field {name} is a file: only text fields are accepted")
        fields[name] = value
    _refuse_nul(fields)
    return fields
