"""The OpenAPI document's schemas for request bodies routes read themselves: pydantic's nested models
moved from each schema's `$defs` into `components/schemas`, where the document's references point."""

from __future__ import annotations

from typing import Any

#: Where a pydantic schema made for the document refers to the models it nests.
REF_TEMPLATE = "#/components/schemas/{model}"


def json_body(model: Any, *, required: bool = True) -> dict[str, Any]:
    """openapi_extra for a JSON request body of model's shape, read by the route itself (so that its
    errors stay in the dialect's format). Its nested models are hoisted by hoist_definitions."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def hoist_definitions(document: dict[str, Any]) -> dict[str, Any]:
    """document with every `$defs` found in it moved into components/schemas, so that every reference
    resolves. Two different models under one name would make one reference wrong: refused."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, schema in (node.pop("$defs", None) or {}).items():
                walk(schema)
                if name in schemas and schemas[name] != schema:
                    raise ValueError(f"two schemas named {name} in the OpenAPI document")
                schemas[name] = schema
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return document
