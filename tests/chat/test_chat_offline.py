"""POST /api/chat with no key: the offline provider, JSON and SSE, and the status routes."""

from __future__ import annotations

from cadchat.chat.prompt import OFFLINE_MARK
from sse import parse_sse


async def test_offline_json_answer_is_built_from_retrieval(client):
    response = await client.post("/api/chat", json={"message": "把多余的线剪掉"})
    assert response.status == 200
    answer = await response.json()
    assert answer["provider"] == "offline" and answer["offline"] is True
    assert answer["degraded"] is False and answer["model"] is None
    assert answer["text"].startswith(OFFLINE_MARK)
    assert answer["references"][0]["command"] == "TRIM"
    assert set(answer["references"][0]) >= {"command", "description", "source", "similarity"}
    assert "TRIM" in answer["text"]
    assert answer["usage"] == {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    assert answer["request_id"] == response.headers["X-Request-ID"]
    assert answer["lisp"] is None  # no stored user code matched


async def test_offline_stream_sends_deltas_then_one_final_event(client):
    response = await client.post(
        "/api/chat", json={"message": "画一个圆"}, headers={"Accept": "text/event-stream"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(await response.text())
    names = [name for name, _ in events]
    assert names[-1] == "final" and set(names[:-1]) == {"delta"} and len(names) > 2
    final = events[-1][1]
    assert "".join(data["text"] for name, data in events[:-1]) == final["text"]
    assert final["provider"] == "offline" and final["references"][0]["command"] == "CIRCLE"


async def test_offline_answer_includes_a_matching_user_code(client):
    code = (
        "(defun c:DCIRC (/ p)\n  (setq p (getpoint))\n"
        '  (command "_.CIRCLE" p 10)\n  (command "_.CIRCLE" p 20)\n  (princ)\n)'
    )
    saved = await client.post(
        "/api/user_codes/save",
        json={"code": code, "command": "DCIRC", "description": "画同心圆 两个同心的圆"},
    )
    assert saved.status == 200, await saved.text()
    answer = await (await client.post("/api/chat", json={"message": "画同心圆"})).json()
    reference = next(r for r in answer["references"] if r["command"] == "DCIRC")
    assert reference["type"] == "user_program" and reference["has_code"] is True
    assert answer["lisp"]["command"] == "c:DCIRC" and answer["lisp"]["code"] == code


async def test_chat_rejects_bad_requests(client):
    for body in ({}, {"message": "  "}, {"message": "x", "mode": "sing"}, {"message": "x", "history": {}}):
        response = await client.post("/api/chat", json=body)
        assert response.status == 400
        assert (await response.json())["success"] is False
    response = await client.post("/api/chat", data=b"not json", headers={"Content-Type": "application/json"})
    assert response.status == 400


async def test_status_routes_report_offline_and_query_keeps_its_contract(client):
    stats = await (await client.get("/api/stats")).json()
    assert (stats["llm_provider"], stats["llm_available"], stats["model"]) == ("offline", False, None)
    models = await (await client.get("/api/models")).json()
    assert [m["id"] for m in models["models"]] == ["offline"]
    assert models["active"]["offline_reason"] == "no DASHSCOPE_API_KEY configured"
    query = await (await client.post("/api/query", json={"requirement": "画一个圆"})).json()
    assert query["result"]["llm_used"] is False
