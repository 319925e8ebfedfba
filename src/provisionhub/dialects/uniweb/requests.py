"""UNIWeb's request object, as resource.php takes it: a JSON body, or the form field `request` holding the
object as a JSON string (the PHP client's way), or a GET's query parameters (query.py). Aliases the docs
and the client disagree on are all taken: content/contentType, resource/resources,
filter.loginName/login/login_name, language/lang.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.sections import Language
from provisionhub.http.bodies import BodyError, NotJSON, parse_json

E = TypeVar("E", bound=StrEnum)

#: The path segment after which a string path lists the fields wanted (`section/_fields_/a/b`).
FIELDS_MARK = "_fields_"
#: How deep a `resources` value may nest: far beyond any path (a nested form is three or four levels).
MAX_NESTING = 32


class Action(StrEnum):
    READ = "read"
    ADD = "add"
    EDIT = "edit"
    CLEAR = "clear"
    INFO = "info"
    OPTIONS = "options"


class Content(StrEnum):
    MEMBERS = "members"
    UNITS = "units"
    GROUPS = "groups"


class IndexBy(StrEnum):
    UNIWEB_ID = "uniweb_id"
    LOGIN_NAME = "login_name"
    EMPLOYEE_ID = "employee_id"


@dataclass(frozen=True, slots=True)
class Filter:
    """Which members a read without id is about; each None when not given."""

    unit: str | None = None
    title: str | None = None
    login: str | None = None
    modified_since: datetime | None = None
    units: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ResourceRequest:
    """A request object, checked: resources is its `resource(s)` as sent (paths are resolved against the
    catalogue later, see wanted_paths)."""

    action: Action
    content: Content = Content.MEMBERS
    resources: Any = None
    id: str | None = None
    filter: Filter = field(default_factory=Filter)
    index_by: IndexBy = IndexBy.UNIWEB_ID
    language: Language = Language.EN

    @property
    def names_resources(self) -> bool:
        """Whether the request names resources: a read without them lists rows (UNIWeb's fast path)."""
        return self.resources not in (None, "", [], {})


def request_object(fields: Any) -> Any:
    """The request object a body carries: the body itself (JSON), or its `request` field parsed."""
    if isinstance(fields, Mapping) and "action" not in fields and "request" in fields:
        raw = fields["request"]
        if isinstance(raw, str):
            try:
                return parse_json(raw)
            except NotJSON:
                raise Invalid("request", Reason.INVALID, "request: not valid JSON") from None
            except BodyError as exc:  # a text in it is not Unicode text, or holds a NUL
                raise Invalid("request", Reason.INVALID, f"request: {exc}") from None
        return raw
    return fields


def read_request(fields: Any) -> ResourceRequest:
    """The request object in a body's fields, checked; Invalid names the property that is wrong."""
    body = request_object(fields)
    if not isinstance(body, Mapping):
        raise Invalid("request", Reason.INVALID, "request: a JSON object was expected")
    action = _choice(Action, body.get("action"), "action")
    if action is None:
        raise Invalid("action", Reason.REQUIRED, "action is required")
    content = _choice(Content, _first(body, "content", "contentType"), "content") or Content.MEMBERS
    language = _choice(Language, _first(body, "language", "lang"), "language") or Language.EN
    index_by = _choice(IndexBy, body.get("index_by"), "index_by") or IndexBy.UNIWEB_ID
    _only_public(body.get("onlyPublic"))
    identifier = body.get("id")
    if isinstance(identifier, bool) or (identifier is not None and not isinstance(identifier, str | int)):
        raise Invalid("id", Reason.INVALID, "id: a login name, username or UNIWeb id was expected")
    return ResourceRequest(
        action=action,
        content=content,
        resources=_first(body, "resources", "resource"),
        id=None if identifier is None or identifier == "" else str(identifier),
        filter=_filter(body.get("filter")),
        index_by=index_by,
        language=language,
    )


def _only_public(value: Any) -> None:
    """onlyPublic, of the reference's GET form: 0 (or absent) is taken. 1 asks for public data only, and
    nothing here is marked public or private (UNIWeb's own CV is private), so it is refused rather than
    answered with data that may be private: such answers are meant for public web pages."""
    if value in (None, "", 0, "0", "false"):  # 0 is also False
        return
    if value in (1, "1", "true"):
        message = "onlyPublic: 1 is not served: no section here is marked public or private"
    else:
        message = f"onlyPublic: {value!r} is not 0 or 1"
    raise Invalid("onlyPublic", Reason.INVALID, message)


def _first(body: Mapping[str, Any], *names: str) -> Any:
    return next((body[name] for name in names if body.get(name) is not None), None)


def _choice(kind: type[E], value: Any, name: str) -> E | None:
    if value is None or value == "":
        return None
    known = {member.value: member for member in kind}
    if not isinstance(value, str) or value not in known:
        allowed = ", ".join(known)
        raise Invalid(name, Reason.INVALID, f"{name}: {value!r} is not one of {allowed}")
    return known[value]


def _filter(value: Any) -> Filter:
    if value is None or value == "" or value == []:
        return Filter()
    if not isinstance(value, Mapping):
        raise Invalid("filter", Reason.INVALID, "filter: an object was expected")
    known = {"unit", "title", "loginName", "login", "login_name", "modified_since", "units"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise Invalid(f"filter/{unknown[0]}", Reason.UNKNOWN, f"filter/{unknown[0]}: not a filter")
    units = value.get("units")
    if units is not None:
        if not isinstance(units, list) or not all(isinstance(u, str | int) for u in units):
            raise Invalid("filter/units", Reason.INVALID, "filter/units: a list of unit ids was expected")
        units = tuple(str(u) for u in units)
    return Filter(
        unit=_text(value, "unit"),
        title=_text(value, "title"),
        login=_text(value, "loginName") or _text(value, "login") or _text(value, "login_name"),
        modified_since=_timestamp(value.get("modified_since")),
        units=units,
    )


def _text(value: Mapping[str, Any], name: str) -> str | None:
    text = value.get(name)
    if text is None or text == "":
        return None
    if not isinstance(text, str | int) or isinstance(text, bool):
        raise Invalid(f"filter/{name}", Reason.INVALID, f"filter/{name}: text was expected")
    return str(text).strip()


def _timestamp(value: Any) -> datetime | None:
    """A TIMESTAMP as UNIWeb takes it: 'YYYY-MM-DD HH:MM:SS' (or ISO 8601, or a date), in UTC when no
    offset is given; or seconds since 1970. In UTC; Invalid if it is none, or beyond the years 1 to 9999
    once in UTC (which datetime cannot hold)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    message = "filter/modified_since: a timestamp was expected, as 'YYYY-MM-DD HH:MM:SS' (UTC)"
    raise Invalid("filter/modified_since", Reason.INVALID, message)


# -- resource paths -----------------------------------------------------------------------------------


def wanted_paths(resources: Any, is_section: Callable[[str], bool]) -> dict[str, tuple[str, ...] | None]:
    """The sections a `resources` value names, each with the fields wanted (None: all): a string path
    (`a/b`, or `a/b/_fields_/f/g`), {path: [field, ...]}, the nested form {page: {parent: [child, ...]}}
    (a list names child sections when each is one, else fields), or a list of these."""
    wanted: dict[str, tuple[str, ...] | None] = {}
    _collect(resources, "", is_section, wanted)
    if not wanted:
        raise Invalid("resources", Reason.REQUIRED, "resources: at least one resource path is required")
    return wanted


def _collect(
    value: Any,
    prefix: str,
    is_section: Callable[[str], bool],
    wanted: dict[str, tuple[str, ...] | None],
    depth: int = 0,
) -> None:
    if depth > MAX_NESTING:
        raise Invalid("resources", Reason.INVALID, f"resources: nested deeper than {MAX_NESTING} levels")
    if isinstance(value, str):
        _add_path(_joined(prefix, value), wanted)
    elif isinstance(value, list):
        if prefix and value and all(isinstance(v, str) for v in value):
            children = [_joined(prefix, v) for v in value]
            if not all(is_section(child) for child in children):
                _add(prefix, tuple(value), wanted)
                return
        for item in value:
            _collect(item, prefix, is_section, wanted, depth + 1)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _collect(inner, _joined(prefix, str(key)), is_section, wanted, depth + 1)
    elif value is None and prefix:
        _add_path(prefix, wanted)
    else:
        where = prefix or "resources"
        raise Invalid(where, Reason.INVALID, f"{where}: a path, an object of paths or a list was expected")


def _joined(prefix: str, name: str) -> str:
    name = name.strip().strip("/")
    return f"{prefix}/{name}" if prefix else name


def _add_path(path: str, wanted: dict[str, tuple[str, ...] | None]) -> None:
    section, mark, names = path.partition(f"/{FIELDS_MARK}/")
    if mark:
        _add(section, tuple(n for n in names.split("/") if n), wanted)
    else:
        _add(path.removesuffix(f"/{FIELDS_MARK}"), None, wanted)


def _add(path: str, names: tuple[str, ...] | None, wanted: dict[str, tuple[str, ...] | None]) -> None:
    if not path:
        raise Invalid("resources", Reason.INVALID, "resources: an empty path")
    if path not in wanted:
        wanted[path] = names
        return
    held = wanted[path]
    if held is None or names is None:
        wanted[path] = None
    else:
        wanted[path] = (*held, *(n for n in names if n not in held))
