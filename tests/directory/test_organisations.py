"""Organisation rules that no dialect reaches yet: a kind that takes no parent."""

from __future__ import annotations

import pytest

from provisionhub.directory.errors import Invalid, Rejected
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from tests.conftest import count_rows


def test_an_account_under_another_organisation_is_refused_and_nothing_is_written(
    directory: Directory,
) -> None:
    with directory.database.transaction() as conn:
        [account] = directory.upsert_organisations(
            conn, [UpsertOrganisation(OrgKind.ACCOUNT, fields={"title": "A"})], "t"
        )
    before = count_rows(directory.database, tables.organisations)

    with pytest.raises(Rejected) as refused, directory.database.transaction() as conn:
        directory.upsert_organisations(
            conn,
            [
                UpsertOrganisation(OrgKind.ACCOUNT, fields={"title": "B"}),
                UpsertOrganisation(
                    OrgKind.ACCOUNT, parent=account.organisation.public_id, fields={"title": "C"}
                ),
            ],
            "t",
        )

    [error] = refused.value.errors
    assert error.index == 1
    assert isinstance(error.error, Invalid)
    assert (error.error.field, error.error.message) == (
        "parent",
        "an account does not belong to another organisation",
    )
    assert count_rows(directory.database, tables.organisations) == before
