"""`provisionhub sections`: loading a catalogue file (JSON or YAML) and listing the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows

YAML = """\
pages:
  - name: cv
    sections:
      - title: {en: Research Funding History, fr: Historique du financement}
        fields:
          - {title: Funding Title, type: bilingual}
          - title: {en: Funding Type, fr: Type de financement}
            type: lov
            choices:
              - {id: 1, title: {en: Grant, fr: Subvention}}
              - {id: 2, title: {en: Contract, fr: Contrat}}
"""


def test_sections_load_takes_yaml_and_says_what_it_did(cli, tmp_path: Path, database: Database) -> None:
    file = tmp_path / "funding.yaml"
    file.write_text(YAML)

    first = cli("sections", "load", str(file))
    again = cli("sections", "load", str(file))

    assert "cv/research_funding_history: added" in first.stderr
    assert "cv/research_funding_history: unchanged" in again.stderr
    assert count_rows(database, tables.profile_sections) == 1


def test_sections_load_takes_json(cli, tmp_path: Path) -> None:
    file = tmp_path / "courses.json"
    page = {
        "name": "cv",
        "sections": [{"title": "Courses Taught", "fields": [{"title": "Course Code", "type": "text"}]}],
    }
    file.write_text(json.dumps({"pages": [page]}))

    assert "cv/courses_taught: added" in cli("sections", "load", str(file)).stderr
    listing = cli("sections", "list").stdout
    assert "cv/courses_taught" in listing
    assert "course_code:text" in listing


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.json", "{not json", "is not a readable JSON file"),
        ("broken.yaml", "pages: [unclosed", "is not a readable YAML file"),
        ("empty.yaml", "", "a catalogue document is an object with one key, pages"),
        ("typo.yaml", YAML.replace("type: lov", "type: choice"), "type 'choice' is not one of"),
        ("nowhere.yaml", YAML.replace("name: cv", "name: vc"), "vc: no such section"),
    ],
)
def test_sections_load_refuses_a_bad_file_and_loads_nothing(
    cli, tmp_path: Path, database: Database, name: str, text: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(text)

    result = cli("sections", "load", str(file), code=1)

    assert message in result.stderr
    assert count_rows(database, tables.profile_sections) == 0


def test_sections_load_of_a_missing_file_is_an_error(cli, tmp_path: Path) -> None:
    assert "is not a readable YAML file" in cli("sections", "load", str(tmp_path / "none.yml"), code=1).stderr


def test_sections_list_shows_the_shipped_catalogue(cli) -> None:
    listing = cli("sections", "list").stdout

    for path in ("profile/membership_information", "cv/education/degrees", "cv/personal_information/address"):
        assert path in listing
    assert "Diplômes" in listing
    assert "shipped" in listing
