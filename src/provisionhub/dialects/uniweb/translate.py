"""UNIWeb's resource requests as directory commands, and the directory's section items as UNIWeb reads
them: a section of many items as a list of items; a single section as its item (an object), or, when
the section has one field (`profile/biography`), as that field's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from provisionhub.dialects.uniweb.requests import IndexBy, wanted_paths
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.people import Person
from provisionhub.directory.section_items import AddItems, ClearSection, EditItem, SectionCommand
from provisionhub.directory.sections import Catalogue, Section


def sections_out(catalogue: Catalogue, read: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One person's sections as read, by path, in UNIWeb's shapes."""
    return {path: section_out(catalogue, path, found) for path, found in read.items()}


def section_out(catalogue: Catalogue, path: str, found: list[dict[str, Any]]) -> Any:
    """A section's items as UNIWeb reads them (see the module's docstring)."""
    section = catalogue.get(path)
    if section is None or not section.single:
        return found
    item = found[0] if found else {}
    if len(section.fields) == 1:
        return item.get(section.fields[0].name)
    return item


def member_row(public_id: str, section: Section, found: list[dict[str, Any]]) -> dict[str, Any]:
    """A member as UNIWeb's listing (a read without resources) shows them: their UNIWeb id as contentId,
    and every field of section's item, None when empty, so that every row has the same keys."""
    item = found[0] if found else {}
    return {"contentId": public_id, **{field.name: item.get(field.name) for field in section.fields}}


def member_key(person: Person, index_by: IndexBy) -> str:
    """The key a member's sections go under in a filtered read: their UNIWeb id (public id), login name
    (username, or else email) or employee id; a member without the one asked for goes under their id."""
    match index_by:
        case IndexBy.LOGIN_NAME:
            return person["username"] or person["email"] or person.public_id
        case IndexBy.EMPLOYEE_ID:
            return person["employee_number"] or person.public_id
    return person.public_id


def add_commands(person: str, resources: Any) -> list[SectionCommand]:
    """add's resources, {section path: [item, ...]} (one item alone too), as AddItems."""
    commands: list[SectionCommand] = []
    for path, value in _by_path(resources, "add"):
        added = [value] if isinstance(value, Mapping) else value
        if not isinstance(added, list) or not all(isinstance(item, Mapping) for item in added):
            raise Invalid(
                path, Reason.INVALID, f"{path}: a list of items (objects of field values) was expected"
            )
        commands.append(AddItems(person, path, added))
    return commands


def edit_commands(person: str, resources: Any) -> list[SectionCommand]:
    """edit's resources, {section path: {field: value}}, as EditItem: only the fields sent change."""
    commands: list[SectionCommand] = []
    for path, value in _by_path(resources, "edit"):
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
            value = value[0]
        if not isinstance(value, Mapping):
            raise Invalid(
                path, Reason.INVALID, f"{path}: an object of the field values to change was expected"
            )
        commands.append(EditItem(person, path, value))
    return commands


def clear_commands(person: str, resources: Any, catalogue: Catalogue) -> list[SectionCommand]:
    """clear's resources (section paths, in any of the read forms) as ClearSection."""
    return [ClearSection(person, path) for path in wanted_paths(resources, catalogue.__contains__)]


def _by_path(resources: Any, action: str) -> Sequence[tuple[str, Any]]:
    """(section path, value) pairs of {path: value} objects, or of a list of them."""
    objects = resources if isinstance(resources, list) else [resources]
    pairs: list[tuple[str, Any]] = []
    for entry in objects:
        if not isinstance(entry, Mapping):
            message = f"resources: {action} takes an object of section paths and their values"
            raise Invalid("resources", Reason.INVALID, message)
        pairs.extend((str(path).strip("/"), value) for path, value in entry.items())
    if not pairs:
        raise Invalid("resources", Reason.REQUIRED, "resources: at least one section path is required")
    return pairs
