"""Directory.apply_in: commands applied as provisionhub itself inside the caller's transaction, each
taking what an earlier one made, kept or undone together."""

from __future__ import annotations

import pytest

from provisionhub.directory.changes import logged_entities
from provisionhub.directory.errors import Conflict
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation, UpsertOrganisations
from provisionhub.directory.reference_data import AddUserType, list_user_types
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database
from tests.factories import upsert


def test_commands_in_one_caller_transaction_build_on_each_other_and_commit_together(
    directory: Directory, database: Database
) -> None:
    with database.transaction() as conn:
        [district] = directory.apply_in(
            conn,
            UpsertOrganisations([UpsertOrganisation(OrgKind.ACCOUNT, fields={"title": "District"})]),
            "demo",
        )
        school = UpsertOrganisation(
            OrgKind.BUILDING, parent=district.organisation.public_id, fields={"title": "A"}
        )
        [building] = directory.apply_in(conn, UpsertOrganisations([school]), "demo")

    assert building.organisation.parent == district.organisation.public_id
    with database.snapshot() as conn:
        assert logged_entities(conn) == {"organisation": 2}


def test_a_refusal_inside_the_caller_transaction_undoes_what_came_before_it(
    directory: Directory, database: Database
) -> None:
    def load() -> None:
        with database.transaction() as conn:
            directory.apply_in(conn, AddUserType("101", "Student"), "demo")
            directory.apply_in(conn, upsert(username="ada"), "demo")
            directory.apply_in(conn, AddUserType("101", "Student again"), "demo")

    with pytest.raises(Conflict):
        load()

    with database.snapshot() as conn:
        assert list_user_types(conn) == []
        assert logged_entities(conn) == {}
