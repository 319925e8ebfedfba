"""Catalogue documents: profile sections written as JSON or YAML data, read into Sections and back.

A document holds `pages`, each a node: `title` (English text, or `{en, fr}`), optional `name` (else
derived from the English title), `single` (holds at most one item), `fields` and `sections` (nodes
under it). A node with a `name` and no `title` refers to a section that exists, to add sections under it.
A field: `title`, optional `name`, `type` (text, bilingual, date, number, lov, subsection), `choices` of
a list of values (`{id, title, parent}`), `fields` of a subsection, `person` (the person field it shows),
`max_length` of a text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.sections import (
    UNIT,
    Catalogue,
    Choice,
    Field,
    FieldType,
    Section,
    Title,
    api_name,
)

#: What a field bound to the person may show: these person fields, or their unit (read only).
BINDABLE: frozenset[str] = frozenset(
    {
        "name_prefix",
        "given_name",
        "middle_name",
        "family_name",
        "name_suffix",
        "display_name",
        "email",
        "title",
        "department",
        UNIT,
    }
)

_SECTION_KEYS = frozenset({"name", "title", "single", "fields", "sections"})
_FIELD_KEYS = frozenset({"name", "title", "type", "choices", "fields", "person", "max_length"})
_CHOICE_KEYS = frozenset({"id", "title", "parent"})


def read_document(document: Any, known: Catalogue) -> list[Section]:
    """The sections a document defines, in order (references to known sections left out).

    Invalid names where the first mistake is: the section's path (or its position among the pages).
    """
    if not isinstance(document, Mapping) or set(document) != {"pages"}:
        raise Invalid("pages", Reason.INVALID, "a catalogue document is an object with one key, pages")
    sections: list[Section] = []
    _read_nodes(document["pages"], None, "pages", known, sections)
    return sections


def _read_nodes(nodes: Any, parent: str | None, where: str, known: Catalogue, into: list[Section]) -> None:
    if not isinstance(nodes, list):
        raise Invalid(where, Reason.INVALID, f"{where} must be a list")
    for index, node in enumerate(nodes):
        at = f"{where}[{index}]" if parent is None else f"{parent}/{where}[{index}]"
        if not isinstance(node, Mapping):
            raise Invalid(at, Reason.INVALID, f"{at} must be an object")
        if "title" not in node:
            path = _reference(node, parent, at, known, into)
        else:
            section = read_section(node, parent, at)
            if any(s.path == section.path for s in into):
                raise Invalid(section.path, Reason.INVALID, f"{section.path}: defined twice")
            into.append(section)
            path = section.path
        if "sections" in node:
            _read_nodes(node["sections"], path, "sections", known, into)


def _reference(
    node: Mapping[str, Any], parent: str | None, at: str, known: Catalogue, into: list[Section]
) -> str:
    name = node.get("name")
    if not isinstance(name, str) or set(node) - {"name", "sections"}:
        raise Invalid(at, Reason.REQUIRED, f"{at}: a section needs a title (or only a name and sections)")
    path = name if parent is None else f"{parent}/{name}"
    if path not in known and all(s.path != path for s in into):
        raise Invalid(path, Reason.UNKNOWN, f"{path}: no such section to add sections under")
    return path


def read_section(node: Mapping[str, Any], parent: str | None, at: str) -> Section:
    """One section's own node (its subsections aside), under the section at path parent."""
    _only(node, _SECTION_KEYS, at)
    title = _title(node.get("title"), at)
    name = _name(node.get("name"), title, at)
    path = name if parent is None else f"{parent}/{name}"
    single = node.get("single", False)
    if not isinstance(single, bool):
        raise Invalid(f"{path}/single", Reason.INVALID, f"{path}: single must be true or false")
    fields = _fields(node.get("fields", []), path)
    bound = [f for f in fields if f.person is not None]
    if bound and not single:
        message = f"{path}/{bound[0].name}: only a single section's fields may show the person's"
        raise Invalid(f"{path}/{bound[0].name}", Reason.INVALID, message)
    return Section(path, title, single, fields)


def _fields(nodes: Any, path: str) -> tuple[Field, ...]:
    if not isinstance(nodes, list):
        raise Invalid(f"{path}/fields", Reason.INVALID, f"{path}: fields must be a list")
    fields: list[Field] = []
    for index, node in enumerate(nodes):
        field = _field(node, f"{path}/fields[{index}]", path)
        if any(f.name == field.name for f in fields):
            raise Invalid(f"{path}/{field.name}", Reason.INVALID, f"{path}/{field.name}: defined twice")
        fields.append(field)
    return tuple(fields)


