"""Field values of profile sections: checked against their field's type as written, and shown as read.

Stored values: text as text; bilingual text as `{"en", "fr"}` (either may be missing); a date as
`YYYY`, `YYYY-MM` or `YYYY-MM-DD`; a number as a JSON number; a list of values as its choice's id; a
subsection as a list of sub-items. None (or "") clears a field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.people import clean_text
from provisionhub.directory.sections import Choice, Field, FieldType, Language

#: The longest text a text field holds when its definition names no max_length (a biography fits).
TEXT_LIMIT = 20_000

#: What a bilingual value may be written with (UNIWeb writes english and french, reads en and fr).
_LANGUAGE_KEYS = {"en": "en", "english": "en", "fr": "fr", "french": "fr"}
_DATE = re.compile(r"(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2}))?)?")


def stored_value(field: Field, value: Any, path: str, before: Any = None) -> Any:
    """value as stored for field (None: the field is cleared); Invalid(path, ...) when it does not fit.
    before is the stored value it replaces: a bilingual value keeps the language not sent."""
    if value is None or value == "":
        return None
    match field.type:
        case FieldType.TEXT:
            return _text(value, path, field.max_length or TEXT_LIMIT)
        case FieldType.BILINGUAL:
            return _bilingual(value, path, before)
        case FieldType.DATE:
            return _date(value, path)
        case FieldType.NUMBER:
            return _number(value, path)
        case FieldType.LOV:
            return _choice(field, value, path).id
        case FieldType.SUBSECTION:
            return _sub_items(field, value, path)
    raise AssertionError(field.type)


def shown_value(field: Field, stored: Any, language: Language) -> Any:
    """A stored value as read: a list of values as [id, name, parent name...] in language."""
    if stored is None:
        return None
    if field.type is FieldType.LOV:
        choice = field.choice(stored)
        if choice is None:  # a choice the catalogue no longer has
            return [stored]
        return [choice.id, *(c.title.in_language(language) for c in field.lineage(choice))]
    if field.type is FieldType.SUBSECTION:
        return [
            {
                sub.name: shown_value(sub, item[sub.name], language)
                for sub in field.fields
                if item.get(sub.name) is not None
            }
            for item in stored
        ]
    return stored


def _text(value: Any, path: str, limit: int) -> str | None:
    text = clean_text(path, value)
    if len(text) > limit:
        raise Invalid(path, Reason.TOO_LONG, f"{path} must be at most {limit} characters")
    return text or None


def _bilingual(value: Any, path: str, before: Any) -> dict[str, str] | None:
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, Mapping):
        raise Invalid(path, Reason.INVALID, f"{path} must be text or an object of english and french text")
    merged = dict(before) if isinstance(before, Mapping) else {}
    for key, text in value.items():
        language = _LANGUAGE_KEYS.get(key)
        if language is None:
            raise Invalid(path, Reason.INVALID, f"{path}: {key!r} is not a language (english, french)")
        clean = None if text is None else _text(text, path, TEXT_LIMIT)
        if clean is None:
            merged.pop(language, None)
        else:
            merged[language] = clean
    return {key: merged[key] for key in ("en", "fr") if key in merged} or None


def _date(value: Any, path: str) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    found = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if found is None:
        raise Invalid(path, Reason.INVALID, f"{path} must be a date: YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = (int(part) if part else None for part in found.groups())
    try:
        date(year or 1, month or 1, day or 1)
    except ValueError:
        raise Invalid(path, Reason.INVALID, f"{path}: {value!r} is not a date of the calendar") from None
    return "-".join(
        f"{part:02d}" if n else f"{part:04d}" for n, part in enumerate((year, month, day)) if part
    )


def _number(value: Any, path: str) -> int | float:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
        except ValueError:
            raise Invalid(path, Reason.INVALID, f"{path} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(path, Reason.INVALID, f"{path} must be a number")
    return value


def _choice(field: Field, value: Any, path: str) -> Choice:
    """The choice value names: its id, [id, ...], or [0, name, parent name...] (a name alone: [0, name])."""
    if isinstance(value, str):
        value = [0, value]
    if isinstance(value, list) and value:
        head, names = value[0], value[1:]
    else:
        head, names = value, []
    if isinstance(head, bool) or not isinstance(head, int):
        message = f"{path} must be a choice's id, or [0, name, parent name...] to find it by name"
        raise Invalid(path, Reason.INVALID, message)
    if head != 0:
        found = field.choice(head)
        if found is None:
            raise Invalid(path, Reason.INVALID, f"{path}: {head} is not the id of one of its choices")
        return found
    return _choice_named(field, names, path)


def _choice_named(field: Field, names: list[Any], path: str) -> Choice:
    if not names or not all(isinstance(name, str) for name in names):
        raise Invalid(path, Reason.INVALID, f"{path}: [0, name, parent name...] needs a name")
    wanted = [name.strip().casefold() for name in names]
    matches = [
        choice
        for choice in field.choices
        if all(
            n < len(line) and want in (line[n].title.en.casefold(), line[n].title.fr.casefold())
            for line in [field.lineage(choice)]
            for n, want in enumerate(wanted)
        )
    ]
    shown = " / ".join(str(name) for name in names)
    if not matches:
        raise Invalid(path, Reason.INVALID, f"{path}: no choice is named {shown!r}")
    if len(matches) > 1:
        raise Invalid(path, Reason.INVALID, f"{path}: several choices are named {shown!r}; give its parents")
    return matches[0]


def _sub_items(field: Field, value: Any, path: str) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise Invalid(path, Reason.INVALID, f"{path} must be a list of items (objects)")
    items = []
    for item in value:
        checked = {}
        for name, sub_value in item.items():
            sub = field.sub_field(str(name), path)
            stored = stored_value(sub, sub_value, f"{path}/{name}")
            if stored is not None:
                checked[sub.name] = stored
        items.append(checked)
    return items or None
