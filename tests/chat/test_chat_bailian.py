"""The bailian provider (a Bailian application via dashscope.AsyncClient.apps) against the fake."""

from __future__ import annotations

import asyncio

from fake_dashscope import API_KEY
from sse import parse_sse

APP_ID = "app-0123abcd"


async def bailian(chat_client, **overrides):
    return await chat_client(llm_provider="bailian", bailian_app_id=APP_ID, **overrides)


async def test_plain_app_completion(chat_client, fake):
    client = await bailian(chat_client)
    response = await client.post("/api/chat", json={"message": "画一个圆", "mode": "answer"})
    answer = await response.json()
    assert (answer["provider"], answer["model"], answer["degraded"]) == ("bailian", "qwen-plus", False)
    assert answer["lisp"]["command"] == "c:QCIRCLE"
    assert answer["usage"]["output_tokens"] == fake.tokens and answer["usage"]["input_tokens"] > 0
    sent = fake.requests[-1]
    assert sent["path"] == f"/api/v1/apps/{APP_ID}/completion"
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    prompt = sent["body"]["input"]["prompt"]
    assert "CIRCLE" in prompt and prompt.endswith(
        "用户需求：画一个圆"
    )  # the retrieved context rides in the prompt


async def test_streamed_app_completion(chat_client, fake):
    client = await bailian(chat_client)
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    events = parse_sse(await response.text())
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) == fake.tokens and events[-1][0] == "final"
    final = events[-1][1]
    assert final["provider"] == "bailian" and final["text"] == fake.reply
    assert final["usage"]["output_tokens"] == fake.tokens
    sent = fake.requests[-1]
    assert sent["headers"]["X-DashScope-SSE"] == "enable"
    assert sent["body"]["parameters"]["incremental_output"] is True


async def test_app_429_then_success_and_mid_stream_error(chat_client, fake):
    client = await bailian(chat_client)
    fake.fail(429)
    answer = await (await client.post("/api/chat", json={"message": "画一个圆"})).json()
    assert answer["provider"] == "bailian" and fake.hits("/apps/") == 2
    fake.fault("midstream_error")
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    events = parse_sse(await response.text())
    assert [name for name, _ in events][-2:] == ["error", "final"]
    assert events[-2][1]["code"] == "InternalError"


async def test_app_malformed_stream_and_401(chat_client, fake):
    client = await bailian(chat_client)
    fake.fault("malformed_sse")
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    events = parse_sse(await response.text())
    assert events[-2] == ("error", events[-2][1]) and events[-2][1]["kind"] == "malformed"
    fake.api_key = "sk-rotated"
    answer = await (await client.post("/api/chat", json={"message": "画一个圆", "cache": False})).json()
    assert answer["provider"] == "offline" and answer["error"]["kind"] == "auth"


async def test_app_stream_disconnect_closes_upstream(chat_client, fake):
    fake.token_delay, fake.tokens = 0.05, 60
    client = await bailian(chat_client)
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    await response.content.readuntil(b"\n\n")
    response.close()
    for _ in range(100):
        if fake.streams_aborted:
            break
        await asyncio.sleep(0.02)
    assert fake.streams_aborted == 1 and fake.streams_completed == 0
