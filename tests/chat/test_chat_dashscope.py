"""The dashscope provider through the real SDK (dashscope.AioGeneration) against the fake gateway:
plain and streamed answers, and every upstream failure mode."""

from __future__ import annotations

import asyncio
import logging

import pytest
from cadchat.keys import CHAT
from fake_dashscope import API_KEY
from sse import parse_sse


async def chat(client, **body):
    response = await client.post("/api/chat", json={"message": "画一个圆", **body})
    assert response.status == 200, await response.text()
    return await response.json()


async def stream(client, **body):
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True, **body})
    assert response.status == 200, await response.text()
    return parse_sse(await response.text())


def metric(client, name: str, labels: dict[str, str] | None = None) -> float:
    from cadchat.keys import METRICS

    value = client.app[METRICS].registry.get_sample_value(name, labels or {})
    return value or 0.0


async def test_plain_answer_through_the_sdk(chat_client, fake):
    client = await chat_client()
    answer = await chat(client, mode="lisp")
    assert (answer["provider"], answer["model"], answer["offline"], answer["degraded"]) == (
        "dashscope",
        "qwen-plus",
        False,
        False,
    )
    assert answer["lisp"]["command"] == "c:QCIRCLE" and answer["lisp"]["balanced"]
    assert (
        answer["usage"]["total_tokens"]
        == answer["usage"]["input_tokens"] + answer["usage"]["output_tokens"]
        > 0
    )
    assert answer["upstream_request_id"]
    assert answer["references"][0]["command"] == "CIRCLE"
    sent = fake.requests[-1]
    assert sent["path"].endswith("/services/aigc/text-generation/generation")
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert "X-DashScope-SSE" not in sent["headers"]
    assert sent["body"]["model"] == "qwen-plus"
    assert sent["body"]["parameters"]["result_format"] == "message"
    messages = sent["body"]["input"]["messages"]
    assert messages[0]["role"] == "system" and "CIRCLE" in messages[-1]["content"]


async def test_streamed_answer_through_the_sdk(chat_client, fake):
    client = await chat_client()
    events = await stream(
        client, history=[{"role": "user", "content": "你好"}, {"role": "assistant", "content": "好"}]
    )
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) == fake.tokens
    name, final = events[-1]
    assert name == "final" and final["text"] == "".join(deltas) == fake.reply
    assert final["lisp"]["command"] == "c:QCIRCLE" and final["usage"]["output_tokens"] == fake.tokens
    sent = fake.requests[-1]
    assert sent["headers"]["X-DashScope-SSE"] == "enable"
    assert sent["body"]["parameters"]["incremental_output"] is True
    assert [m["role"] for m in sent["body"]["input"]["messages"]] == ["system", "user", "assistant", "user"]
    assert fake.streams_completed == 1


async def test_401_answers_offline_without_retrying(chat_client, fake, caplog):
    fake.api_key = "sk-another-key"
    client = await chat_client()
    with caplog.at_level(logging.DEBUG):
        answer = await chat(client)
        events = await stream(client)
    assert answer["provider"] == "offline" and answer["degraded"] is True
    assert answer["degraded_reason"] == "upstream auth" and answer["error"]["status"] == 401
    assert events[-1][1]["degraded"] is True and events[-1][1]["error"]["code"] == "InvalidApiKey"
    assert fake.hits("generation") == 2  # one each, no retries on 401
    assert API_KEY not in caplog.text and API_KEY not in str(answer) and API_KEY not in str(events)


async def test_429_then_success_is_retried(chat_client, fake):
    client = await chat_client()
    fake.fail(429, retry_after="0")
    answer = await chat(client)
    assert answer["provider"] == "dashscope" and not answer["degraded"]
    fake.fail(429)
    events = await stream(client)  # before the first byte: retried too
    assert events[-1][1]["provider"] == "dashscope" and not events[-1][1]["degraded"]
    assert fake.hits("generation") == 4
    assert metric(client, "cadchat_chat_upstream_retries_total", {"provider": "dashscope"}) == 2


async def test_500_retries_then_degrades_to_offline(chat_client, fake):
    client = await chat_client(chat_retries=2)
    fake.fail(500, times=3)
    answer = await chat(client)
    assert fake.hits("generation") == 3
    assert answer["provider"] == "offline" and answer["degraded_reason"] == "upstream server"
    assert answer["error"]["code"] == "InternalError"
    assert "CIRCLE" in answer["text"]


async def test_400_is_not_retried(chat_client, fake):
    client = await chat_client()
    fake.fail(400)
    answer = await chat(client)
    assert fake.hits("generation") == 1 and answer["degraded_reason"] == "upstream bad_request"
    assert client.app[CHAT].breaker.state == "closed"


async def test_total_timeout_of_a_plain_call(chat_client, fake):
    client = await chat_client(chat_total_timeout=0.3)
    fake.latency = 2.0
    answer = await chat(client)
    assert answer["provider"] == "offline" and answer["error"]["kind"] == "timeout"
    assert answer["elapsed_ms"] < 1500


