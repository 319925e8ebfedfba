"""The profile-section catalogue: names derived from titles, catalogue documents, the shipped sections."""

from __future__ import annotations

from typing import Any

import pytest

from provisionhub.directory.default_sections import default_catalogue
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.section_documents import read_document, read_section, section_node
from provisionhub.directory.sections import Catalogue, FieldType, Title, api_name


# Every title the seed and the reference derive a name from, and the name they give.
@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Postal / Zip Code", "postal_zip_code"),
        ("Address Type", "address_type"),
        ("Address - Line 1", "address_-_line_1"),
        ("Location", "location"),
        ("Personal Information", "personal_information"),
        ("Address", "address"),
        ("Education", "education"),
        ("Degrees", "degrees"),
        ("Degree Name", "degree_name"),
        ("Specialization", "specialization"),
        ("Thesis Title", "thesis_title"),
        ("Biography", "biography"),
        ("Research Interests", "research_interests"),
        ("Selected Degrees", "selected_degrees"),
        ("Membership Information", "membership_information"),
        ("Organization", "organization"),
        ("Specialty", "specialty"),
        ("Position Title", "position_title"),
        ("Main Audience", "main_audience"),
        ("Invited?", "invited"),
        ("Is it Refereed?", "is_it_refereed"),
        ("Part-time/Full-time", "part-time_full-time"),
        ("Profile", "profile"),
        ("CV", "cv"),
    ],
)
def test_api_names_follow_the_seeds_normalisation(title: str, name: str) -> None:
    assert api_name(title) == name


def test_the_shipped_catalogue_covers_the_issues_sections() -> None:
    catalogue = default_catalogue()

    for path in (
        "profile/biography",
        "profile/research_interests",
        "profile/membership_information",
        "profile/selected_degrees",
        "cv/personal_information/address",
        "cv/education/degrees",
    ):
        assert catalogue.section(path).fields, path
    address = catalogue.section("cv/personal_information/address")
    assert [f.name for f in address.fields][:2] == ["address_type", "address_-_line_1"]
    assert address.field("postal_zip_code").title == Title("Postal / Zip Code", "Code postal / zip")
    assert catalogue.section("profile/biography").single


def test_the_shipped_catalogue_has_every_field_type() -> None:
    types = {f.type for s in default_catalogue() for f in s.fields}
    assert types == set(FieldType)


def test_a_page_expands_to_its_sections_that_hold_fields() -> None:
    paths = [s.path for s in default_catalogue().expand("cv")]
    assert paths == ["cv/personal_information/address", "cv/education/degrees"]


def test_an_unknown_section_or_field_names_its_path() -> None:
    catalogue = default_catalogue()
    with pytest.raises(Invalid) as unknown:
        catalogue.section("cv/education/diplomas")
    assert (unknown.value.field, unknown.value.reason) == ("cv/education/diplomas", Reason.UNKNOWN)
    with pytest.raises(Invalid) as unknown:
        catalogue.section("cv/education/degrees").field("grade")
    assert unknown.value.field == "cv/education/degrees/grade"


# -- documents --------------------------------------------------------------------------------------


def document(*sections: dict[str, Any], page: str = "Grants") -> dict[str, Any]:
    return {"pages": [{"title": {"en": page, "fr": "Subventions"}, "sections": list(sections)}]}


def test_a_document_names_sections_and_fields_from_english_titles() -> None:
    doc = document(
        {
            "title": {"en": "Funded Projects", "fr": "Projets financés"},
            "fields": [
                {"title": "Project Title / Name", "type": "bilingual"},
                {"title": {"en": "Amount?", "fr": "Montant"}, "type": "number"},
                {
                    "name": "kind",
                    "title": "Funding Kind",
                    "type": "lov",
                    "choices": [{"id": 1, "title": "Grant"}],
                },
            ],
        }
    )

    [page, projects] = read_document(doc, Catalogue([]))

    assert (page.path, projects.path) == ("grants", "grants/funded_projects")
    assert [f.name for f in projects.fields] == ["project_title_name", "amount", "kind"]
    assert projects.field("amount").title == Title("Amount?", "Montant")
    assert (
        projects.field("project_title_name").title.fr == "Project Title / Name"
    )  # French defaults to English


def test_a_section_reads_back_from_its_stored_node() -> None:
    for section in default_catalogue():
        node = section_node(section)
        assert read_section(node, section.parent, section.path) == section


def test_a_node_without_title_adds_sections_under_a_known_one() -> None:
    doc = {
        "pages": [
            {
                "name": "cv",
                "sections": [{"name": "education", "sections": [{"title": "Courses", "fields": []}]}],
            }
        ]
    }
    [courses] = read_document(doc, default_catalogue())
    assert courses.path == "cv/education/courses"


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"sections": []}, "pages"),
        ({"pages": {}}, "pages"),
        ({"pages": [{"name": "nowhere", "sections": []}]}, "nowhere"),
        (
            document({"title": "Projects", "fields": [{"title": "T", "type": "color"}]}),
            "grants/projects/t/type",
        ),
        (
            document({"title": "Projects", "fields": [{"title": "T", "type": "lov"}]}),
            "grants/projects/t/choices",
        ),
        (
            document(
                {"title": "Projects", "fields": [{"title": "T", "type": "lov", "choices": [{"id": 0}]}]}
            ),
            "grants/projects/t/choices[0]",
        ),
        (
            document(
                {
                    "title": "Projects",
                    "fields": [
                        {"title": "T", "type": "lov", "choices": [{"id": 1, "title": "A", "parent": 9}]}
                    ],
                }
            ),
            "grants/projects/t/choices[0]",
        ),
        (
            document({"title": "Projects", "fields": [{"title": "T", "type": "text", "choices": []}]}),
            "grants/projects/t/choices",
        ),
        (
            document({"title": "Projects", "fields": [{"title": "T"}, {"title": "T"}]}),
            "grants/projects/t/type",
        ),
        (
            document(
                {
                    "title": "Projects",
                    "fields": [{"title": "T", "type": "text"}, {"title": "t", "type": "text"}],
                }
            ),
            "grants/projects/t",
        ),
        (document({"title": "Projects", "colour": "red"}), "grants/sections[0]/colour"),
        (document({"title": "Projects", "name": "Has Space"}), "grants/sections[0]/name"),
        (document({"title": {"fr": "Projets"}}), "grants/sections[0]/title"),
        (document({"title": "Projects"}, {"title": "Projects"}), "grants/projects"),
        (
            document(
                {"title": "Projects", "fields": [{"title": "Name", "type": "text", "person": "given_name"}]}
            ),
            "grants/projects/name",
        ),
        (
            document(
                {
                    "title": "Projects",
                    "single": True,
                    "fields": [{"title": "Name", "type": "text", "person": "password_hash"}],
                }
            ),
            "grants/projects/name/person",
        ),
    ],
)
def test_a_bad_document_names_where_it_is_wrong(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_document(doc, default_catalogue())

    assert refused.value.field == where, refused.value.message
    assert where.split("/")[0] in refused.value.message or where == "pages"
