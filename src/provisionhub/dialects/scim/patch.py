"""SCIM PATCH (RFC 7644 3.5.2) applied to a resource's document, the JSON a GET returns: the result is a
new document that the routes write as they would a PUT's body. Everything refused is a ScimError.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_path, invalid_value
from provisionhub.dialects.scim.filters import parse_path
from provisionhub.dialects.scim.matching import Predicate, value_predicate
from provisionhub.dialects.scim.schemas import PATCH_OP, Attribute, Schema
from provisionhub.dialects.scim.values import (
    canonical_value,
    same_value,
    sub_value,
    without_nulls,
    without_primary,
)
from provisionhub.directory.condition_sql import as_boolean
from provisionhub.directory.conditions import Comparison, Filter, FilterError, Operator

#: The most operations one PATCH may hold.
MAX_OPERATIONS = 1000

#: The attributes every resource has besides its schema's (RFC 7643 3.1).
COMMON_ATTRIBUTES = (
    Attribute("id", "The resource's identifier, which the server assigns.", mutability="readOnly"),
    Attribute("externalId", "The resource's identifier in the client's system.", case_exact=True),
    Attribute(
        "meta",
        "The resource's metadata, which the server maintains.",
        type="complex",
        mutability="readOnly",
        sub_attributes=tuple(
            Attribute(name, f"meta.{name}", type=kind, mutability="readOnly")
            for name, kind in (
                ("resourceType", "string"),
                ("created", "dateTime"),
                ("lastModified", "dateTime"),
                ("location", "reference"),
                ("version", "string"),
            )
        ),
    ),
)

_OPS = ("add", "remove", "replace")
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Operation:
    """One of a PATCH's operations, checked: op lower-cased, value _MISSING when not sent."""

    index: int
    op: str
    path: str | None
    value: Any


def apply_patch(
    document: dict[str, Any], request: Any, core: Schema, extensions: Sequence[Schema] = ()
) -> dict[str, Any]:
    """The document with the PATCH request applied; document itself is left as it was.

    core is the resource's schema and extensions the schemas it may carry beside it, each as an object
    under its URN. Raises ScimError (status 400 with a scimType) for anything it refuses, its detail
    naming the operation (`Operations[2]`) and what is wrong.
    """
    operations = read_operations(request)
    patcher = _Patcher(document, core, extensions)
    for operation in operations:
        try:
            patcher.apply(operation)
        except ScimError as error:
            where = operation.op if operation.path is None else f"{operation.op} {_quoted(operation.path)}"
            detail = f"Operations[{operation.index}] ({where}): {error.detail}"
            raise ScimError(error.status, detail, error.scim_type) from None
    return patcher.result()


def read_operations(request: Any) -> list[Operation]:
    """A PATCH body's operations, checked for form (not yet against the resource).

    Lenient where clients differ: `schemas` may be left out (it must list PatchOp if sent), member names
    (`Operations`, `op`, `path`, `value`) and op values are case-insensitive (Microsoft Entra ID sends
    `Replace`), and a `path` of null is no path.
    """
    if not isinstance(request, dict):
        raise _syntax("a PATCH body must be a JSON object with schemas and Operations")
    listed = _member(request, "schemas")
    if listed is not _MISSING and (
        not isinstance(listed, list)
        or PATCH_OP.casefold() not in {s.casefold() for s in listed if isinstance(s, str)}
    ):
        raise _syntax(f"schemas must be a list that holds {PATCH_OP}")
    sent = _member(request, "Operations")
    if not isinstance(sent, list) or not sent:
        raise _syntax("Operations must be a non-empty list of operations")
    if len(sent) > MAX_OPERATIONS:
        message = f"a PATCH may hold at most {MAX_OPERATIONS} operations, not {len(sent)}"
        raise ScimError(400, message, ScimType.TOO_MANY)
    return [_operation(index, item) for index, item in enumerate(sent)]