def _field(node: Any, at: str, section: str) -> Field:
    if not isinstance(node, Mapping):
        raise Invalid(at, Reason.INVALID, f"{at} must be an object")
    _only(node, _FIELD_KEYS, at)
    title = _title(node.get("title"), at)
    path = f"{section}/{_name(node.get('name'), title, at)}"
    kind = node.get("type")
    if kind not in tuple(FieldType):
        kinds = ", ".join(FieldType)
        raise Invalid(f"{path}/type", Reason.INVALID, f"{path}: type {kind!r} is not one of {kinds}")
    kind = FieldType(kind)
    _only_for(node, "choices", kind is FieldType.LOV, path)
    _only_for(node, "fields", kind is FieldType.SUBSECTION, path)
    _only_for(node, "max_length", kind is FieldType.TEXT, path)
    person = node.get("person")
    if person is not None and (person not in BINDABLE or kind is not FieldType.TEXT):
        shown = ", ".join(sorted(BINDABLE))
        message = f"{path}: person must name one of {shown}, on a text field"
        raise Invalid(f"{path}/person", Reason.INVALID, message)
    max_length = node.get("max_length")
    if max_length is not None and (type(max_length) is not int or max_length < 1):
        raise Invalid(f"{path}/max_length", Reason.INVALID, f"{path}: max_length must be a positive integer")
    return Field(
        name=path.rsplit("/", 1)[1],
        title=title,
        type=kind,
        choices=_choices(node.get("choices"), path) if kind is FieldType.LOV else (),
        fields=_fields(node.get("fields"), path) if kind is FieldType.SUBSECTION else (),
        person=person,
        max_length=max_length,
    )


def _choices(nodes: Any, path: str) -> tuple[Choice, ...]:
    if not isinstance(nodes, list) or not nodes:
        raise Invalid(f"{path}/choices", Reason.REQUIRED, f"{path}: a list of values needs choices")
    choices: list[Choice] = []
    for index, node in enumerate(nodes):
        at = f"{path}/choices[{index}]"
        if not isinstance(node, Mapping):
            raise Invalid(at, Reason.INVALID, f"{at} must be an object")
        _only(node, _CHOICE_KEYS, at)
        choice_id, parent = node.get("id"), node.get("parent")
        if type(choice_id) is not int or choice_id < 1:
            raise Invalid(at, Reason.INVALID, f"{at}: id must be a positive integer (0 means: find by name)")
        if any(c.id == choice_id for c in choices):
            raise Invalid(at, Reason.INVALID, f"{at}: id {choice_id} is taken by another choice")
        if parent is not None and type(parent) is not int:
            raise Invalid(at, Reason.INVALID, f"{at}: parent must be the id of another choice")
        choices.append(Choice(choice_id, _title(node.get("title"), at), parent))
    ids = {c.id for c in choices}
    for index, choice in enumerate(choices):
        if choice.parent is not None and (choice.parent not in ids or choice.parent == choice.id):
            at = f"{path}/choices[{index}]"
            raise Invalid(at, Reason.INVALID, f"{at}: parent {choice.parent} is not another choice's id")
    return tuple(choices)


def _title(value: Any, at: str) -> Title:
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, Mapping) or set(value) - {"en", "fr"}:
        raise Invalid(f"{at}/title", Reason.INVALID, f"{at}: title must be text or an object {{en, fr}}")
    english, french = value.get("en"), value.get("fr", value.get("en"))
    if not (isinstance(english, str) and english.strip() and isinstance(french, str) and french.strip()):
        raise Invalid(f"{at}/title", Reason.REQUIRED, f"{at}: title needs English (and French) text")
    return Title(english.strip(), french.strip())


def _name(value: Any, title: Title, at: str) -> str:
    if value is None:
        value = api_name(title.en)
    if not isinstance(value, str) or not value or api_name(value) != value:
        message = f"{at}: name {value!r} must be a non-empty name in lower case, without spaces, / or ?"
        raise Invalid(f"{at}/name", Reason.INVALID, message)
    return value


def _only(node: Mapping[str, Any], keys: frozenset[str], at: str) -> None:
    unknown = sorted(str(key) for key in node if key not in keys)
    if unknown:
        allowed = ", ".join(sorted(keys))
        raise Invalid(f"{at}/{unknown[0]}", Reason.UNKNOWN, f"{at}: unknown key {unknown[0]!r} ({allowed})")


def _only_for(node: Mapping[str, Any], key: str, allowed: bool, path: str) -> None:
    if key in node and not allowed:
        raise Invalid(f"{path}/{key}", Reason.INVALID, f"{path}: {key} does not apply to this type")


# -- back to documents ----------------------------------------------------------------------------


def section_node(section: Section) -> dict[str, Any]:
    """A section's own node, as read_section reads it: how a loaded section is stored."""
    node: dict[str, Any] = {"name": section.name, "title": _title_node(section.title)}
    if section.single:
        node["single"] = True
    if section.fields:
        node["fields"] = [_field_node(f) for f in section.fields]
    return node


def _field_node(field: Field) -> dict[str, Any]:
    node: dict[str, Any] = {"name": field.name, "title": _title_node(field.title), "type": field.type.value}
    if field.choices:
        node["choices"] = [_choice_node(c) for c in field.choices]
    if field.fields:
        node["fields"] = [_field_node(f) for f in field.fields]
    if field.person is not None:
        node["person"] = field.person
    if field.max_length is not None:
        node["max_length"] = field.max_length
    return node


def _choice_node(choice: Choice) -> dict[str, Any]:
    node: dict[str, Any] = {"id": choice.id, "title": _title_node(choice.title)}
    if choice.parent is not None:
        node["parent"] = choice.parent
    return node


def _title_node(title: Title) -> dict[str, str]:
    return {"en": title.en, "fr": title.fr}
