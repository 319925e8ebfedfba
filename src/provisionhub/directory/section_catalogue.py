"""The profile-section catalogue in force: the sections provisionhub ships, with those an operator loaded
over them (stored, one row a section), and what it tells of itself (UNIWeb's info and options).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from provisionhub.directory.changes import Change, record
from provisionhub.directory.default_sections import default_catalogue
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.section_documents import read_document, read_section, section_node
from provisionhub.directory.section_values import shown_value
from provisionhub.directory.sections import UNIT, Catalogue, Field, FieldType, Language
from provisionhub.store import tables
from provisionhub.store.inserts import append_many

profile_sections = tables.profile_sections

#: The fields asked for, by section path (None: all of them), as read, info and options take them.
Wanted = Mapping[str, Sequence[str] | None]

_UPDATE = (
    profile_sections.update()
    .where(profile_sections.c.id == bindparam("_id"))
    .values(definition=bindparam("definition"), updated_at=bindparam("updated_at"), version=bindparam("v"))
)


@dataclass(frozen=True, slots=True)
class LoadSections:
    """Add the sections of a catalogue document, or replace those of the same path: all or none."""

    document: Any


@dataclass(frozen=True, slots=True)
class LoadedSection:
    """What loading did to one section: created (no loaded section had its path), changed."""

    path: str
    created: bool
    changed: bool


def current_catalogue(conn: Connection) -> Catalogue:
    """The shipped sections, each loaded section in place of the one of its path or after them."""
    rows = conn.execute(select(profile_sections.c.path, profile_sections.c.definition).order_by("id"))
    loaded = [read_section(row.definition, _parent(row.path), row.path) for row in rows]
    return default_catalogue().replaced(loaded)


def loaded_paths(conn: Connection) -> set[str]:
    """The paths of the sections an operator loaded (the others are the shipped ones)."""
    return set(conn.execute(select(profile_sections.c.path)).scalars())


def load_sections(conn: Connection, document: Any, actor: str, now: datetime) -> list[LoadedSection]:
    """Add the sections of a catalogue document (section_documents.py), or put them in place of those of
    the same path; all or none. Invalid names the first mistake of the document."""
    sections = read_document(document, current_catalogue(conn))
    paths = [s.path for s in sections]
    held = {
        row["path"]: row
        for row in conn.execute(select(profile_sections).where(profile_sections.c.path.in_(paths))).mappings()
    }
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[Change] = []
    results: list[LoadedSection] = []
    for section in sections:
        node, row = section_node(section), held.get(section.path)
        if row is None:
            public_id = new_public_id()
            creates.append(
                {
                    "public_id": public_id,
                    "path": section.path,
                    "definition": node,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            fields: dict[str, tuple[Any, Any]] = {"path": (None, section.path), "definition": (None, node)}
            changes.append(Change(actor, "profile_section", public_id, "create", fields))
        elif row["definition"] != node:
            updates.append({"_id": row["id"], "definition": node, "updated_at": now, "v": row["version"] + 1})
            fields = {"path": (section.path, section.path), "definition": (row["definition"], node)}
            changes.append(Change(actor, "profile_section", row["public_id"], "update", fields))
        results.append(LoadedSection(section.path, row is None, row is None or row["definition"] != node))
    append_many(conn, profile_sections, creates)
    if updates:
        conn.execute(_UPDATE, updates)
    record(conn, changes, now)
    return results


def _parent(path: str) -> str | None:
    return path.rsplit("/", 1)[0] if "/" in path else None


# -- what the catalogue tells of itself -----------------------------------------------------------


def section_info(catalogue: Catalogue, wanted: Wanted, language: Language) -> dict[str, dict[str, Any]]:
    """Each section asked for, by path: its name, title, whether it is single, its fields (name, title,
    type; a subsection's fields; read_only for the person's unit) and the names of its sections."""
    described: dict[str, dict[str, Any]] = {}
    for path, names in wanted.items():
        section = catalogue.section(path)
        fields = [section.field(name) for name in names] if names is not None else section.fields
        described[section.path] = {
            "name": section.name,
            "title": section.title.in_language(language),
            "type": "section",
            "single": section.single,
            "fields": {field.name: _field_info(field, language) for field in fields},
            "sections": [s.name for s in catalogue if s.parent == section.path],
        }
    return described


def _field_info(field: Field, language: Language) -> dict[str, Any]:
    info: dict[str, Any] = {"name": field.name, "title": field.title.in_language(language)}
    info["type"] = field.type.value
    if field.fields:
        info["fields"] = {sub.name: _field_info(sub, language) for sub in field.fields}
    if field.person == UNIT:
        info["read_only"] = True
    return info


def section_options(catalogue: Catalogue, wanted: Wanted, language: Language) -> dict[str, dict[str, Any]]:
    """The choices of each list of values asked for, by section path then field name, each as it reads
    back: [id, name, parent name...]. A section asked for whole gives every list of values it has."""
    options: dict[str, dict[str, Any]] = {}
    for path, names in wanted.items():
        section = catalogue.section(path)
        if names is None:
            fields = [f for f in section.fields if f.type is FieldType.LOV]
        else:
            fields = [section.field(name) for name in names]
        for field in fields:
            if field.type is not FieldType.LOV:
                at = f"{section.path}/{field.name}"
                raise Invalid(at, Reason.INVALID, f"{at} is not a list of values: it has no options")
        options[section.path] = {field.name: _choices(field, language) for field in fields}
    return options


def _choices(field: Field, language: Language) -> list[list[Any]]:
    return [shown_value(field, choice.id, language) for choice in field.choices]
