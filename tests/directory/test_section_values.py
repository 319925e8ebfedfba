"""Section field values: each field type's rule as written, and how values read back."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from provisionhub.directory.default_sections import default_catalogue
from provisionhub.directory.errors import Invalid
from provisionhub.directory.section_values import shown_value, stored_value
from provisionhub.directory.sections import Choice, Field, FieldType, Language, Title

DEGREES = default_catalogue().section("cv/education/degrees")
ADDRESS = default_catalogue().section("cv/personal_information/address")
LOCATION = ADDRESS.field("location")


def stored(field: Field, value: Any, before: Any = None) -> Any:
    return stored_value(field, value, f"path/{field.name}", before)


def text_field(max_length: int | None = None) -> Field:
    return Field("name", Title("Name", "Nom"), FieldType.TEXT, max_length=max_length)


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        (text_field(), "  Bob  ", "Bob"),
        (text_field(), "", None),
        (text_field(), None, None),
        (text_field(5), "12345", "12345"),
        (
            DEGREES.field("thesis_title"),
            {"english": "On X", "french": "Sur X"},
            {"en": "On X", "fr": "Sur X"},
        ),
        (DEGREES.field("thesis_title"), {"en": "On X"}, {"en": "On X"}),
        (DEGREES.field("thesis_title"), "On X", {"en": "On X"}),
        (DEGREES.field("degree_start_date"), "2001", "2001"),
        (DEGREES.field("degree_start_date"), "2001/9", "2001-09"),
        (DEGREES.field("degree_start_date"), "2001-09-30", "2001-09-30"),
        (DEGREES.field("degree_start_date"), date(2001, 9, 30), "2001-09-30"),
        (DEGREES.field("credits"), 90, 90),
        (DEGREES.field("credits"), 7.5, 7.5),
        (DEGREES.field("credits"), " 12 ", 12),
        (DEGREES.field("credits"), "1.5", 1.5),
        (LOCATION, 10, 10),
        (LOCATION, [10, "Ontario", "Canada"], 10),
        (LOCATION, [0, "Ontario"], 10),
        (LOCATION, [0, "québec", "canada"], 11),  # either language, any case
        (LOCATION, "Alberta", 13),
        (
            DEGREES.field("supervisors"),
            [{"supervisor_name": "Z", "start_date": "2001/9", "end_date": None}],
            [{"supervisor_name": "Z", "start_date": "2001-09"}],
        ),
    ],
)
def test_a_good_value_is_stored_in_its_types_form(field: Field, value: Any, kept: Any) -> None:
    assert stored(field, value) == kept


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (text_field(), 12),
        (text_field(), "a\x00b"),
        (text_field(5), "123456"),
        (DEGREES.field("thesis_title"), ["On X"]),
        (DEGREES.field("thesis_title"), {"german": "Über X"}),
        (DEGREES.field("degree_start_date"), "yesterday"),
        (DEGREES.field("degree_start_date"), "2001-13"),
        (DEGREES.field("degree_start_date"), "2001-02-30"),
        (DEGREES.field("degree_start_date"), 2001),
        (DEGREES.field("credits"), "many"),
        (DEGREES.field("credits"), True),
        (DEGREES.field("credits"), float("nan")),
        (DEGREES.field("credits"), [1]),
        (LOCATION, 99),
        (LOCATION, [99, "Atlantis"]),
        (LOCATION, [0, "Atlantis"]),
        (LOCATION, [0, "Ontario", "France"]),
        (LOCATION, [0]),
        (LOCATION, True),
        (LOCATION, {"id": 10}),
        (DEGREES.field("supervisors"), {"supervisor_name": "Z"}),
        (DEGREES.field("supervisors"), [{"supervisor_name": "Z", "grade": "A"}]),
        (DEGREES.field("supervisors"), [{"start_date": "soon"}]),
    ],
)
def test_a_bad_value_is_invalid_naming_the_field_path(field: Field, value: Any) -> None:
    with pytest.raises(Invalid) as refused:
        stored(field, value)

    assert refused.value.field.startswith(f"path/{field.name}")
    assert refused.value.message.startswith(refused.value.field)


def test_a_subsections_bad_field_names_its_own_path() -> None:
    with pytest.raises(Invalid) as refused:
        stored(DEGREES.field("supervisors"), [{"start_date": "soon"}])
    assert refused.value.field == "path/supervisors/start_date"


def test_an_ambiguous_name_asks_for_its_parents() -> None:
    london = (Choice(100, Title("London", "Londres")), Choice(101, Title("London", "London"), parent=10))
    place = Field("place", Title("Place", "Lieu"), FieldType.LOV, choices=(*LOCATION.choices, *london))

    with pytest.raises(Invalid, match="several choices"):
        stored(place, [0, "London"])
    assert stored(place, [0, "London", "Ontario"]) == 101
    assert shown_value(place, 101, Language.FR) == [101, "London", "Ontario", "Canada"]


def test_a_bilingual_edit_keeps_the_language_not_sent() -> None:
    field = DEGREES.field("thesis_title")
    before = {"en": "On X", "fr": "Sur X"}

    assert stored(field, {"english": "On Y"}, before) == {"en": "On Y", "fr": "Sur X"}
    assert stored(field, {"french": None}, before) == {"en": "On X"}
    assert stored(field, {"english": None, "french": ""}, before) is None


def test_a_list_of_values_reads_back_with_its_parents_in_the_language_asked() -> None:
    assert shown_value(LOCATION, 11, Language.EN) == [11, "Quebec", "Canada"]
    assert shown_value(LOCATION, 11, Language.FR) == [11, "Québec", "Canada"]
    assert shown_value(LOCATION, 2, Language.FR) == [2, "États-Unis"]
    assert shown_value(LOCATION, 404, Language.EN) == [404]  # a choice since taken out of the catalogue


def test_a_subsection_reads_back_its_sub_items() -> None:
    field = DEGREES.field("supervisors")
    assert shown_value(field, [{"supervisor_name": "Z"}], Language.EN) == [{"supervisor_name": "Z"}]
