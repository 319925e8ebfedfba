"""SCIM's attribute paths in the directory's words: a parsed filter (or sortBy) about Users or Groups
turned into a condition over the directory's attribute paths (directory/filter_attributes.py).

What the directory does not keep but SCIM shows is answered here: a User's one email is of type "work"
and primary, every resource's meta.resourceType is its type, a member's type is "User". A comparison with
such a value holds for every row or none (a Constant), or for the rows that have an email.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from provisionhub.dialects.scim.schemas import ENTERPRISE, GROUP, PROVISIONHUB, USER
from provisionhub.dialects.scim.users import (
    CORE_FIELDS,
    ENTERPRISE_FIELDS,
    NAME_FIELDS,
    PROVISIONHUB_FIELDS,
    PROVISIONHUB_MOMENTS,
)
from provisionhub.directory.condition_sql import as_boolean
from provisionhub.directory.conditions import (
    And,
    AttributePath,
    Comparison,
    Constant,
    Filter,
    FilterError,
    Not,
    Operator,
    Or,
    Present,
    Value,
    ValuePath,
)


def _user_paths() -> dict[str, str]:
    paths: dict[str, str] = {}
    for names in (CORE_FIELDS, ENTERPRISE_FIELDS, PROVISIONHUB_FIELDS, PROVISIONHUB_MOMENTS):
        paths.update((name.lower(), field) for name, field in names.items())
    paths.update((f"name.{name.lower()}", field) for name, field in NAME_FIELDS.items())
    paths.update(
        {
            "id": "public_id",
            "externalid": "external_id",
            "active": "active",
            "emails": "email",
            "emails.value": "email",
            "meta.created": "created_at",
            "meta.lastmodified": "updated_at",
            "manager.value": "manager_id",
            "loginsource": "login_source",
        }
    )
    return paths


#: A User's attribute paths (lower-cased, without their schema) -> the directory's.
USER_PATHS: Mapping[str, str] = _user_paths()
#: A Group's.
GROUP_PATHS: Mapping[str, str] = {
    "id": "public_id",
    "externalid": "external_id",
    "displayname": "display_name",
    "meta.created": "created_at",
    "meta.lastmodified": "updated_at",
    "members": "members",
    "members.value": "members.public_id",
}
_USER_SCHEMAS = frozenset(urn.casefold() for urn in (USER, ENTERPRISE, PROVISIONHUB))
_GROUP_SCHEMAS = frozenset({GROUP.casefold()})

#: Values the same for every value they belong to: (the path, its value, whether it compares exactly).
_USER_LITERALS = {"emails.type": ("work", False), "meta.resourcetype": ("User", True)}
_GROUP_LITERALS = {"members.type": ("User", True), "meta.resourcetype": ("Group", True)}


def users_condition(node: Filter) -> Filter:
    """A filter about Users, over the directory's paths; FilterError for an attribute it has not."""
    return _Users().rename(node, None)


def groups_condition(node: Filter) -> Filter:
    """A filter about Groups, over the directory's paths; FilterError for an attribute it has not."""
    return _Groups().rename(node, None)


def users_sort(sort_by: str | None) -> str | None:
    return _sort(sort_by, USER_PATHS, _USER_SCHEMAS, "Users")


def groups_sort(sort_by: str | None) -> str | None:
    return _sort(sort_by, GROUP_PATHS, _GROUP_SCHEMAS, "Groups")


def _sort(sort_by: str | None, paths: Mapping[str, str], known: frozenset[str], what: str) -> str | None:
    """The directory's path a sortBy names (None: none given)."""
    if not sort_by:
        return None
    text = sort_by.strip()
    schema, _, key = text.rpartition(":") if text.lower().startswith("urn:") else ("", "", text)
    found = paths.get(key.lower()) if not schema or schema.casefold() in known else None
    if found is None or found == "members":
        raise FilterError(f"sortBy: {sort_by} is not an attribute {what} can be sorted by")
    return found


