"""The client contract (CONTRACT.md): every retrieval/status route with its exact shape,
and JSON errors with the right status for bad input."""

from __future__ import annotations

import pytest
from cadchat.app import create_app

CODE_KEYS = {
    "id",
    "type",
    "command",
    "description",
    "alias",
    "final_alias",
    "category",
    "is_basic_command",
    "source",
}
RAG_KEYS = {"command", "description", "similarity", "source_type"}
SEARCH_KEYS = {
    "command",
    "description",
    "filename",
    "timestamp",
    "command_type",
    "category",
    "similarity_score",
}
CODES_ITEM_KEYS = {"id", "command", "description", "type", "category", "source"}


async def test_query_matched_shape(client) -> None:
    resp = await client.post("/api/query", json={"requirement": "画一个圆"})
    assert resp.status == 200
    body = await resp.json()
    assert body["requirement"] == "画一个圆"
    assert body["matched"] is True
    result = body["result"]
    assert set(result["code"]) >= CODE_KEYS
    assert result["code"]["command"] == "CIRCLE"
    assert result["code"]["category"] == "basic_command"
    assert result["code"]["is_basic_command"] is True
    assert result["is_basic_command"] is True
    assert result["llm_used"] is False
    assert 0.0 < result["confidence"] <= 1.0
    assert isinstance(result["reason"], str) and result["reason"]
    assert result["rag_results"] and all(set(r) >= RAG_KEYS for r in result["rag_results"])
    sims = [r["similarity"] for r in result["rag_results"]]
    assert sims == sorted(sims, reverse=True) and all(0.0 <= s <= 1.0 for s in sims)


async def test_query_lisp_command_category(client) -> None:
    body = await (await client.post("/api/query", json={"requirement": "BURST"})).json()
    code = body["result"]["code"]
    assert (code["command"], code["type"], code["category"], code["is_basic_command"]) == (
        "BURST",
        "lisp",
        "cad_extension",
        False,
    )


async def test_query_not_matched_shape(client) -> None:
    resp = await client.post("/api/query", json={"requirement": "qwzx plokm"})
    assert resp.status == 200
    body = await resp.json()
    assert body["matched"] is False
    assert body["requirement"] == "qwzx plokm"
    assert body["result"]["reason"] and body["result"]["suggestion"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "missing field: 'requirement'"),
        ({"requirement": ""}, "'requirement' must not be empty"),
        ({"requirement": "   "}, "'requirement' must not be empty"),
        ({"requirement": 42}, "'requirement' must be a string, not int"),
        ({"requirement": ["画圆"]}, "'requirement' must be a string, not list"),
        ([1, 2], "request body must be a JSON object, not list"),
    ],
)
async def test_query_bad_input_is_400_json(client, payload, message) -> None:
    resp = await client.post("/api/query", json=payload)
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == message and body["message"] == message and body["success"] is False


async def test_malformed_and_empty_bodies(client) -> None:
    for data in (b"{not json", b"", b"\xff\xfe"):
        resp = await client.post("/api/query", data=data, headers={"Content-Type": "application/json"})
        assert resp.status == 400, data
        assert "error" in await resp.json()


async def test_body_over_limit_is_413_json(aiohttp_client, make_settings) -> None:
    client = await aiohttp_client(create_app(make_settings(max_body_bytes=2048)))
    resp = await client.post("/api/query", data=b'{"requirement": "' + b"x" * 4000 + b'"}')
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]


async def test_overlong_requirement_is_413(client) -> None:
    resp = await client.post("/api/query", json={"requirement": "画" * 2001})
    assert resp.status == 413


async def test_unknown_route_and_method(client) -> None:
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"] == "not found: GET /api/nothing-here"
    resp = await client.delete("/api/query")
    assert resp.status == 405
    assert "not allowed" in (await resp.json())["error"]


async def test_search_post_shapes(client) -> None:
    for key in ("requirement", "query"):
        resp = await client.post("/api/search", json={key: "修剪多余的线", "limit": 5})
        assert resp.status == 200
        body = await resp.json()
        assert body["query"] == "修剪多余的线"
        assert 1 <= len(body["results"]) <= 5
        assert all(set(r) >= SEARCH_KEYS for r in body["results"])
        assert body["results"][0]["command"] == "TRIM"
        assert all(0.0 <= r["similarity_score"] <= 1.0 for r in body["results"])


async def test_search_post_bad_limit(client) -> None:
    resp = await client.post("/api/search", json={"query": "圆", "limit": "many"})
    assert resp.status == 400
    resp = await client.post("/api/search", json={"query": "圆", "limit": 0})
    assert resp.status == 400


