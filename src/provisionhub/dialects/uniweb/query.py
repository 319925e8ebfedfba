"""The request object of a GET to resource.php: its query parameters, nested as PHP reads them
(`resources[]=a&resources[]=b`, `filter[unit]=Physics`, `filter[units][]=7`), which is how UNIWeb's GET
form (its OpenAPI sketch) and PHP's http_build_query write a request object into a URL.

As PHP's json_encode would: a level whose keys are 0, 1, ... n-1 in order is a list; a parameter given
twice keeps its last value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from provisionhub.directory.errors import Invalid, Reason

#: A name and its bracketed keys: `filter[units][]` is filter, then units, then [] (append).
_NAME = re.compile(r"(?P<base>[^\[\]]+)(?P<keys>(?:\[[^\[\]]*\])*)")
_KEY = re.compile(r"\[([^\[\]]*)\]")
#: Deeper than any request object goes (a nested resource path is three or four levels).
MAX_DEPTH = 8


def query_object(parameters: Iterable[tuple[str, str]]) -> dict[str, Any] | list[Any]:
    """The request object that query parameters (name, value pairs, in order) spell (a list, as PHP's
    would be, when their names are 0, 1, ...); Invalid names a parameter given both as a value and as a
    level of others, or nested deeper than MAX_DEPTH."""
    root: dict[str, Any] = {}
    for name, value in parameters:
        _put(root, _keys(name), value)
    return _listed(root)


def _keys(name: str) -> list[str | None]:
    """The keys a parameter name nests its value under (None: the next index, for `[]`). A name PHP
    would not read as nested (`a[b`) is one key, as it stands."""
    match = _NAME.fullmatch(name)
    if match is None or not match["keys"]:
        return [name]
    keys: list[str | None] = [match["base"], *(key or None for key in _KEY.findall(match["keys"]))]
    if len(keys) > MAX_DEPTH:
        field = "/".join(key or "[]" for key in keys[:MAX_DEPTH])
        raise Invalid(field, Reason.INVALID, f"{field}: nested deeper than {MAX_DEPTH} levels")
    return keys


def _put(node: dict[str, Any], keys: list[str | None], value: str) -> None:
    for depth, key in enumerate(keys):
        key = str(_next_index(node)) if key is None else key
        if depth == len(keys) - 1:
            if isinstance(node.get(key), dict):
                _conflict(keys, depth)
            node[key] = value
            return
        inner = node.setdefault(key, {})
        if not isinstance(inner, dict):
            _conflict(keys, depth)
        node = inner


def _next_index(node: dict[str, Any]) -> int:
    """Where `[]` appends: after the largest index so far, as PHP does."""
    return max((int(key) + 1 for key in node if key.isdigit()), default=0)


def _conflict(keys: list[str | None], depth: int) -> None:
    field = "/".join(key or "[]" for key in keys[: depth + 1])
    raise Invalid(field, Reason.INVALID, f"{field}: given both as a value and as a list or object")


def _listed(node: dict[str, Any]) -> dict[str, Any] | list[Any]:
    items = {key: _listed(inner) if isinstance(inner, dict) else inner for key, inner in node.items()}
    if items and list(items) == [str(index) for index in range(len(items))]:
        return list(items.values())
    return items