def _operation(index: int, item: Any) -> Operation:
    where = f"Operations[{index}]"
    if not isinstance(item, dict):
        raise _syntax(f"{where} must be an object with op, path and value")
    op = _member(item, "op")
    if not isinstance(op, str) or op.casefold() not in _OPS:
        sent = "nothing" if op is _MISSING else _quoted(op)
        raise _syntax(f"{where}: op must be add, remove or replace, not {sent}")
    op = op.casefold()
    path = _member(item, "path")
    if path is _MISSING or path is None:
        path = None
    elif not isinstance(path, str):
        raise _syntax(f"{where}: path must be a string")
    elif not path.strip():
        raise invalid_path(f"{where}: path is empty (leave it out to patch the resource itself)")
    value = _member(item, "value")
    if value is _MISSING and op != "remove":
        raise invalid_value(f"{where}: {op} needs a value")
    return Operation(index, op, path, value)


def _member(obj: dict[str, Any], name: str) -> Any:
    """obj's member name, compared case-insensitively; _MISSING when absent."""
    found = [value for key, value in obj.items() if str(key).casefold() == name.casefold()]
    if len(found) > 1:
        raise _syntax(f"{name} is given {len(found)} times, in different cases")
    return found[0] if found else _MISSING


@dataclass(frozen=True, slots=True)
class _Target:
    """What a path names: an attribute of schema (None: the whole extension schema), perhaps one of its
    sub-attributes, perhaps only the values that value_filter selects."""

    schema: Schema
    attribute: Attribute | None = None
    sub: Attribute | None = None
    value_filter: Filter | None = None
    selects: Predicate | None = None

    @property
    def name(self) -> str:
        assert self.attribute is not None
        return self.attribute.name if self.sub is None else f"{self.attribute.name}.{self.sub.name}"


