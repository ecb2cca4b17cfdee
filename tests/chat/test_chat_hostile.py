"""Chat under hostile or careless clients: input errors never reach the upstream or its breaker,
and a client that leaves before the first token frees everything at once."""

from __future__ import annotations

import asyncio

import aiohttp
from cadchat.app import create_app
from cadchat.keys import CHAT, METRICS
from sse import parse_sse

LONE_SURROGATE_CHAT = b'{"message": "\\u753b\\u4e00\\u4e2a\\ud83d", "stream": false}'


def metric(client, name: str, labels: dict[str, str] | None = None) -> float:
    return client.app[METRICS].registry.get_sample_value(name, labels or {}) or 0.0


async def test_lone_surrogates_are_400s_and_never_open_the_breaker(chat_client, fake):
    client = await chat_client(chat_breaker_failures=2, chat_retries=0)
    for _ in range(5):
        response = await client.post(
            "/api/chat", data=LONE_SURROGATE_CHAT, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        body = await response.json()
        assert body["success"] is False and "surrogate" in body["error"]
    assert fake.hits("generation") == 0
    service = client.app[CHAT]
    assert service.breaker.state == "closed"
    response = await client.post("/api/chat", json={"message": "画一个矩形"})
    answer = await response.json()
    assert answer["provider"] == "dashscope" and answer["degraded"] is False


async def test_streamed_chat_with_bad_input_is_400_before_any_event(chat_client, fake):
    client = await chat_client()
    response = await client.post("/api/chat", json={"message": "x", "stream": True, "history": "not a list"})
    assert response.status == 400
    assert response.content_type == "application/json"
    assert (await response.json())["success"] is False


async def test_client_leaving_before_the_first_token_frees_everything_at_once(
    served_app, chat_settings, fake
):
    # A server started as in production: aiohttp does not cancel the handler when the client
    # leaves, so the stream must notice by itself.
    app = create_app(chat_settings(chat_first_token_timeout=20.0, chat_breaker_failures=1))
    base = await served_app(app)
    service = app[CHAT]
    fake.fault("hang_before_first")
    async with aiohttp.ClientSession() as session:
        response = await session.post(base + "/api/chat", json={"message": "画一个矩形", "stream": True})
        assert response.status == 200
        for _ in range(200):
            if service.slots.in_use == 1 and fake.streams_started:
                break
            await asyncio.sleep(0.01)
        assert service.slots.in_use == 1
        response.close()  # gone before any token
        for _ in range(100):  # well under a second, not the 20 s first-token timeout
            if service.slots.in_use == 0 and fake.streams_aborted:
                break
            await asyncio.sleep(0.01)
        assert service.slots.in_use == 0
        assert fake.streams_aborted == 1
        registry = app[METRICS].registry
        assert registry.get_sample_value("cadchat_chat_client_disconnects_total") == 1
        labels = {"provider": "dashscope", "mode": "lisp", "stream": "true", "outcome": "disconnected"}
        assert registry.get_sample_value("cadchat_chat_requests_total", labels) == 1
        assert service.breaker.state == "closed"  # the client's leaving is not the upstream's failure
        async with session.post(base + "/api/chat", json={"message": "画圆", "stream": True}) as again:
            events = parse_sse(await again.text())
        assert events[-1][1]["provider"] == "dashscope"


async def test_client_leaving_a_json_chat_frees_everything_at_once(served_app, chat_settings, fake, caplog):
    # Not streamed: the handler waits on one upstream call; a client that leaves must close it.
    app = create_app(chat_settings(chat_total_timeout=30.0, chat_breaker_failures=1, chat_retries=0))
    base = await served_app(app)
    host, port = base.rsplit("/", 1)[1].split(":")
    service = app[CHAT]
    fake.fault("hang_before_first")
    body = '{"message": "画一个矩形", "stream": false}'.encode()
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    await writer.drain()
    for _ in range(300):
        if service.slots.in_use == 1 and fake.calls_hanging == 1:
            break
        await asyncio.sleep(0.01)
    assert service.slots.in_use == 1 and fake.calls_hanging == 1
    writer.close()  # gone while the upstream is still thinking
    for _ in range(100):  # well under a second, not the 30 s upstream timeout
        if service.slots.in_use == 0 and fake.calls_aborted:
            break
        await asyncio.sleep(0.01)
    assert service.slots.in_use == 0
    assert fake.calls_aborted == 1 and fake.calls_hanging == 0  # the upstream call was closed
    registry = app[METRICS].registry
    assert registry.get_sample_value("cadchat_chat_client_disconnects_total") == 1
    labels = {"provider": "dashscope", "mode": "lisp", "stream": "false", "outcome": "disconnected"}
    assert registry.get_sample_value("cadchat_chat_requests_total", labels) == 1
    for _ in range(100):
        if registry.get_sample_value(
            "cadchat_http_requests_total", {"route": "/api/chat", "method": "POST", "status": "499"}
        ):
            break
        await asyncio.sleep(0.01)
    assert (
        registry.get_sample_value(
            "cadchat_http_requests_total", {"route": "/api/chat", "method": "POST", "status": "499"}
        )
        == 1
    )
    assert service.breaker.state == "closed"  # one failure would open it: leaving is not one
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/api/chat", json={"message": "画圆"}) as again,
    ):
        answer = await again.json()
    assert answer["provider"] == "dashscope" and answer["degraded"] is False


async def test_a_failure_after_the_stream_started_ends_it_with_an_error_event(client, monkeypatch):
    from cadchat.chat.service import ChatService

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(ChatService, "_result", broken)
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    assert response.status == 200
    events = parse_sse(await response.text())
    assert events[0][0] == "delta"
    name, data = events[-1]
    assert name == "error" and data["kind"] == "internal" and data["message"]
    assert "boom" not in data["message"]


def test_a_request_that_cannot_be_encoded_is_not_an_upstream_failure():
    from cadchat.chat.providers import transport_error

    try:
        "\ud800".encode("utf-8")
    except UnicodeEncodeError as exc:
        error = transport_error(exc)
    assert error.kind == "bad_request" and not error.breaker_failure