async def test_search_get_returns_code_items(client) -> None:
    resp = await client.get("/api/search", params={"q": "炸开块", "limit": "3"})
    assert resp.status == 200
    codes = (await resp.json())["codes"]
    assert 1 <= len(codes) <= 3
    assert all(set(c) >= CODES_ITEM_KEYS for c in codes)
    assert (await (await client.get("/api/search")).json()) == {"codes": []}
    assert (await client.get("/api/search", params={"q": "x", "limit": "-1"})).status == 400


async def test_codes_list_and_get(client) -> None:
    body = await (await client.get("/api/codes")).json()
    assert body["total"] == len(body["codes"]) >= 250
    assert all(set(c) >= CODES_ITEM_KEYS for c in body["codes"])
    categories = {c["category"] for c in body["codes"]}
    assert {"basic_command", "cad_extension"} <= categories
    first = body["codes"][0]
    detail = await (await client.get(f"/api/codes/{first['id']}")).json()
    assert detail["code"]["command"] == first["command"]
    page = await (await client.get("/api/codes", params={"offset": "2", "limit": "3"})).json()
    assert [c["id"] for c in page["codes"]] == [c["id"] for c in body["codes"][2:5]]
    assert page["total"] == body["total"]


async def test_code_not_found_and_non_integer_id(client) -> None:
    resp = await client.get("/api/codes/1")
    assert resp.status == 404
    assert (await resp.json())["error"] == "code 1 not found"
    for bad in ("abc", "..%2F..%2Fetc", "1.5"):
        assert (await client.get(f"/api/codes/{bad}")).status == 404


async def test_ids_are_stable_across_reload(client) -> None:
    before = await (await client.get("/api/codes")).json()
    resp = await client.post("/api/rebuild_embeddings")
    assert resp.status == 200
    body = await resp.json()
    assert body["success"] is True and body["message"]
    after = await (await client.get("/api/codes")).json()
    assert [c["id"] for c in after["codes"]] == [c["id"] for c in before["codes"]]


@pytest.mark.parametrize("path", ["/health", "/api/health"])
async def test_health(client, path) -> None:
    body = await (await client.get(path)).json()
    assert body["status"] == "healthy"
    assert body["service"] == "cadchat"
    assert body["timestamp"]
    assert body["library"]["commands"] >= 250
    assert body["library"]["state"] == "ok"
    assert all("/" not in f["file"] for f in body["library"]["files"])


async def test_stats_shape(client) -> None:
    body = await (await client.get("/api/stats")).json()
    keys = {
        "total_codes",
        "total_usage",
        "total_commands",
        "rag_enabled",
        "rag_provider",
        "embedding_model",
        "file_watcher_enabled",
        "engine",
        "model",
        "llm_available",
    }
    assert keys <= set(body)
    assert body["total_commands"] >= 250
    assert body["file_watcher_enabled"] is True
    assert body["llm_available"] is False


async def test_models_shape(client) -> None:
    body = await (await client.get("/api/models")).json()
    assert isinstance(body["models"], list) and body["models"]


async def test_request_id_echoed_or_generated(client) -> None:
    resp = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    resp = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(resp.headers["X-Request-ID"]) == 32


async def test_unexpected_error_is_500_json_without_traceback(client, monkeypatch) -> None:
    from cadchat import answers

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(answers, "query_answer", boom)
    resp = await client.post("/api/query", json={"requirement": "画圆"})
    assert resp.status == 500
    text = await resp.text()
    assert "secret internals" not in text and "Traceback" not in text
    assert (await resp.json())["error"] == "internal server error"


async def test_metrics_label_by_route_template(client) -> None:
    await client.get("/api/codes/123456")
    await client.get("/no/such/path/123")
    text = await (await client.get("/metrics")).text()
    assert 'route="/api/codes/{id}"' in text
    assert "/api/codes/123456" not in text
    assert 'route="unmatched"' in text and "/no/such/path" not in text
    assert "cadchat_library_commands" in text


async def test_query_answers_are_cached_until_the_catalog_changes(client) -> None:
    from cadchat.keys import CATALOG, QUERY_CACHE
    from cadchat.library.model import Command

    cache = client.app[QUERY_CACHE]
    first = await (await client.post("/api/query", json={"requirement": "画楼梯踏步"})).json()
    again = await (await client.post("/api/query", json={"requirement": "画楼梯踏步"})).json()
    assert again == first and cache.hits == 1
    client.app[CATALOG].put_user_program(
        Command(name="STAIRS", description="画楼梯踏步：自动生成楼梯", type="user_program", id=3)
    )
    changed = await (await client.post("/api/query", json={"requirement": "画楼梯踏步"})).json()
    assert changed["result"]["code"]["command"] == "STAIRS"
    assert cache.hits == 1


def test_lru_evicts_least_recently_used() -> None:
    from cadchat.lru import LRU

    lru: LRU[str, int] = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert lru.get("b") is None and lru.get("a") == 1 and lru.get("c") == 3
    off: LRU[str, int] = LRU(0)
    off.put("a", 1)
    assert off.get("a") is None and len(off) == 0