class _Patcher:
    """The document being patched, operation after operation."""

    def __init__(self, document: dict[str, Any], core: Schema, extensions: Sequence[Schema]) -> None:
        self.document = copy.deepcopy(document)
        self.core = core
        self.extensions = tuple(extensions)

    def apply(self, operation: Operation) -> None:
        if operation.op == "remove":
            if operation.path is None:
                raise ScimError(400, "remove needs a path", ScimType.NO_TARGET)
            self.remove(self.resolve(operation.path), operation.value)
        elif operation.path is not None:
            self.write(operation.path, operation.value, replacing=operation.op == "replace")
        elif isinstance(operation.value, dict):
            # Without a path each member is a path and its value (Entra sends "name.givenName" too).
            for key, value in operation.value.items():
                if str(key).casefold() == "schemas":
                    self.check_schemas(value)
                else:
                    self.write(str(key), value, replacing=operation.op == "replace")
        else:
            raise invalid_value("without a path, value must be an object of attributes")

    def result(self) -> dict[str, Any]:
        """The document, its extensions without a value dropped and `schemas` listing those left."""
        for extension in self.extensions:
            key = _key(self.document, extension.id)
            if key is not None and not self.document[key]:
                del self.document[key]
                key = None
            listed = self.document.get("schemas")
            if not isinstance(listed, list):
                continue
            listing = [isinstance(s, str) and s.casefold() == extension.id.casefold() for s in listed]
            if key is None and any(listing):
                self.document["schemas"] = [s for s, same in zip(listed, listing, strict=True) if not same]
            elif key is not None and not any(listing):
                listed.append(extension.id)
        return self.document

    # -- paths ---------------------------------------------------------------------------------------

    def resolve(self, path: str) -> _Target:
        folded = path.strip().casefold()
        # parse_path would read a bare URN as an attribute ("User") of a schema ("urn:...:2.0").
        for extension in self.extensions:
            if folded == extension.id.casefold():
                return _Target(extension)
        try:
            parsed = parse_path(path)
        except FilterError as error:
            raise invalid_path(f"{_quoted(path)} is not a valid path: {error}") from None
        schema, attribute = self.attribute(parsed.attribute.name, parsed.attribute.schema, path)
        sub = None
        if parsed.attribute.sub_attribute is not None:
            sub = attribute.sub_attribute(parsed.attribute.sub_attribute)
            if sub is None:
                raise invalid_path(
                    f"{attribute.name} has no sub-attribute {parsed.attribute.sub_attribute!r}"
                )
        if parsed.value_filter is None:
            return _Target(schema, attribute, sub)
        if not attribute.multi_valued:
            raise invalid_path(f"{attribute.name} is single-valued: a [filter] applies to multi-valued ones")
        try:
            selects = value_predicate(parsed.value_filter, attribute)
        except FilterError as error:
            raise invalid_path(f"{_quoted(path)}: {error}") from None
        return _Target(schema, attribute, sub, parsed.value_filter, selects)

    def attribute(self, name: str, urn: str | None, path: str) -> tuple[Schema, Attribute]:
        """The schema and attribute a path's `[urn:]name` names; without a URN, the core schema's or its
        common attributes, else (leniently) an extension's."""
        schemas = (self.core, *self.extensions)
        if urn is not None:
            schemas = tuple(s for s in schemas if s.id.casefold() == urn)
            if not schemas:
                raise invalid_path(f"{_quoted(path)}: {urn} is not a schema of this resource")
        for schema in schemas:
            attribute = schema.attribute(name)
            if attribute is None and schema is self.core:
                attribute = next((a for a in COMMON_ATTRIBUTES if a.name.casefold() == name), None)
            if attribute is not None:
                return schema, attribute
        raise invalid_path(f"{_quoted(path)}: no attribute {name!r} in {' or '.join(s.id for s in schemas)}")

    # -- add and replace -----------------------------------------------------------------------------

    def write(self, path: str, value: Any, replacing: bool) -> None:
        """add (replacing False) or replace value at path; null unassigns (RFC 7643 2.5)."""
        target = self.resolve(path)
        attribute = target.attribute
        if attribute is None:
            if value is None:
                self.remove(target, _MISSING)
                return
            if not isinstance(value, dict):
                raise invalid_value(f"{target.schema.id} must be an object of its attributes")
            for key, item in value.items():
                if str(key).casefold() == "schemas":  # some clients list the extension in its own object
                    self.check_schemas(item)
                else:
                    self.write(f"{target.schema.id}:{key}", item, replacing)
        elif target.selects is not None or (attribute.multi_valued and target.sub is not None):
            self.write_selected(target, value, replacing)
        elif attribute.multi_valued:
            self.write_values(target, value, replacing)
        elif attribute.type == "complex" and (value is not None or target.sub is not None):
            sent = {target.sub.name: value} if target.sub is not None else value
            self.merge(target.schema, attribute, sent)
        else:
            self.store(target.schema, attribute, canonical_value(attribute, value, attribute.name))

    def merge(self, schema: Schema, attribute: Attribute, value: Any) -> None:
        """Merge value's sub-attributes into a single-valued complex attribute's (a null one unassigns)."""
        sent = canonical_value(attribute, value, attribute.name)
        current = self.get(schema, attribute)
        merged = dict(current) if isinstance(current, dict) else {}
        for name, item in sent.items():
            _check_change(_known_sub(attribute, name), f"{attribute.name}.{name}", merged.get(name), item)
            if item is None:
                merged.pop(name, None)
            else:
                merged[name] = item
        self.store(schema, attribute, merged or None)

    def write_values(self, target: _Target, value: Any, replacing: bool) -> None:
        """add appends the values (merging one into an equal value already there); replace sets them."""
        attribute = target.attribute
        assert attribute is not None
        if value is None:
            self.store(target.schema, attribute, None)
            return
        values = [] if replacing else list(self.values(target.schema, attribute))
        touched = []
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                raise invalid_value(f"{attribute.name} cannot hold null among its values")
            new = without_nulls(canonical_value(attribute, item, attribute.name))
            index = next((i for i, old in enumerate(values) if same_value(attribute, old, new)), None)
            if index is None:
                values.append(new)
                touched.append(len(values) - 1)
            else:
                values[index] = {**values[index], **new} if isinstance(new, dict) else new
                touched.append(index)
        _settle_primary(attribute, values, touched)
        self.store(target.schema, attribute, values or None)

    def write_selected(self, target: _Target, value: Any, replacing: bool) -> None:
        """Write the values of a multi-valued attribute that the target's filter selects (all of them for
        `attr.sub`), or their sub-attribute. When none is selected and the filter is `type eq "X"`, a
        value of type X is created: Entra sets a work email with `emails[type eq "work"].value`."""
        attribute, sub = target.attribute, target.sub
        assert attribute is not None
        if isinstance(value, list) and sub is None and len(value) == 1:
            value = value[0]  # a value of attr[filter] sent as a list of one
        if value is None:
            self.remove_selected(target)  # null unassigns, as remove would
            return
        values = [dict(v) if isinstance(v, dict) else v for v in self.values(target.schema, attribute)]
        selects = target.selects or (lambda _: True)
        selected = [i for i, old in enumerate(values) if selects(old)]
        created = not selected
        if created:
            implied = _implied_value(target.value_filter)
            if implied is None:
                raise ScimError(400, f"no value of {attribute.name} matches the path", ScimType.NO_TARGET)
            values.append(implied)
            selected = [len(values) - 1]
        for index in selected:
            old = values[index]
            if not isinstance(old, dict):
                raise invalid_path(f"{target.name}: the values of {attribute.name} have no sub-attributes")
            if sub is None:
                new = without_nulls(canonical_value(attribute, value, attribute.name))
                if replacing and not created:
                    values[index] = new  # the value as a whole: its immutable parts go with it
                    continue
                for name, item in new.items():
                    _check_change(
                        _known_sub(attribute, name), f"{attribute.name}.{name}", sub_value(old, name), item
                    )
                values[index] = {**old, **new}
                continue
            new_sub = canonical_value(sub, value, target.name)
            _check_change(sub, target.name, sub_value(old, sub.name), new_sub)
            if new_sub is None:
                old.pop(sub.name, None)
            else:
                old[sub.name] = new_sub
        _settle_primary(attribute, values, selected)
        self.store(target.schema, attribute, values)

    def check_schemas(self, value: Any) -> None:
        """A `schemas` member of a value without path is ignored when it names only this resource's
        schemas: result() keeps `schemas` in step with the extensions present."""
        known = {s.id.casefold() for s in (self.core, *self.extensions)}
        if not isinstance(value, list) or not all(
            isinstance(s, str) and s.casefold() in known for s in value
        ):
            raise invalid_value(f"schemas may list only {', '.join(sorted(known))}")

    # -- remove --------------------------------------------------------------------------------------

    def remove(self, target: _Target, value: Any) -> None:
        """Remove what target names. Removing is idempotent: a value already absent, or a filter that
        selects nothing, leaves the document as it is. A value sent with a path to a multi-valued
        attribute removes just the values equal to it (Entra removes members so)."""
        attribute, sub = target.attribute, target.sub
        if attribute is None:
            # The whole extension: all of it the client may remove (readOnly values are the server's).
            for attribute in target.schema:
                if attribute.mutability != "readOnly":
                    self.store(target.schema, attribute, None)
        elif target.selects is not None or (attribute.multi_valued and sub is not None):
            self.remove_selected(target)
        elif attribute.multi_valued and value is not _MISSING and value is not None:
            sent = [
                canonical_value(attribute, item, attribute.name)
                for item in _as_list(value)
                if item is not None
            ]
            values = self.values(target.schema, attribute)
            kept = [old for old in values if not any(same_value(attribute, old, s) for s in sent)]
            self.store(target.schema, attribute, kept or None)
        elif sub is not None:
            self.merge(target.schema, attribute, {sub.name: None})
        else:
            self.store(target.schema, attribute, None)

    def remove_selected(self, target: _Target) -> None:
        """Remove the values target's filter selects, or their sub-attribute; a value left without its
        `value` means nothing and goes too."""
        attribute, sub = target.attribute, target.sub
        assert attribute is not None
        selects = target.selects or (lambda _: True)
        kept = []
        for old in self.values(target.schema, attribute):
            if not selects(old):
                kept.append(old)
            elif sub is not None and isinstance(old, dict):
                _check_change(sub, target.name, sub_value(old, sub.name), None)
                rest = {k: v for k, v in old.items() if str(k).casefold() != sub.name.casefold()}
                if rest and (sub.name != "value" or attribute.sub_attribute("value") is None):
                    kept.append(rest)
        self.store(target.schema, attribute, kept or None)

    # -- the document --------------------------------------------------------------------------------

    def container(self, schema: Schema, create: bool) -> dict[str, Any] | None:
        """Where schema's attributes live: the document for the core schema, else the object under the
        extension's URN (created when asked for)."""
        if schema is self.core:
            return self.document
        key = _key(self.document, schema.id)
        if key is not None and isinstance(found := self.document[key], dict):
            return found
        if not create:
            return None
        if key is not None:
            del self.document[key]
        created: dict[str, Any] = {}
        self.document[schema.id] = created
        return created

    def get(self, schema: Schema, attribute: Attribute) -> Any:
        return sub_value(self.container(schema, create=False), attribute.name)

    def values(self, schema: Schema, attribute: Attribute) -> list[Any]:
        current = self.get(schema, attribute)
        return current if isinstance(current, list) else []

    def store(self, schema: Schema, attribute: Attribute, new: Any) -> None:
        """Set attribute to new (None: unassign it), under its canonical name, if its mutability allows."""
        current = self.get(schema, attribute)
        _check_change(attribute, attribute.name, current, new)
        if new is None and current is not None and attribute.required:
            raise invalid_value(f"{attribute.name} is required: it can be replaced, not removed")
        container = self.container(schema, create=new is not None)
        if container is None:
            return
        key = _key(container, attribute.name)
        if key is not None:
            del container[key]
        if new is not None:
            container[attribute.name] = new


