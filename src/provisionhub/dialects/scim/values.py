"""SCIM values read against their attribute's definition (RFC 7643 2.3, 2.4): a value sent in canonical
form, lenient where clients are known to differ, and when two values are the same value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from provisionhub.dialects.scim.errors import invalid_path, invalid_value
from provisionhub.dialects.scim.schemas import Attribute
from provisionhub.directory.condition_sql import as_boolean
from provisionhub.http.bodies import json_kind


def canonical_value(attribute: Attribute, value: Any, name: str) -> Any:
    """One value of attribute (one of its values, if multi-valued) in canonical form: sub-attributes
    under their canonical names (null ones kept, as they unassign), "True" and "False" as booleans, and
    a simple value given for a complex attribute with a `value` sub-attribute as `{"value": ...}` (Entra
    sends a manager's id alone). Raises ScimError naming the attribute for a value of the wrong type."""
    if value is None:
        return None
    if attribute.type == "complex":
        value_sub = attribute.sub_attribute("value")
        if not isinstance(value, dict | list) and value_sub is not None:
            return {value_sub.name: canonical_value(value_sub, value, f"{name}.{value_sub.name}")}
        if not isinstance(value, dict):
            raise invalid_value(f"{name} must be an object of its sub-attributes, not {json_kind(value)}")
        found: dict[str, Any] = {}
        for key, item in value.items():
            sub = attribute.sub_attribute(str(key))
            if sub is None:
                raise invalid_path(f"{name} has no sub-attribute {key!r}")
            found[sub.name] = canonical_value(sub, item, f"{name}.{sub.name}")
        return found
    if attribute.type == "boolean":
        flag = as_boolean(value)
        if flag is None:
            raise invalid_value(f"{name} must be true or false, not {json_kind(value)}")
        return flag
    if attribute.type in ("integer", "decimal"):
        allowed: tuple[type, ...] = (int,) if attribute.type == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise invalid_value(f"{name} must be a number ({attribute.type}), not {json_kind(value)}")
        return value
    if not isinstance(value, str):  # string, reference, binary and dateTime are JSON strings
        raise invalid_value(f"{name} must be a string, not {json_kind(value)}")
    return value


def without_nulls(value: Any) -> Any:
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def same_value(attribute: Attribute, old: Any, new: Any) -> bool:
    """Whether new is a value already there, so that adding it merges into old rather than adding it
    twice: the same `value` (and the same `type`, when both have one), or for values without a `value`
    sub-attribute (addresses) the same sub-attributes but for primary."""
    value_sub = attribute.sub_attribute("value")
    if not isinstance(old, dict) or not isinstance(new, dict):
        return _equal(attribute, old, new)
    if value_sub is None:
        return without_primary(old) == without_primary(new)
    if not _equal(value_sub, sub_value(old, "value"), new.get("value")):
        return False
    old_type, new_type = sub_value(old, "type"), new.get("type")
    return old_type is None or new_type is None or _equal(attribute.sub_attribute("type"), old_type, new_type)


def _equal(attribute: Attribute | None, a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str) and attribute is not None and not attribute.case_exact:
        return a.casefold() == b.casefold()
    return a == b


def without_primary(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if str(k).casefold() != "primary"}


def sub_value(value: Any, name: str) -> Any:
    """The sub-attribute name of a value object, its key compared case-insensitively; None if absent."""
    if not isinstance(value, dict):
        return None
    if name in value:
        return value[name]
    folded = name.casefold()
    return next((v for k, v in value.items() if isinstance(k, str) and k.casefold() == folded), None)


def as_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date and time (one without an offset taken as UTC), or None."""
    if not isinstance(value, str) or len(value) < 16:  # a date alone is not an xsd:dateTime
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
