"""Reading a request body with a size limit, and parsing it (JSON, or a form), with typed failures; the one
check that every text a request carries (body, form, URL) is Unicode text; naming the kind of a JSON value."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

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


class NotUnicode(BodyError):
    """A text of the request is not Unicode text: a lone surrogate (a JSON escape such as \\ud800), or
    bytes that are not UTF-8 (a form's, a URL's percent-escapes such as %ED%A0%80)."""


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
    return parse_json(body)


def parse_json(document: bytes | str) -> Any:
    """A JSON document (a body, or a form field that holds one) parsed, its texts checked
    (refuse_unusable_text); NotJSON if it is not JSON."""
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        pass
    else:
        # orjson refuses bytes that are not UTF-8 and lone surrogate escapes: what it parsed is Unicode text.
        if "\\u0000" in document if isinstance(document, str) else b"\\u0000" in document:
            refuse_unusable_text(parsed)  # rare: only then is every string looked at
        return parsed
    # orjson refuses some texts JSON allows (a lone surrogate escape, an integer beyond 64 bits); the
    # standard parser takes those, so that the check after it can name the offending field.
    try:
        parsed = json.loads(document)
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotJSON(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:  # deeper than Python's parser goes (orjson stops at 1024 levels)
        raise NotJSON("the request body is not valid JSON: nested too deeply") from None
    refuse_unusable_text(parsed)
    return parsed


#: Where a value sits in a parsed body: None (the body), or (where its parent sits, its key or index, whether
#: the text is that key itself). Built as the walk goes, worded only for a refusal.
_Where = tuple[Any, str | int, bool] | None


def refuse_unusable_text(value: Any) -> None:
    """Every text of a parsed body (strings, keys) is Unicode text without NUL, or HoldsNul / NotUnicode
    names where it is. A NUL: PostgreSQL cannot store or even compare one (a lookup by such a value was a
    500), and no name, id or address has one. A lone surrogate (JSON's `"\\ud800"`) is no character:
    it cannot be encoded, stored or answered (it was a 500). Walked without recursion: a body may nest as
    deep as the JSON parser allows."""
    pending: list[tuple[Any, _Where]] = [(value, None)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():  # a key is looked at before what it holds: where that is
                pending.append((item, (where, key, False)))  # is worded with the key, which must be text
                pending.append((key, (where, key, True)))
        elif isinstance(value, list):
            pending.extend((item, (where, index, False)) for index, item in enumerate(value))


def _check_text(text: str, where: _Where) -> None:
    if "\x00" in text:
        raise HoldsNul(f"{_worded(where)} holds a NUL character (\\u0000), which no value may hold")
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        escape = f"\\u{ord(text[exc.start]):04x}"
        raise NotUnicode(
            f"{_worded(where)} holds a lone surrogate ({escape}), which is not a character: "
            "every text must be Unicode text"
        ) from None


def _worded(where: _Where) -> str:
    """Where a text sits, as a field path: `members[0].value`, `a key of members[0]`, `the request`."""
    if where is None:
        return "the request"
    parent, step, is_key = where
    steps: list[str | int] = []
    node = parent
    while node is not None:
        node, parent_step, _ = node
        steps.append(parent_step)
    path = ""
    for part in reversed(steps):
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    if is_key:
        return f"a key of {path}" if path else "a key of the request"
    named = f"[{step}]" if isinstance(step, int) else (f".{step}" if path else step)
    return path + named


#: A percent-escape of a byte beyond ASCII: only where one is (or a raw byte beyond ASCII) can the bytes
#: a URL or a form spells be other than UTF-8.
_HIGH_ESCAPE = re.compile(rb"%[89a-fA-F]")


def spelled_text_refusal(encoded: bytes) -> str | None:
    """Why the percent-encoded bytes (a URL's path or query, a urlencoded form) do not spell UTF-8 text,
    or None when they do. Parsers replace what is not UTF-8 (with U+FFFD) or read it as Latin-1: a write
    would keep the damage, a lookup would look for something else."""
    if encoded.isascii() and (b"%" not in encoded or _HIGH_ESCAPE.search(encoded) is None):
        return None
    try:
        unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        return f"holds bytes that are not UTF-8 (%{byte:02X}): every text must be UTF-8"
    return None


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
    # A form's fields were decoded leniently (starlette replaces what is not UTF-8, or reads it as
    # Latin-1): its bytes are checked instead, for the forms that have more than ASCII.
    refusal = spelled_text_refusal(body) if media_type == _FORMS[0] else _utf8_refusal(body)
    if refusal is not None:
        raise NotUnicode(f"the {media_type} form {refusal}")
    refuse_unusable_text(fields)
    return fields


def _utf8_refusal(body: bytes) -> str | None:
    if body.isascii():
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"holds bytes that are not UTF-8 (0x{body[exc.start]:02X}): every text must be UTF-8"
    return None
