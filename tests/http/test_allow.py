"""OPTIONS on every path the application routes: its Allow lists exactly the methods the path answers
(those a request is not refused with 405 for), whichever dialect owns it. The paths come from the
application's routes, so a new route is held to it too."""

from __future__ import annotations

import re

import httpx
import pytest

from provisionhub.app import create_app
from provisionhub.settings import Settings

pytestmark = pytest.mark.anyio

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Paths with a route whose endpoint refuses its methods itself (a 405 in the dialect's own words).
REFUSING = {"/uniweb/api/token.php"}


def _paths() -> dict[str, set[str]]:
    """Each route's path (its parameters filled in) and the methods routed there."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found: dict[str, set[str]] = {}
    for route in app.routes:
        path = re.sub(r"\{[^}]+\}", "x", getattr(route, "path", ""))
        found.setdefault(path, set()).update(getattr(route, "methods", None) or ())
    return found


PATHS = _paths()


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_options_allows_every_method_the_path_answers(client: httpx.AsyncClient, path: str) -> None:
    answered = set()
    for method in METHODS:
        if (await client.request(method, path)).status_code != 405:
            answered.add(method)

    options = await client.options(path)

    assert "allow" in options.headers, (options.status_code, options.text)
    allowed = {method.strip() for method in options.headers["allow"].split(",")}
    assert allowed == answered
    if path not in REFUSING:
        assert PATHS[path] <= allowed
    assert allowed, "a routed path answers some method"


async def test_ocl_users_allows_get_and_post(client: httpx.AsyncClient) -> None:
    options = await client.options("/ocl/users/")

    assert options.status_code == 405
    assert options.headers["allow"] == "GET, POST"


async def test_opscom_preflight_is_still_cors_with_allow(client: httpx.AsyncClient) -> None:
    answer = await client.options(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )

    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert answer.headers["allow"] == "OPTIONS, POST"
