"""Profile sections (UNIWeb's pages, sections and fields): the catalogue of what a person's profile holds.

A section is named by its path (`cv/education/degrees`): its page, then its parent sections, each name
derived from the English title by UNIWeb's rule (api_name). A section with fields holds items, at most
one if it is single; a field may instead show one of the person's own fields (bound to the person).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from provisionhub.directory.errors import Invalid, Reason


def api_name(title: str) -> str:
    """The name the API knows a title by: lower-cased; " / ", "/" and " " made "_"; "?" dropped.

    Other punctuation stays ("Address - Line 1" is `address_-_line_1`).
    """
    name = title.lower()
    for old, new in ((" / ", "_"), ("/", "_"), (" ", "_"), ("?", "")):
        name = name.replace(old, new)
    return name


class Language(StrEnum):
    EN = "en"
    FR = "fr"


class FieldType(StrEnum):
    TEXT = "text"
    BILINGUAL = "bilingual"  # English and French: {"en": ..., "fr": ...}
    DATE = "date"
    NUMBER = "number"
    LOV = "lov"  # one of a list of values: [id, name, parent name, grandparent name...]
    SUBSECTION = "subsection"  # a list of sub-items, with fields of their own


#: What a field bound to the person shows: a person field, or "unit", their membership's organisation.
UNIT = "unit"


@dataclass(frozen=True, slots=True)
class Title:
    """A title in English and in French."""

    en: str
    fr: str

    def in_language(self, language: Language) -> str:
        return self.fr if language is Language.FR else self.en


@dataclass(frozen=True, slots=True)
class Choice:
    """One value of a list of values. parent is the id of the choice it sits under (a province's country)."""

    id: int
    title: Title
    parent: int | None = None


@dataclass(frozen=True, slots=True)
class Field:
    """A field of a section. choices: a list of values'; fields: a subsection's; person: what a field
    bound to the person shows (a person field name, or UNIT), None for a field stored in items."""

    name: str
    title: Title
    type: FieldType
    choices: tuple[Choice, ...] = ()
    fields: tuple[Field, ...] = ()
    person: str | None = None
    max_length: int | None = None

    def choice(self, choice_id: int) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    def lineage(self, choice: Choice) -> list[Choice]:
        """The choice, its parent, its grandparent... (a cycle ends at its first repeat)."""
        line = [choice]
        while line[-1].parent is not None:
            parent = self.choice(line[-1].parent)
            if parent is None or parent in line:
                break
            line.append(parent)
        return line

    def sub_field(self, name: str, path: str) -> Field:
        """The subsection's field of this name; Invalid naming path/name if it has none."""
        return _named(self.fields, name, f"{path}/{name}", f"subsection {path}")


@dataclass(frozen=True, slots=True)
class Section:
    """A page or section of the catalogue. A section without fields only holds other sections."""

    path: str
    title: Title
    single: bool = False
    fields: tuple[Field, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str | None:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else None

    @property
    def holds_items(self) -> bool:
        return any(f.person is None for f in self.fields)

    def field(self, name: str) -> Field:
        """The field of this name; Invalid naming path/name if the section has none."""
        return _named(self.fields, name, f"{self.path}/{name}", f"section {self.path}")


def _named(fields: Iterable[Field], name: str, path: str, where: str) -> Field:
    found = next((f for f in fields if f.name == name), None)
    if found is None:
        raise Invalid(path, Reason.UNKNOWN, f"{path}: {where} has no field {name!r}")
    return found


class Catalogue:
    """The sections a profile may hold, by path, in the order they were defined."""

    def __init__(self, sections: Iterable[Section]) -> None:
        self._sections: dict[str, Section] = {}
        for section in sections:
            self._sections[section.path] = section

    def __iter__(self) -> Iterator[Section]:
        return iter(self._sections.values())

    def __contains__(self, path: object) -> bool:
        return path in self._sections

    def get(self, path: str) -> Section | None:
        return self._sections.get(path)

    def section(self, path: str) -> Section:
        """The section at this path (surrounding slashes ignored); Invalid naming the path if none is."""
        found = self._sections.get(path.strip("/"))
        if found is None:
            raise Invalid(path, Reason.UNKNOWN, f"{path}: no such section")
        return found

    def expand(self, path: str) -> list[Section]:
        """The sections holding fields at or under this path (a page's, a parent section's), in order."""
        top = self.section(path)
        prefix = top.path + "/"
        return [s for s in self if (s is top or s.path.startswith(prefix)) and s.fields]

    def bound_to_person(self) -> dict[str, list[tuple[Section, Field]]]:
        """Fields bound to the person, by what they show (a person field name, or UNIT)."""
        bound: dict[str, list[tuple[Section, Field]]] = {}
        for section in self:
            for field in section.fields:
                if field.person is not None:
                    bound.setdefault(field.person, []).append((section, field))
        return bound

    def replaced(self, sections: Iterable[Section]) -> Catalogue:
        """This catalogue with these sections added, or put in place of those of the same path."""
        return Catalogue([*self, *sections])