async def test_first_token_timeout_answers_offline_and_drops_the_upstream_stream(chat_client, fake):
    client = await chat_client(chat_first_token_timeout=0.3)
    fake.fault("hang_before_first")
    events = await stream(client)
    final = events[-1][1]
    assert final["provider"] == "offline" and final["degraded_reason"] == "upstream timeout"
    assert all(
        name in ("delta", "final") for name, _ in events
    )  # nothing had been sent: a clean offline answer
    for _ in range(50):
        if fake.streams_aborted:
            break
        await asyncio.sleep(0.02)
    assert fake.streams_aborted == 1


async def test_timeout_during_the_stream_ends_it_with_an_error_event(chat_client, fake):
    client = await chat_client(chat_total_timeout=0.5)
    fake.fault("hang_mid_stream")
    events = await stream(client)
    names = [name for name, _ in events]
    assert names[-2:] == ["error", "final"] and names.count("delta") == fake.tokens // 2
    final = events[-1][1]
    assert final["provider"] == "dashscope" and final["degraded"] is True
    assert final["error"]["kind"] == "timeout" and final["finish_reason"] == "error"
    assert final["text"] == "".join(d["text"] for n, d in events if n == "delta")


async def test_mid_stream_error(chat_client, fake):
    client = await chat_client()
    fake.fault("midstream_error")
    events = await stream(client)
    assert [name for name, _ in events][-2:] == ["error", "final"]
    error = events[-2][1]
    assert error["kind"] == "server" and error["code"] == "InternalError"
    assert fake.hits("generation") == 1  # text had been sent: never retried
    assert events[-1][1]["degraded_reason"] == "upstream server mid-stream"


async def test_malformed_sse(chat_client, fake):
    client = await chat_client()
    fake.fault("malformed_sse")
    events = await stream(client)
    assert [name for name, _ in events][-2:] == ["error", "final"]
    assert events[-2][1]["kind"] == "malformed"


async def test_client_disconnect_cancels_the_upstream_call(chat_client, fake):
    fake.token_delay, fake.tokens = 0.05, 60
    client = await chat_client()
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    assert response.status == 200
    first = await response.content.readuntil(b"\n\n")
    assert first.startswith(b"event: delta")
    response.close()  # the user closed the window
    for _ in range(100):
        if fake.streams_aborted:
            break
        await asyncio.sleep(0.02)
    assert fake.streams_aborted == 1 and fake.streams_completed == 0
    for _ in range(50):
        if metric(client, "cadchat_chat_client_disconnects_total"):
            break
        await asyncio.sleep(0.02)
    assert metric(client, "cadchat_chat_client_disconnects_total") == 1
    assert client.app[CHAT].slots.in_use == 0


async def test_breaker_opens_answers_offline_then_closes(chat_client, fake):
    client = await chat_client(chat_retries=0, chat_breaker_failures=2, chat_breaker_cooldown=0.3)
    service = client.app[CHAT]
    fake.fail(503, times=2)
    for _ in range(2):
        assert (await chat(client, cache=False))["degraded_reason"] == "upstream server"
    assert service.breaker.state == "open"
    stats = await (await client.get("/api/stats")).json()
    assert stats["llm_available"] is False
    answer = await chat(client, cache=False)
    assert answer["degraded_reason"] == "upstream failing (circuit open)" and fake.hits("generation") == 2
    assert metric(client, "cadchat_chat_breaker_state") == 2
    await asyncio.sleep(0.35)
    answer = await chat(client, cache=False)  # the half-open probe succeeds
    assert answer["provider"] == "dashscope" and service.breaker.state == "closed"
    assert metric(client, "cadchat_chat_breaker_state") == 0
    assert (await (await client.get("/api/stats")).json())["llm_available"] is True


async def test_identical_requests_are_answered_from_the_cache(chat_client, fake):
    client = await chat_client()
    first = await chat(client)
    second = await chat(client)
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["text"] == first["text"] and second["request_id"] != first["request_id"]
    assert fake.hits("generation") == 1
    await chat(client, cache=False)
    await chat(client, mode="answer")  # a different prompt
    await stream(client)  # streams are never cached
    assert fake.hits("generation") == 4
    assert metric(client, "cadchat_chat_cache_total", {"result": "hit"}) == 1


