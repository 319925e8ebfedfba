"""What a route asks of a credential, said on the route as an OpenAPI extension: the permissions (any one
of them) it needs, or why it needs none. The OpenAPI document shows it to integrators, and
tests/http/test_route_permissions.py holds every route of the application to what it says."""

from __future__ import annotations

from typing import Any

from provisionhub.directory.access import Permission

#: The permissions, any one of which a credential needs (and the scope it is checked in: the target's).
NEEDS = "x-permissions"
#: Why the route needs no credential.
PUBLIC = "x-public"
#: Why the route refuses every credential alike once it is checked (its status says how).
REFUSED = "x-refused"


def needs(*permissions: Permission) -> dict[str, Any]:
    return {NEEDS: [permission.value for permission in permissions]}


def public(reason: str) -> dict[str, Any]:
    return {PUBLIC: reason}


def refused(reason: str) -> dict[str, Any]:
    return {REFUSED: reason}
