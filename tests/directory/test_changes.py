"""The change log as a whole: the entities it names."""

from __future__ import annotations

from provisionhub.directory.changes import logged_entities
from provisionhub.directory.reference_data import AddUserType
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database
from tests.factories import upsert


def test_the_change_log_counts_each_entity_once_whatever_its_changes(
    directory: Directory, database: Database
) -> None:
    directory.apply(upsert("s1", username="ada"), "test")
    directory.apply(upsert("s1", given_name="Augusta"), "test")
    directory.apply(upsert("s2", username="grace"), "test")
    directory.apply(AddUserType("6", "Demo"), "test")

    with database.snapshot() as conn:
        assert logged_entities(conn) == {"person": 2, "user_type": 1}
