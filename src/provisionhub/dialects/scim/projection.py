"""Which attributes an answer carries (RFC 7644 3.4.2.5, RFC 7643 7 `returned`): `attributes` and
`excludedAttributes` of a request, over the schema's rules. `id` is always returned; attributes
`returned: request` (date of birth, driver's licence) only when asked for by name; `never`, never."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisionhub.dialects.scim.errors import invalid_value
from provisionhub.dialects.scim.schemas import Attribute, Schema

_ALWAYS = frozenset({"id", "schemas"})


@dataclass(frozen=True, slots=True)
class Projection:
    """Parsed attribute lists: each entry (schema URN or "", attribute, sub-attribute or ""), folded."""

    attributes: frozenset[tuple[str, str, str]] | None = None
    excluded: frozenset[tuple[str, str, str]] = frozenset()


def projection(attributes: str | Sequence[str] | None, excluded: str | Sequence[str] | None) -> Projection:
    """From query parameters (comma-separated text) or a search request's lists."""
    return Projection(_paths(attributes) if attributes else None, _paths(excluded) or frozenset())


def _paths(value: str | Sequence[str] | None) -> frozenset[tuple[str, str, str]]:
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    paths = set()
    for item in items:
        if not isinstance(item, str):
            raise invalid_value("attributes and excludedAttributes are lists of attribute names")
        text = item.strip()
        if not text:
            continue
        urn, _, name = text.rpartition(":") if text.lower().startswith("urn:") else ("", "", text)
        attribute, _, sub = name.partition(".")
        paths.add((urn.casefold(), attribute.casefold(), sub.casefold()))
    return frozenset(paths)


def project(
    document: dict[str, Any], wanted: Projection, core: Schema, extensions: Sequence[Schema]
) -> dict[str, Any]:
    """document with only the attributes wanted."""
    if wanted.attributes is None and not wanted.excluded:
        return _default_view(document, core, extensions)
    answer: dict[str, Any] = {}
    for key, value in document.items():
        if key == "meta":
            if _kept(wanted, "", "meta", "default"):
                answer[key] = value
            continue
        if key in _ALWAYS:
            answer[key] = value
            continue
        extension = next((s for s in extensions if s.id == key), None)
        if extension is not None:
            kept = _complex(value, wanted, extension.id.casefold(), extension)
            if kept:
                answer[key] = kept
            continue
        attribute = core.attribute(key)
        entry = _attribute_value(value, wanted, "", attribute, key)
        if entry is not None:
            answer[key] = entry
    if "schemas" in answer:  # an extension left out is no longer listed
        answer["schemas"] = [s for s in answer["schemas"] if s == core.id or s in answer]
    return answer


def _complex(value: dict[str, Any], wanted: Projection, urn: str, schema: Schema) -> dict[str, Any]:
    kept = {}
    for key, item in value.items():
        entry = _attribute_value(item, wanted, urn, schema.attribute(key), key)
        if entry is not None:
            kept[key] = entry
    return kept


def _attribute_value(value: Any, wanted: Projection, urn: str, attribute: Attribute | None, key: str) -> Any:
    returned = attribute.returned if attribute is not None else "default"
    name = key.casefold()
    if not attribute or not attribute.sub_attributes:
        return value if _kept(wanted, urn, name, returned) else None
    if not _kept(wanted, urn, name, returned, partial=True):
        return None
    subs = {sub for (u, a, sub) in (wanted.attributes or ()) if a == name and u in ("", urn) and sub}
    excluded = {sub for (u, a, sub) in wanted.excluded if a == name and u in ("", urn) and sub}

    def trim(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {
            k: v
            for k, v in item.items()
            if (not subs or k.casefold() in subs) and k.casefold() not in excluded
        }

    trimmed = [trim(v) for v in value] if isinstance(value, list) else trim(value)
    return trimmed or None


def _kept(wanted: Projection, urn: str, name: str, returned: str, *, partial: bool = False) -> bool:
    """Whether an attribute goes out. partial: named with a sub-attribute counts as named (the
    caller then keeps only the sub-attributes asked for)."""

    def named(paths: frozenset[tuple[str, str, str]], *, with_sub: bool) -> bool:
        return any(a == name and u in ("", urn) and (with_sub or not s) for (u, a, s) in paths)

    if returned == "never":
        return False
    if returned == "always":
        return True
    if wanted.attributes is not None or returned == "request":
        return wanted.attributes is not None and named(wanted.attributes, with_sub=partial)
    return not named(wanted.excluded, with_sub=False)


_REQUEST_ONLY: dict[str, frozenset[str]] = {}


def _request_only(schema: Schema) -> frozenset[str]:
    """The names of schema's top-level attributes returned only when asked for (or never); remembered by
    the schema's id (hashing a Schema walks every attribute)."""
    found = _REQUEST_ONLY.get(schema.id)
    if found is None:
        found = _REQUEST_ONLY[schema.id] = frozenset(
            a.name for a in schema if a.returned in ("request", "never")
        )
    return found


def _default_view(document: dict[str, Any], core: Schema, extensions: Sequence[Schema]) -> dict[str, Any]:
    """document as answered when a request names no attributes: without those returned only when asked
    for. The everyday case, done without walking every attribute, which every User of a list page paid
    (docs/benchmarks)."""
    hidden = _request_only(core)
    answer = {key: value for key, value in document.items() if key not in hidden}
    for extension in extensions:
        value = answer.get(extension.id)
        if value is None:
            continue
        kept = {key: item for key, item in value.items() if key not in _request_only(extension)}
        if kept:
            answer[extension.id] = kept
        else:
            del answer[extension.id]
            answer["schemas"] = [s for s in answer["schemas"] if s != extension.id]
    return answer
