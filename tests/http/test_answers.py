"""Large JSON answers: the same response as starlette's own."""

from __future__ import annotations

from starlette.responses import JSONResponse

from provisionhub.http.answers import LargeJSONResponse


def test_a_large_answer_is_the_same_response_as_starlettes() -> None:
    answer = [
        {"myon_id": "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee", "result": "created", "n": 5, "x": None},
        {"name": "Zoë Ünal ✓", "ok": True, "ratio": 0.5, "list": [1, "two", {}]},
    ]
    fast = LargeJSONResponse(answer, status_code=201)
    plain = JSONResponse(answer, status_code=201)

    assert fast.body == plain.body
    assert fast.status_code == plain.status_code
    assert fast.headers == plain.headers


def test_what_orjson_refuses_is_rendered_as_starlette_renders_it() -> None:
    for answer in ({"count": 2**70}, {1: "an integer key"}, [{"nested": {"big": -(2**65)}}]):
        assert LargeJSONResponse(answer).body == JSONResponse(answer).body
