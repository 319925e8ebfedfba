"""SCIM fixtures: a token's headers, and a User body to start from."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.conftest import MakeToken

_serial = itertools.count(1)

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture
def scim(make_token: MakeToken) -> dict[str, str]:
    """Headers with a token that may do everything to Users and Groups."""
    token = make_token("user-create", "user-read", "user-update", "user-delete", "group-read", "group-write")
    return {"Authorization": f"Bearer {token}"}


def new_user(**overrides: Any) -> dict[str, Any]:
    """A User body with a fresh userName and email; overrides replace (None: remove) attributes."""
    n = next(_serial)
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": f"bjensen{n}@example.com",
        "name": {"givenName": "Barbara", "familyName": f"Jensen{n}"},
        "emails": [{"value": f"bjensen{n}@example.com", "type": "work", "primary": True}],
        "displayName": f"Babs Jensen {n}",
        "active": True,
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body
