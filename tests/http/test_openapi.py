"""The OpenAPI document the application serves: every reference in it resolves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from provisionhub.http.openapi import hoist_definitions

pytestmark = pytest.mark.anyio


def _references(node: Any) -> list[str]:
    """Every $ref in node, however deep."""
    if isinstance(node, dict):
        return [r for key, value in node.items() for r in ([value] if key == "$ref" else _references(value))]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def _resolve(document: dict[str, Any], reference: str) -> Any:
    """What a local JSON pointer names in document; KeyError when nothing."""
    assert reference.startswith("#/"), f"{reference} points outside the document"
    node: Any = document
    for part in reference[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


async def test_every_reference_in_the_openapi_document_resolves(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    references = set(_references(document))

    unresolved = []
    for reference in sorted(references):
        try:
            _resolve(document, reference)
        except (KeyError, AssertionError):
            unresolved.append(reference)

    assert "#/components/schemas/PersonMeta" in references  # COmanage's message, nested models and all
    assert unresolved == []
    assert "$defs" not in str(document)


def test_nested_definitions_are_hoisted_into_the_components() -> None:
    document = {"paths": {"/p": {"post": {"schema": {"$defs": {"A": {"type": "string"}}, "$ref": "x"}}}}}

    hoisted = hoist_definitions(document)

    assert hoisted["components"]["schemas"] == {"A": {"type": "string"}}
    assert hoisted["paths"]["/p"]["post"]["schema"] == {"$ref": "x"}


def test_two_different_models_under_one_name_are_refused() -> None:
    document = {
        "components": {"schemas": {"A": {"type": "string"}}},
        "paths": {"/p": {"$defs": {"A": {"type": "integer"}}}},
    }

    with pytest.raises(ValueError, match="two schemas named A"):
        hoist_definitions(document)
