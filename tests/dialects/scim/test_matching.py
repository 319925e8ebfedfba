"""Filters evaluated in Python over the values of a multi-valued attribute, as PATCH paths select them."""

from __future__ import annotations

from typing import Any

import pytest

from provisionhub.dialects.scim.filters import FilterError, parse_filter
from provisionhub.dialects.scim.matching import value_predicate
from provisionhub.dialects.scim.schemas import GROUP_SCHEMA, USER_SCHEMA, Attribute

EMAILS = USER_SCHEMA.attribute("emails")
MEMBERS = GROUP_SCHEMA.attribute("members")
WORK = {"value": "BJensen@Example.com", "type": "work", "primary": True}
HOME = {"value": "babs@home.example", "type": "home"}
TAGS = Attribute("tags", "Simple values.", multi_valued=True)
SCORES = Attribute(
    "scores",
    "Complex values of other types.",
    type="complex",
    multi_valued=True,
    sub_attributes=(
        Attribute("points", "A number.", type="integer"),
        Attribute("at", "A moment.", type="dateTime"),
        Attribute("code", "An exact string.", case_exact=True),
    ),
)


def selected(text: str, values: list[Any], attribute: Attribute | None = EMAILS) -> list[Any]:
    assert attribute is not None
    predicate = value_predicate(parse_filter(text), attribute)
    return [value for value in values if predicate(value)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type eq "work"', [WORK]),
        ('TYPE EQ "WORK"', [WORK]),
        ('value eq "bjensen@example.com"', [WORK]),
        ('value co "HOME"', [HOME]),
        ('value sw "babs"', [HOME]),
        ('value ew ".com"', [WORK]),
        ('value gt "bb"', [WORK]),
        ('type ne "work"', [HOME]),
        ("primary eq true", [WORK]),
        ('primary eq "True"', [WORK]),
        ("primary eq false", []),
        ("primary ne true", [HOME]),
        ("primary pr", [WORK]),
        ("primary eq null", [HOME]),
        ('type eq "work" or type eq "home"', [WORK, HOME]),
        ('type eq "work" and value co "home"', []),
        ('not (type eq "work")', [HOME]),
    ],
)
def test_each_comparison_and_connective(text: str, expected: list[Any]) -> None:
    assert selected(text, [WORK, HOME]) == expected


def test_numbers_moments_and_exact_strings() -> None:
    values = [
        {"points": 3, "at": "2024-05-01T10:00:00Z", "code": "Ab"},
        {"points": 10, "at": "2024-06-01T10:00:00+02:00", "code": "ab"},
        {"points": "10", "at": "not a moment"},
    ]
    assert selected("points ge 10", values, SCORES) == [values[1]]
    assert selected('at lt "2024-05-15T00:00:00"', values, SCORES) == [values[0]]
    assert selected('code eq "ab"', values, SCORES) == [values[1]]


def test_the_values_of_a_simple_multi_valued_attribute_are_compared_as_value() -> None:
    assert selected('value eq "A"', ["a", "b", {"value": "a"}], TAGS) == ["a"]


def test_members_compare_by_value() -> None:
    members = [{"value": "u1", "type": "User"}, {"value": "u2"}]
    assert selected('value eq "u2"', members, MEMBERS) == [members[1]]


@pytest.mark.parametrize(
    ("text", "attribute", "words"),
    [
        ('kind eq "work"', EMAILS, "no sub-attribute 'kind'"),
        ("primary gt true", EMAILS, "boolean"),
        ("primary eq 1", EMAILS, "true or false"),
        ("value eq 1", EMAILS, "string"),
        ("value gt null", EMAILS, "null"),
        ('points eq "1"', SCORES, "number"),
        ("points co 1", SCORES, "only to strings"),
        ('at gt "yesterday"', SCORES, "ISO 8601"),
    ],
)
def test_a_filter_the_attribute_does_not_allow_is_a_filter_error(
    text: str, attribute: Attribute | None, words: str
) -> None:
    assert attribute is not None
    with pytest.raises(FilterError, match=words):
        value_predicate(parse_filter(text), attribute)
