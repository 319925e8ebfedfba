"""MkDocs hook: the configuration page's table of settings, made from `Settings` at build time.

A page holding the marker gets, in its place, one row a field of provisionhub.settings.Settings: the
environment variable, the values it takes, the default and the field's description. Written from the
fields themselves, the table cannot drift from them; a field without a description fails the build.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import annotated_types
from mkdocs.exceptions import PluginError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from provisionhub.settings import Settings

MARKER = "<!-- settings-table -->"

_KINDS: dict[Any, str] = {
    str: "text",
    str | None: "text, or unset",
    int: "integer",
    float: "number",
    bool: "`true` or `false`",
}
_BOUNDS: dict[type, tuple[str, str]] = {
    annotated_types.Gt: ("gt", ">"),
    annotated_types.Ge: ("ge", ">="),
    annotated_types.Lt: ("lt", "<"),
    annotated_types.Le: ("le", "<="),
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, settings_table(Settings))


def settings_table(settings: type[BaseSettings]) -> str:
    """A Markdown table of every field of settings; PluginError if one has no description."""
    prefix = settings.model_config.get("env_prefix", "")
    missing = [name for name, field in settings.model_fields.items() if not field.description]
    if missing:
        raise PluginError(f"{settings.__name__} fields without a description: {', '.join(missing)}")
    rows = ["| variable | values | default | meaning |", "|---|---|---|---|"]
    for name, field in settings.model_fields.items():
        variable = f"`{prefix}{name}`".upper()
        cells = (variable, _values(field), _default(field), _cell(field.description or ""))
        rows.append(f"| {' | '.join(cells)} |")
    return "\n".join(rows)


def _values(field: FieldInfo) -> str:
    """What a field takes: its literal values, or its kind with its bounds."""
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return ", ".join(f"`{value}`" for value in get_args(annotation))
    if annotation not in _KINDS:
        raise PluginError(f"no wording for the setting type {annotation}: add it to {__name__}")
    return " ".join([_KINDS[annotation], *(_bound(constraint) for constraint in field.metadata)])


def _bound(constraint: Any) -> str:
    for kind, (attribute, sign) in _BOUNDS.items():
        if isinstance(constraint, kind):
            return f"{sign} {getattr(constraint, attribute)}"
    raise PluginError(f"no wording for the setting constraint {constraint!r}: add it to {__name__}")


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _cell(text: str) -> str:
    """text inside one table cell: on one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")
