"""People's profile sections through the Directory: add, edit, clear, read, info, options, the change log,
the outbox, modified_since, the person's own fields, and sections an operator loads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Invalid, NotFound, Reason
from provisionhub.directory.memberships import Role, UpsertMember
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.section_items import AddItems, ClearSection, EditItem, SectionCommand
from provisionhub.directory.sections import Language
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import DirectoryUnderTest, count_rows, outbox_events
from tests.factories import new_organisation, person_fields, upsert

DEGREES = "cv/education/degrees"
BIOGRAPHY = "profile/biography"
MEMBERSHIP = "profile/membership_information"
ADDRESS = "cv/personal_information/address"

PHD = {"degree_name": "PhD", "degree_type": [0, "Doctorate"], "specialization": "Materials Engineering"}
BENG = {"degree_name": "Engineering", "degree_type": 4, "organization": "University of Ottawa"}


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(database: Database, clock: Clock) -> Directory:
    return DirectoryUnderTest(database, clock)


def new_person(directory: Directory, **fields: Any) -> str:
    with directory.database.transaction() as conn:
        return directory.upsert_person(conn, upsert(**fields), "sis").public_id


def change(directory: Directory, *commands: SectionCommand) -> dict[str, list[str]]:
    with directory.database.transaction() as conn:
        return directory.change_sections(conn, list(commands), "uniweb")


def read(
    directory: Directory,
    person: str,
    *paths: str,
    fields: list[str] | None = None,
    language: Language = Language.EN,
) -> dict[str, list[dict[str, Any]]]:
    with directory.database.snapshot() as conn:
        return directory.read_sections(conn, [person], dict.fromkeys(paths, fields), language)[person]


# -- add, edit, clear, read --------------------------------------------------------------------------


def test_added_items_read_back_in_order_keyed_by_path(directory: Directory) -> None:
    bob = new_person(directory)

    changed = change(directory, AddItems(bob, DEGREES, [PHD]), AddItems(bob, DEGREES, [BENG]))

    assert changed == {bob: [DEGREES]}
    assert read(directory, bob, DEGREES) == {
        DEGREES: [
            {
                "degree_type": [1, "Doctorate"],
                "degree_name": "PhD",
                "specialization": "Materials Engineering",
            },
            {
                "degree_type": [4, "Bachelor's"],
                "degree_name": "Engineering",
                "organization": "University of Ottawa",
            },
        ]
    }
    assert read(directory, bob, DEGREES, language=Language.FR)[DEGREES][1]["degree_type"] == [
        4,
        "Baccalauréat",
    ]


def test_a_field_subset_reads_only_those_fields(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD, BENG]))

    assert read(directory, bob, DEGREES, fields=["degree_name", "organization"]) == {
        DEGREES: [
            {"degree_name": "PhD"},
            {"degree_name": "Engineering", "organization": "University of Ottawa"},
        ]
    }


def test_a_page_reads_every_section_under_it(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, BIOGRAPHY, [{"biography": "Bob always knew"}]))

    profile = read(directory, bob, "profile")

    assert list(profile) == [MEMBERSHIP, BIOGRAPHY, "profile/research_interests", "profile/selected_degrees"]
    assert profile[BIOGRAPHY] == [{"biography": "Bob always knew"}]
    assert profile["profile/research_interests"] == []


def test_many_people_are_read_at_once(directory: Directory) -> None:
    bob, ann = new_person(directory), new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD]), AddItems(ann, DEGREES, [BENG, PHD]))

    with directory.database.snapshot() as conn:
        both = directory.read_sections(conn, [ann, bob], {DEGREES: ["degree_name"]})

    assert both == {
        ann: {DEGREES: [{"degree_name": "Engineering"}, {"degree_name": "PhD"}]},
        bob: {DEGREES: [{"degree_name": "PhD"}]},
    }


def test_adding_to_a_single_section_changes_its_item(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, BIOGRAPHY, [{"biography": "First"}]))
    change(directory, AddItems(bob, BIOGRAPHY, [{"biography": "Second"}]))

    assert read(directory, bob, BIOGRAPHY) == {BIOGRAPHY: [{"biography": "Second"}]}
    assert count_rows(directory.database, tables.profile_section_items) == 1


def test_edit_changes_only_the_fields_sent(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD, BENG]))

    change(directory, EditItem(bob, DEGREES, {"specialization": "Physics", "degree_type": None}, item=0))

    [phd, beng] = read(directory, bob, DEGREES)[DEGREES]
    assert phd == {"degree_name": "PhD", "specialization": "Physics"}
    assert beng["degree_name"] == "Engineering"


def test_edit_of_a_single_section_makes_its_item_when_it_has_none(directory: Directory) -> None:
    bob = new_person(directory)

    change(directory, EditItem(bob, BIOGRAPHY, {"biography": "Hello"}))

    assert read(directory, bob, BIOGRAPHY) == {BIOGRAPHY: [{"biography": "Hello"}]}


def test_an_edit_that_changes_nothing_writes_and_logs_nothing(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, BIOGRAPHY, [{"biography": "Hello"}]))
    logged = count_rows(directory.database, tables.changes)

    assert change(directory, EditItem(bob, BIOGRAPHY, {"biography": " Hello "})) == {}
    assert count_rows(directory.database, tables.changes) == logged


def test_clear_removes_every_item_of_the_section(directory: Directory) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD, BENG]), AddItems(bob, BIOGRAPHY, [{"biography": "Hi"}]))

    change(directory, ClearSection(bob, DEGREES))

    assert read(directory, bob, DEGREES, BIOGRAPHY) == {DEGREES: [], BIOGRAPHY: [{"biography": "Hi"}]}
    change(directory, AddItems(bob, DEGREES, [BENG]))
    assert read(directory, bob, DEGREES, fields=["degree_name"]) == {
        DEGREES: [{"degree_name": "Engineering"}]
    }


@pytest.mark.parametrize(
    ("make", "field", "reason"),
    [
        (lambda p: AddItems(p, "cv/education/diplomas", [{}]), "cv/education/diplomas", Reason.UNKNOWN),
        (lambda p: AddItems(p, DEGREES, [{"grade": "A"}]), f"{DEGREES}/grade", Reason.UNKNOWN),
        (lambda p: AddItems(p, DEGREES, [{"degree_type": 99}]), f"{DEGREES}/degree_type", Reason.INVALID),
        (lambda p: AddItems(p, DEGREES, ["PhD"]), DEGREES, Reason.INVALID),
        (lambda p: AddItems(p, "cv/education", [{}]), "cv/education", Reason.INVALID),
        (
            lambda p: AddItems(p, BIOGRAPHY, [{"biography": "a"}, {"biography": "b"}]),
            BIOGRAPHY,
            Reason.INVALID,
        ),
        (lambda p: EditItem(p, DEGREES, {"degree_name": "MSc"}), DEGREES, Reason.REQUIRED),
        (lambda p: EditItem(p, DEGREES, {"degree_name": "MSc"}, item=2), DEGREES, Reason.INVALID),
        (lambda p: EditItem(p, MEMBERSHIP, {"unit": "Physics"}), f"{MEMBERSHIP}/unit", Reason.INVALID),
        (
            lambda p: EditItem(p, MEMBERSHIP, {"email": "not an address"}),
            f"{MEMBERSHIP}/email",
            Reason.INVALID,
        ),
        (lambda p: ClearSection(p, MEMBERSHIP), MEMBERSHIP, Reason.INVALID),
    ],
)
def test_a_bad_command_fails_whole_naming_the_path(
    directory: Directory, make: Callable[[str], SectionCommand], field: str, reason: Reason
) -> None:
    bob = new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD, BENG]))
    logged = count_rows(directory.database, tables.changes)
    good = AddItems(bob, BIOGRAPHY, [{"biography": "never written"}])

    with pytest.raises(Invalid) as refused:
        change(directory, good, make(bob))

    assert (refused.value.field, refused.value.reason) == (field, reason), refused.value.message
    assert refused.value.message.startswith(field)
    assert read(directory, bob, BIOGRAPHY) == {BIOGRAPHY: []}
    assert count_rows(directory.database, tables.changes) == logged


def test_an_unknown_person_is_not_found(directory: Directory) -> None:
    with pytest.raises(NotFound):
        change(directory, AddItems("no-such-person", DEGREES, [PHD]))
    with pytest.raises(NotFound):
        read(directory, "no-such-person", DEGREES)


# -- the change log and the outbox -------------------------------------------------------------------


def test_a_change_to_items_is_a_person_change_with_an_edited_event(directory: Directory) -> None:
    bob = new_person(directory)

    change(directory, AddItems(bob, DEGREES, [BENG]), AddItems(bob, BIOGRAPHY, [{"biography": "Hi"}]))
    change(directory, ClearSection(bob, DEGREES))

    with directory.database.snapshot() as conn:
        [*_, added, cleared] = list_changes(conn, entity_type="person", entity_id=bob)
    assert (added.action, added.actor) == ("sections", "uniweb")
    assert added.fields == {
        DEGREES: [
            [],
            [{"degree_name": "Engineering", "degree_type": 4, "organization": "University of Ottawa"}],
        ],
        BIOGRAPHY: [[], [{"biography": "Hi"}]],
    }
    assert cleared.fields == {DEGREES: [added.fields[DEGREES][1], []]}
    assert outbox_events(directory.database, bob) == ["added", "edited", "edited"]


# -- the person's own fields ---------------------------------------------------------------------------


def test_membership_information_reads_a_person_another_dialect_made(directory: Directory) -> None:
    bob = new_person(directory, given_name="Bob", family_name="Smith", email="bob@mail.ca", title="Professor")

    assert read(directory, bob, MEMBERSHIP) == {
        MEMBERSHIP: [
            {"first_name": "Bob", "last_name": "Smith", "email": "bob@mail.ca", "position_title": "Professor"}
        ]
    }


def test_membership_information_reads_the_unit_the_person_belongs_to(directory: Directory) -> None:
    account = new_organisation(directory, OrgKind.ACCOUNT, title="Civil Engineering")
    member = UpsertMember(
        person=person_fields(), membership={"account": account, "role": Role.DISTRICT_ADMIN}
    )
    with directory.database.transaction() as conn:
        [made] = directory.upsert_members(conn, [member], "myon")

    shown = read(directory, made.person.public_id, MEMBERSHIP, fields=["unit", "first_name"])

    assert shown == {MEMBERSHIP: [{"unit": "Civil Engineering", "first_name": "Ada"}]}


def test_writing_membership_information_changes_the_person(directory: Directory) -> None:
    bob = new_person(directory, given_name="Bob")

    changed = change(directory, EditItem(bob, MEMBERSHIP, {"first_name": "Robert", "position_title": "Dean"}))

    assert changed == {bob: [MEMBERSHIP]}
    with directory.database.snapshot() as conn:
        person = directory.find_person(conn, bob)
        [*_, logged] = list_changes(conn, entity_type="person", entity_id=bob)
    assert (person["given_name"], person["title"]) == ("Robert", "Dean")
    assert logged.fields == {"given_name": ["Bob", "Robert"], "title": [None, "Dean"]}
    assert count_rows(directory.database, tables.profile_section_items) == 0
    assert outbox_events(directory.database, bob) == ["added", "edited"]


def test_a_taken_email_names_the_sections_field(directory: Directory) -> None:
    new_person(directory, email="taken@mail.ca")
    bob = new_person(directory)

    with pytest.raises(Conflict) as refused:
        change(directory, EditItem(bob, MEMBERSHIP, {"email": "TAKEN@mail.ca"}))

    assert refused.value.field == f"{MEMBERSHIP}/email"
    assert refused.value.message.startswith(f"{MEMBERSHIP}/email")


# -- info, options -------------------------------------------------------------------------------------


def test_info_tells_names_titles_and_types(directory: Directory) -> None:
    with directory.database.snapshot() as conn:
        info = directory.section_info(conn, {ADDRESS: ["address_type", "postal_zip_code"]}, Language.FR)
        parent = directory.section_info(conn, {"cv/personal_information": None})

    assert info == {
        ADDRESS: {
            "name": "address",
            "title": "Adresse",
            "type": "section",
            "single": False,
            "fields": {
                "address_type": {"name": "address_type", "title": "Type d'adresse", "type": "lov"},
                "postal_zip_code": {"name": "postal_zip_code", "title": "Code postal / zip", "type": "text"},
            },
            "sections": [],
        }
    }
    assert parent["cv/personal_information"]["sections"] == ["address"]


def test_options_give_each_list_of_values_choices(directory: Directory) -> None:
    with directory.database.snapshot() as conn:
        options = directory.section_options(conn, {DEGREES: None}, Language.EN)
        one = directory.section_options(conn, {ADDRESS: ["location"]}, Language.FR)
        with pytest.raises(Invalid) as refused:
            directory.section_options(conn, {ADDRESS: ["city"]})

    assert list(options[DEGREES]) == ["degree_type", "degree_status"]
    assert options[DEGREES]["degree_status"] == [[1, "Completed"], [2, "In Progress"], [3, "Withdrawn"]]
    assert [11, "Québec", "Canada"] in one[ADDRESS]["location"]
    assert refused.value.field == f"{ADDRESS}/city"


# -- modified_since ------------------------------------------------------------------------------------


def test_modified_since_names_each_persons_changed_sections(directory: Directory, clock: Clock) -> None:
    bob, ann, eve = new_person(directory), new_person(directory), new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD]))
    since = clock.advance(hours=1)
    change(directory, AddItems(ann, BIOGRAPHY, [{"biography": "Hi"}]))
    clock.advance(minutes=5)
    change(directory, EditItem(bob, MEMBERSHIP, {"last_name": "Jones"}), ClearSection(ann, DEGREES))
    with directory.database.transaction() as conn:
        directory.upsert_person(conn, upsert(unique_id=None, username="new-person"), "sis")

    with directory.database.snapshot() as conn:
        modified = directory.sections_modified_since(conn, since)
        only_ann = directory.sections_modified_since(conn, since, [ann, eve])
        later = directory.sections_modified_since(conn, clock.advance(seconds=1))

    new = next(person for person in modified if person not in (ann, bob))
    assert modified == {ann: {BIOGRAPHY}, bob: {MEMBERSHIP}, new: {MEMBERSHIP}}
    assert only_ann == {ann: {BIOGRAPHY}}
    assert later == {}


def test_modified_since_before_anything_was_logged_finds_everything(
    directory: Directory, clock: Clock
) -> None:
    with directory.database.snapshot() as conn:
        assert directory.sections_modified_since(conn, clock.now) == {}
    bob = new_person(directory)
    change(directory, AddItems(bob, DEGREES, [PHD]))

    with directory.database.snapshot() as conn:
        assert directory.sections_modified_since(conn, clock.now - timedelta(days=1)) == {
            bob: {MEMBERSHIP, DEGREES}
        }


# -- loaded sections -----------------------------------------------------------------------------------

GRANTS = {
    "pages": [
        {
            "name": "cv",
            "sections": [
                {
                    "title": {"en": "Research Funding History", "fr": "Historique du financement"},
                    "fields": [
                        {"title": "Funding Title", "type": "bilingual"},
                        {"title": "Total Funding", "type": "number"},
                    ],
                }
            ],
        }
    ]
}
FUNDING = "cv/research_funding_history"


def test_a_loaded_section_holds_items_and_is_logged(directory: Directory) -> None:
    with directory.database.transaction() as conn:
        [loaded] = directory.load_sections(conn, GRANTS, "cli")
    bob = new_person(directory)

    change(
        directory, AddItems(bob, FUNDING, [{"funding_title": {"french": "Projet"}, "total_funding": "2500"}])
    )

    assert (loaded.path, loaded.created, loaded.changed) == (FUNDING, True, True)
    assert read(directory, bob, FUNDING) == {
        FUNDING: [{"funding_title": {"fr": "Projet"}, "total_funding": 2500}]
    }
    with directory.database.snapshot() as conn:
        [logged] = list_changes(conn, entity_type="profile_section")
        assert [s.path for s in directory.section_catalogue(conn).expand("cv")][-1] == FUNDING
    assert logged.fields["path"] == [None, FUNDING]


def test_loading_again_replaces_and_unchanged_is_no_change(directory: Directory) -> None:
    with directory.database.transaction() as conn:
        directory.load_sections(conn, GRANTS, "cli")
        [same] = directory.load_sections(conn, GRANTS, "cli")
    assert (same.created, same.changed) == (False, False)

    single = {"pages": [{"name": "cv", "sections": [{**GRANTS["pages"][0]["sections"][0], "single": True}]}]}
    with directory.database.transaction() as conn:
        [replaced] = directory.load_sections(conn, single, "cli")
        assert directory.section_catalogue(conn).section(FUNDING).single
    assert (replaced.created, replaced.changed) == (False, True)
    assert count_rows(directory.database, tables.profile_sections) == 1


def test_a_loaded_section_replaces_a_shipped_one(directory: Directory) -> None:
    biography = {
        "pages": [
            {
                "name": "profile",
                "sections": [
                    {
                        "title": {"en": "Biography", "fr": "Biographie"},
                        "single": True,
                        "fields": [{"title": "Biography", "type": "bilingual"}],
                    }
                ],
            }
        ]
    }
    with directory.database.transaction() as conn:
        directory.load_sections(conn, biography, "cli")
    bob = new_person(directory)

    change(directory, EditItem(bob, BIOGRAPHY, {"biography": {"english": "Hi", "french": "Salut"}}))

    assert read(directory, bob, BIOGRAPHY) == {BIOGRAPHY: [{"biography": {"en": "Hi", "fr": "Salut"}}]}


def test_a_bad_document_loads_nothing(directory: Directory) -> None:
    bad = {
        "pages": [
            *GRANTS["pages"],
            {"name": "cv", "sections": [{"title": "Broken", "fields": [{"title": "X"}]}]},
        ]
    }

    with pytest.raises(Invalid) as refused, directory.database.transaction() as conn:
        directory.load_sections(conn, bad, "cli")

    assert refused.value.field == "cv/broken/x/type"
    assert count_rows(directory.database, tables.profile_sections) == 0