class _Renamer:
    paths: Mapping[str, str]
    schemas: frozenset[str]
    literals: Mapping[str, tuple[str, bool]]
    #: Multi-valued attributes whose values are rows of their own (a value path keeps its scope).
    rows: frozenset[str] = frozenset()

    def rename(self, node: Filter, scope: AttributePath | None) -> Filter:
        match node:
            case And(operands):
                return And(tuple(self.rename(operand, scope) for operand in operands))
            case Or(operands):
                return Or(tuple(self.rename(operand, scope) for operand in operands))
            case Not(operand):
                return Not(self.rename(operand, scope))
            case ValuePath(attribute, inner):
                if scope is not None:
                    raise FilterError("a value path cannot hold another value path")
                return self.value_path(attribute, inner)
            case Comparison(path, operator, value):
                return self.comparison(self.full(path, scope), operator, value, scope)
            case Present(path):
                return self.present(self.full(path, scope), scope)
            case Constant():
                return node
        raise TypeError(f"not a filter: {node!r}")

    def value_path(self, attribute: AttributePath, inner: Filter) -> Filter:
        key = attribute.key
        if key in self.rows and attribute.sub_attribute is None and self.known_schema(attribute):
            return ValuePath(
                AttributePath(self.paths[key], label=str(attribute)), self.rename(inner, attribute)
            )
        renamed = self.rename(inner, attribute)
        if key not in self.paths or not self.known_schema(attribute):
            return renamed
        # One value at most (a User's email): `attr[f]` is `attr pr and f`.
        return And((self.present(attribute, None), renamed))

    def full(self, path: AttributePath, scope: AttributePath | None) -> AttributePath:
        """path with the value path's attribute it is inside, if any."""
        if scope is None:
            return path
        return AttributePath(scope.name, path.name, scope.schema)

    def known_schema(self, path: AttributePath) -> bool:
        return path.schema is None or path.schema in self.schemas

    def target(self, path: AttributePath, scope: AttributePath | None) -> AttributePath:
        """The directory's path for a SCIM path (relative to scope's rows, inside a value path over them)."""
        found = self.paths.get(path.key) if self.known_schema(path) else None
        if found is None:
            raise FilterError(f"unknown attribute {str(path)!r}")
        if scope is not None and scope.key in self.rows:
            return AttributePath(found.rpartition(".")[2], label=str(path))
        name, _, sub = found.partition(".")
        return AttributePath(name, sub or None, label=str(path))

    def comparison(
        self, path: AttributePath, operator: Operator, value: Value, scope: AttributePath | None
    ) -> Filter:
        literal = self.literals.get(path.key) if self.known_schema(path) else None
        if literal is not None:
            return self.compared_literal(path, literal, operator, value, scope)
        return Comparison(self.target(path, scope), operator, value)

    def present(self, path: AttributePath, scope: AttributePath | None) -> Filter:
        literal = self.literals.get(path.key) if self.known_schema(path) else None
        if literal is not None:
            return self.literal_present(path, scope)
        return Present(self.target(path, scope))

    def literal_present(self, path: AttributePath, scope: AttributePath | None) -> Filter:
        """Where a value the same for all has a value: everywhere its container has one."""
        container = AttributePath(path.name, None, path.schema)
        if container.key in self.paths and self.known_schema(container):
            if container.key in self.rows:
                return (
                    Constant(True)
                    if scope is not None
                    else ValuePath(self.target(container, None), Constant(True))
                )
            return Present(self.target(container, None))
        return Constant(True)

    def compared_literal(
        self,
        path: AttributePath,
        literal: tuple[str, bool],
        operator: Operator,
        value: Value,
        scope: AttributePath | None,
    ) -> Filter:
        if value is None and operator in (Operator.EQ, Operator.NE):
            present = self.literal_present(path, scope)
            return Not(present) if operator is Operator.EQ else present
        if operator is Operator.NE:
            return Not(self.compared_literal(path, literal, Operator.EQ, value, scope))
        holds = _holds(str(path), literal, operator, value)
        return self.literal_present(path, scope) if holds else Constant(False)


class _Users(_Renamer):
    paths = USER_PATHS
    schemas = _USER_SCHEMAS
    literals = _USER_LITERALS

    def comparison(
        self, path: AttributePath, operator: Operator, value: Value, scope: AttributePath | None
    ) -> Filter:
        if path.key == "emails.primary" and self.known_schema(path):
            return self.primary(path, operator, value)
        return super().comparison(path, operator, value, scope)

    def present(self, path: AttributePath, scope: AttributePath | None) -> Filter:
        if path.key == "emails.primary" and self.known_schema(path):
            return Constant(True)  # true or false, for every User
        return super().present(path, scope)

    def primary(self, path: AttributePath, operator: Operator, value: Value) -> Filter:
        """emails.primary: true where a User has an email (their one email is primary), else false."""
        has_email = Present(AttributePath("email", label="emails"))
        if value is None and operator in (Operator.EQ, Operator.NE):
            return Constant(operator is Operator.NE)
        if operator not in (Operator.EQ, Operator.NE):
            raise FilterError(f"{path} is a boolean: {operator} does not apply (only eq, ne and pr)")
        flag = as_boolean(value)
        if flag is None:
            raise FilterError(f"{path} is a boolean: compare it with true or false, not {value!r}")
        holds = has_email if flag else Not(has_email)
        return holds if operator is Operator.EQ else Not(holds)


class _Groups(_Renamer):
    paths = GROUP_PATHS
    schemas = _GROUP_SCHEMAS
    literals = _GROUP_LITERALS
    rows = frozenset({"members"})


_ORDERS: dict[Operator, Callable[[str, str], bool]] = {
    Operator.EQ: lambda a, b: a == b,
    Operator.GT: lambda a, b: a > b,
    Operator.GE: lambda a, b: a >= b,
    Operator.LT: lambda a, b: a < b,
    Operator.LE: lambda a, b: a <= b,
    Operator.CO: lambda a, b: b in a,
    Operator.SW: lambda a, b: a.startswith(b),
    Operator.EW: lambda a, b: a.endswith(b),
}


def _holds(name: str, literal: tuple[str, bool], operator: Operator, value: Value) -> bool:
    """Whether a comparison of a value the same for all (literal: it, and whether it compares exactly)
    holds."""
    if not isinstance(value, str):
        raise FilterError(f"{name} is a string: compare it with a string, not {value!r}")
    text, exact = literal
    if not exact:
        text, value = text.lower(), value.lower()
    return _ORDERS[operator](text, value)