def _check_change(attribute: Attribute, name: str, current: Any, new: Any) -> None:
    """Refuse to change a readOnly attribute, or an immutable one that has a value (RFC 7643 2.2); setting
    either to the value it has is no change."""
    if new == current or attribute.mutability not in ("readOnly", "immutable"):
        return
    if attribute.mutability == "readOnly":
        raise ScimError(400, f"{name} is readOnly: the server maintains it", ScimType.MUTABILITY)
    if current is not None:
        raise ScimError(400, f"{name} is immutable: it cannot change once set", ScimType.MUTABILITY)


def _known_sub(attribute: Attribute, name: str) -> Attribute:
    """A sub-attribute by one of the canonical names canonical_value gives."""
    sub = attribute.sub_attribute(name)
    assert sub is not None
    return sub


def _settle_primary(attribute: Attribute, values: list[Any], touched: Sequence[int]) -> None:
    """When a value written is primary, the others are not (RFC 7643 2.4: primary is true at most once)."""
    primaries = {i for i in touched if isinstance(values[i], dict) and values[i].get("primary") is True}
    if len(primaries) > 1:
        raise invalid_value(f"at most one value of {attribute.name} may be primary")
    if not primaries:
        return
    for index, value in enumerate(values):
        if index not in primaries and isinstance(value, dict) and as_boolean(sub_value(value, "primary")):
            values[index] = {**without_primary(value), "primary": False}


def _implied_value(value_filter: Filter | None) -> dict[str, Any] | None:
    """The value `type eq "X"` describes, {"type": "X"}; None for any other filter."""
    if (
        isinstance(value_filter, Comparison)
        and value_filter.operator is Operator.EQ
        and value_filter.path.name == "type"
        and isinstance(value_filter.value, str)
    ):
        return {"type": value_filter.value}
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _key(obj: dict[str, Any], name: str) -> str | None:
    """The key of obj that is name, compared case-insensitively."""
    if name in obj:
        return name
    return next((k for k in obj if str(k).casefold() == name.casefold()), None)


def _quoted(text: Any) -> str:
    """text for a message, its start only when long."""
    text = str(text)
    return repr(text if len(text) <= 60 else f"{text[:60]}...")


def _syntax(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_SYNTAX)