async def test_rate_limit_per_client(chat_client, fake):
    client = await chat_client(chat_rate_limit=6.0, chat_rate_burst=2)
    for _ in range(2):
        await chat(client, cache=False)
    response = await client.post("/api/chat", json={"message": "画一个圆"})
    assert response.status == 429
    body = await response.json()
    assert body["success"] is False and int(response.headers["Retry-After"]) >= 1
    # Behind the local Nginx the client is X-Forwarded-For's last hop: another user has a fresh bucket.
    other = await client.post(
        "/api/chat", json={"message": "画一个圆"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert other.status == 200
    assert fake.hits("generation") == 3


async def test_upstream_cap_answers_503_never_queues(chat_client, fake):
    fake.token_delay, fake.tokens = 0.05, 20
    client = await chat_client(chat_max_concurrency=1)
    slow = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    await slow.content.readuntil(b"\n\n")
    busy = await client.post("/api/chat", json={"message": "画一个圆", "cache": False})
    assert busy.status == 503 and busy.headers["Retry-After"] == "1"
    assert (await busy.json())["success"] is False
    await slow.text()
    assert (await chat(client, cache=False))["provider"] == "dashscope"


async def test_daily_budget_spent_switches_to_offline(chat_client, fake, tmp_path):
    client = await chat_client(chat_daily_token_budget=100)
    first = await chat(client)
    assert first["provider"] == "dashscope" and first["usage"]["total_tokens"] > 100
    second = await chat(client, cache=False)
    assert second["provider"] == "offline" and second["degraded_reason"] == "daily token budget spent"
    events = await stream(client)
    assert events[-1][1]["degraded_reason"] == "daily token budget spent"
    assert fake.hits("generation") == 1
    stats = await (await client.get("/api/stats")).json()
    assert stats["llm_available"] is False
    assert metric(client, "cadchat_chat_budget_remaining_tokens") == 0


async def test_stats_and_models_report_the_provider(chat_client):
    client = await chat_client()
    stats = await (await client.get("/api/stats")).json()
    assert (stats["llm_provider"], stats["model"], stats["llm_available"]) == ("dashscope", "qwen-plus", True)
    models = await (await client.get("/api/models")).json()
    assert [m["id"] for m in models["models"]] == ["offline", "qwen-plus"]
    assert models["active"]["reachable"] is None  # no call yet
    await chat(client)
    models = await (await client.get("/api/models")).json()
    assert models["active"]["reachable"] is True
    query = await (await client.post("/api/query", json={"requirement": "画一个圆"})).json()
    assert query["result"]["llm_used"] is False  # /api/query never calls the LLM


async def test_the_key_never_leaks(chat_client, fake, caplog):
    client = await chat_client()
    fake.fail(500, times=10)
    with caplog.at_level(logging.DEBUG):
        answer = await chat(client)
        metrics = await (await client.get("/metrics")).text()
        stats = await (await client.get("/api/models")).text()
    for text in (caplog.text, str(answer), metrics, stats, repr(client.app[CHAT].remote)):
        assert API_KEY not in text
    assert "upstream dashscope failed: server" in caplog.text


@pytest.mark.parametrize("provider", ["dashscope", "bailian", "auto"])
async def test_a_provider_without_a_key_runs_offline(chat_client, provider):
    client = await chat_client(llm_provider=provider, dashscope_api_key="")
    answer = await chat(client)
    assert answer["provider"] == "offline" and answer["degraded"] is False


async def test_connect_timeout_bounds_the_connection_phase(fake):
    """The SDK replaces the session's ClientTimeout per request, so the connect bound lives in the
    connector: here the pool's only connection is held by a hanging stream, and the next call's
    connection phase gives up after connect_timeout."""
    import aiohttp
    from cadchat.chat.providers import ConnectTimeoutConnector, transport_error

    connector = ConnectTimeoutConnector(connect_timeout=0.2, limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        fake.fault("hang_before_first")
        url = fake.url + "/services/aigc/text-generation/generation"
        body = {"model": "qwen-plus", "input": {"prompt": "hi"}}
        headers = {"Authorization": f"Bearer {API_KEY}", "X-DashScope-SSE": "enable"}
        held = await session.post(url, json=body, headers=headers)
        started = asyncio.get_running_loop().time()
        with pytest.raises(aiohttp.ConnectionTimeoutError) as info:
            await session.post(url, json=body, headers=headers)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert transport_error(info.value).kind == "timeout"
        held.close()


async def test_a_matching_user_code_is_sent_as_context(chat_client, fake):
    client = await chat_client()
    code = (
        "(defun c:DCIRC (/ p)\n  (setq p (getpoint))\n"
        '  (command "_.CIRCLE" p 10 "_.CIRCLE" p 20)\n  (princ)\n)'
    )
    saved = await client.post(
        "/api/user_codes/save",
        json={"code": code, "command": "DCIRC", "description": "画同心圆 两个同心的圆"},
    )
    assert saved.status == 200
    answer = await chat(client, message="画同心圆")
    assert next(r for r in answer["references"] if r["command"] == "DCIRC")["has_code"] is True
    prompt = fake.requests[-1]["body"]["input"]["messages"][-1]["content"]
    assert "DCIRC" in prompt and '(command "_.CIRCLE" p 10 "_.CIRCLE" p 20)' in prompt
