"""What a dialect's endpoints hold. They are the methods of one object, made when its routes are, that
keeps what they act with: each route's endpoint is a bound method (its name the route's name)."""

from __future__ import annotations

from provisionhub.auth.credentials import Credentials
from provisionhub.directory.service import Directory


class Endpoints:
    """Endpoints that act through the directory and read bodies of at most max_body_bytes."""

    def __init__(self, directory: Directory, max_body_bytes: int) -> None:
        self._directory = directory
        self._max_body_bytes = max_body_bytes


class EndpointsWithCredentials(Endpoints):
    """Endpoints that also ask auth's Credentials: a password checked, a person signed in, an OAuth
    access token issued."""

    def __init__(self, directory: Directory, credentials: Credentials, max_body_bytes: int) -> None:
        super().__init__(directory, max_body_bytes)
        self._credentials = credentials
