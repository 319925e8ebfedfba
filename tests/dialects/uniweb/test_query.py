"""A GET's query parameters read as the request object PHP would see in them."""

from __future__ import annotations

from typing import Any

import pytest

from provisionhub.dialects.uniweb.query import MAX_DEPTH, query_object
from provisionhub.directory.errors import Invalid


@pytest.mark.parametrize(
    ("parameters", "read"),
    [
        ([("action", "read")], {"action": "read"}),
        ([("r[]", "a"), ("r[]", "b")], {"r": ["a", "b"]}),
        ([("r[0]", "a"), ("r[1]", "b")], {"r": ["a", "b"]}),
        ([("r[1]", "b"), ("r[0]", "a")], {"r": {"1": "b", "0": "a"}}),  # not in order: an object, as PHP
        ([("r[3]", "a"), ("r[]", "b")], {"r": {"3": "a", "4": "b"}}),  # [] appends after the largest index
        ([("f[unit]", "Physics"), ("f[units][]", "7")], {"f": {"unit": "Physics", "units": ["7"]}}),
        ([("r[cv/education/degrees][]", "degree_name")], {"r": {"cv/education/degrees": ["degree_name"]}}),
        ([("id", "a"), ("id", "b")], {"id": "b"}),  # the last value, as a form's
        ([("a[b", "x"), ("c]", "y")], {"a[b": "x", "c]": "y"}),  # not nested: a name as it stands
        ([("0", "a"), ("1", "b")], ["a", "b"]),  # no object at all, as PHP's json_encode would say
    ],
)
def test_parameters_nest_as_php_reads_them(
    parameters: list[tuple[str, str]], read: dict[str, Any] | list[Any]
) -> None:
    assert query_object(parameters) == read


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ([("r", "a"), ("r[]", "b")], "r"),
        ([("r[]", "a"), ("r", "b")], "r"),
        ([("f[u][x]", "a"), ("f[u]", "b")], "f/u"),
        ([("r" + "[x]" * MAX_DEPTH, "a")], "r/x"),
    ],
)
def test_a_value_and_a_level_of_one_name_or_too_deep_a_name_is_invalid(
    parameters: list[tuple[str, str]], named: str
) -> None:
    with pytest.raises(Invalid) as refused:
        query_object(parameters)

    assert refused.value.field.startswith(named)
