"""/metrics: every series operators alert on, fed by the real code paths."""

from __future__ import annotations

import platform

import pytest
from cadchat import __version__
from cadchat.app import create_app
from cadchat.chat.service import parse_request
from cadchat.errors import InvalidInput, NotFound
from cadchat.keys import CHAT, METRICS
from cadchat.metrics import store_outcome
from prometheus_client.parser import text_string_to_metric_families

CODE = '(defun c:HELLO () (princ "hi") (princ))'


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_exposes_build_info_process_metrics_and_every_named_series(client) -> None:
    samples = await scrape(client)
    names = {name for name, _ in samples}
    for name in (
        "cadchat_http_requests_in_flight",
        "cadchat_retrieval_duration_seconds_count",
        "cadchat_store_operations_total",
        "cadchat_library_last_reload_timestamp_seconds",
        "cadchat_library_reload_duration_seconds_count",
        "cadchat_build_info",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    ):
        assert name in names, name
    info = value(
        samples,
        "cadchat_build_info",
        version=__version__,
        python=platform.python_version(),
        provider="offline",
    )
    assert info == 1
    # the scrape itself is in flight while the page is rendered
    assert value(samples, "cadchat_http_requests_in_flight") == 1
    assert value(samples, "cadchat_store_operations_total", operation="save", outcome="error") == 0


async def test_retrieval_is_timed_by_kind(client) -> None:
    await client.post("/api/query", json={"requirement": "画一个圆"})
    await client.post("/api/query", json={"requirement": "画一个圆"})  # answered from the cache
    await client.get("/api/search", params={"q": "修剪"})
    await client.post("/api/search", json={"query": "修剪"})
    await client.post("/api/chat", json={"message": "画一个圆"})
    samples = await scrape(client)
    count = "cadchat_retrieval_duration_seconds_count"
    assert value(samples, count, kind="query") == 1
    assert value(samples, count, kind="search") == 2
    assert value(samples, count, kind="chat") == 1


async def test_store_operations_count_ok_and_rejected(client) -> None:
    saved = await client.post(
        "/api/user_codes/save", json={"code": CODE, "command": "HELLO", "description": "d"}
    )
    code_id = (await saved.json())["code_id"]
    assert (await client.post("/api/user_codes/save", json={"code": "", "command": "X"})).status == 400
    assert (await client.patch(f"/v1/codes/{code_id}", json={"description": "new"})).status == 200
    assert (await client.post("/api/feedback", json={"code_id": code_id, "success": True})).status == 200
    assert (await client.delete(f"/api/user_codes/delete/{code_id}")).status == 200
    assert (await client.delete(f"/v1/codes/{code_id}")).status == 404  # refused before the store
    samples = await scrape(client)
    total = "cadchat_store_operations_total"
    assert value(samples, total, operation="save", outcome="ok") == 1
    assert value(samples, total, operation="save", outcome="rejected") == 1
    assert value(samples, total, operation="update", outcome="ok") == 1
    assert value(samples, total, operation="feedback", outcome="ok") == 1
    assert value(samples, total, operation="delete", outcome="ok") == 1


def test_store_outcome_tells_refusals_from_failures() -> None:
    assert store_outcome(None) == "ok"
    assert store_outcome(OSError(28, "No space left on device")) == "error"
    assert store_outcome(InvalidInput("bad")) == "rejected"
    assert store_outcome(NotFound("no such code")) == "rejected"
    assert store_outcome(RuntimeError("bug")) == "error"


async def test_rebuild_embeddings_updates_the_library_gauges(client) -> None:
    before = await scrape(client)
    response = await client.post("/api/rebuild_embeddings")
    assert response.status == 200
    after = await scrape(client)
    stamp = "cadchat_library_last_reload_timestamp_seconds"
    assert value(after, stamp) > value(before, stamp) > 0
    durations = "cadchat_library_reload_duration_seconds_count"
    assert value(after, durations) == value(before, durations) + 1
    reloads = "cadchat_library_reloads_total"
    assert value(after, reloads, outcome="ok") == value(before, reloads, outcome="ok") + 1
    assert value(after, "cadchat_library_commands") == (await response.json())["commands"]


async def test_requests_are_labelled_by_route_template(client) -> None:
    await client.get("/v1/codes/12345")
    await client.get("/no/such/path")
    samples = await scrape(client)
    requests = "cadchat_http_requests_total"
    assert value(samples, requests, route="/v1/codes/{id}", method="GET", status="404") == 1
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1


@pytest.mark.parametrize("read_events", [1, 0])
async def test_offline_streams_are_counted_and_their_disconnects_too(
    aiohttp_client, make_settings, read_events
):
    client = await aiohttp_client(create_app(make_settings(watch=False)))
    service = client.server.app[CHAT]
    plan = await service.plan(parse_request({"message": "画一个圆", "stream": True}))
    events = service.events(plan, "req-1")
    for _ in range(read_events):
        await events.__anext__()
    await events.aclose()  # the client left before the final event
    complete = await service.plan(parse_request({"message": "画一个圆", "stream": True}))
    assert [name async for name, _ in service.events(complete, "req-2")][-1] == "final"
    samples = await scrape(client)
    chats = "cadchat_chat_requests_total"
    labels = {"provider": "offline", "mode": "lisp", "stream": "true"}
    assert value(samples, chats, outcome="offline", **labels) == 1
    if read_events:  # a generator closed before it started never ran: nothing to count
        assert value(samples, chats, outcome="disconnected", **labels) == 1
        assert value(samples, "cadchat_chat_client_disconnects_total") == 1


async def test_request_metrics_can_be_turned_off(aiohttp_client, make_settings) -> None:
    client = await aiohttp_client(create_app(make_settings(request_metrics=False, watch=False)))
    await client.post("/api/query", json={"requirement": "画一个圆"})
    samples = await scrape(client)
    assert not any(name == "cadchat_http_requests_total" for name, _ in samples)
    assert client.server.app[METRICS].registry is not None
