"""Dense retrieval: text-embedding-v4 through dashscope.AsyncClient.embeddings against the fake,
an on-disk cache by content hash, fusion with the offline ranking, fallback on any error."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from cadchat.chat import dense
from cadchat.keys import CHAT, LIBRARY
from cadchat.library.model import Command
from cadchat.retrieval.index import Hit


@pytest.fixture
def dense_settings(small_library):
    return {
        "chat_dense_retrieval": True,
        "chat_embedding_dimension": 64,
        "library_paths": (small_library,),
        "bundled_libraries": False,
    }


async def ready(client):
    retriever = client.app[CHAT].retriever
    await asyncio.wait_for(retriever.ready.wait(), 10)
    return retriever


async def test_library_is_embedded_once_and_cached_on_disk(
    chat_client, fake, dense_settings, small_library, tmp_path
):
    client = await chat_client(**dense_settings)
    retriever = await ready(client)
    documents = [r for r in fake.requests if r["kind"] == "embedding"]
    assert len(documents) == math.ceil(5 / dense.BATCH)  # 5 commands, 10 a call
    body = documents[0]["body"]
    assert body["model"] == "text-embedding-v4" and body["parameters"]["dimension"] == 64
    assert body["parameters"]["text_type"] == "document"
    cache = json.loads(retriever.path.read_text())
    assert len(cache["vectors"]) == 5 and retriever.path.parent.name == "embeddings"
    stats = await (await client.get("/api/stats")).json()
    assert (stats["rag_provider"], stats["embedding_model"]) == ("dashscope+offline", "text-embedding-v4")

    answer = await (await client.post("/api/chat", json={"message": "剪掉多余的线"})).json()
    assert answer["references"][0]["command"] == "TRIM"
    queries = [
        r
        for r in fake.requests
        if r["kind"] == "embedding" and r["body"]["parameters"]["text_type"] == "query"
    ]
    assert len(queries) == 1

    # A library change re-embeds only the new line.
    small_library.write_text(small_library.read_text() + "OFFSET|偏移：按距离复制平行线 offset|O|||basic\n")
    await client.app[LIBRARY].reload()
    before = fake.hits("embedding")
    await client.post("/api/chat", json={"message": "偏移复制平行线", "cache": False})
    for _ in range(100):
        if retriever.synced_for == retriever._corpus_key():
            break
        await asyncio.sleep(0.02)
    new_documents = [
        r
        for r in fake.requests[before:]
        if r["kind"] == "embedding" and r["body"]["parameters"]["text_type"] == "document"
    ]
    assert [r["body"]["input"]["texts"] for r in new_documents] == [
        ["OFFSET (O): 偏移：按距离复制平行线 offset"]
    ]
    assert len(retriever.entries) == 6


async def test_a_restart_reads_the_cache_instead_of_embedding(chat_client, fake, dense_settings, tmp_path):
    first = await chat_client(**dense_settings)
    await ready(first)
    await first.close()
    calls = fake.hits("embedding")
    second = await chat_client(**dense_settings)
    await ready(second)
    assert fake.hits("embedding") == calls  # nothing re-embedded


async def test_embedding_errors_fall_back_to_the_offline_ranking(chat_client, fake, dense_settings):
    client = await chat_client(**dense_settings)
    await ready(client)
    fake.fail(500)  # the query's embedding call (made before the chat call) gets it
    answer = await (await client.post("/api/chat", json={"message": "画一个圆", "cache": False})).json()
    assert answer["references"][0]["command"] == "CIRCLE" and answer["provider"] == "dashscope"
    from cadchat.keys import METRICS

    assert client.app[METRICS].registry.get_sample_value("cadchat_chat_dense_fallbacks_total") == 1


async def test_dense_is_off_without_a_key_or_by_default(chat_client, dense_settings, tmp_path):
    client = await chat_client(**{**dense_settings, "dashscope_api_key": "", "llm_provider": "auto"})
    assert client.app[CHAT].retriever is None
    client = await chat_client(data_dir=tmp_path / "other")
    assert client.app[CHAT].retriever is None
    stats = await (await client.get("/api/stats")).json()
    assert (stats["rag_provider"], stats["embedding_model"]) == ("offline", None)


def test_fusion_keeps_offline_similarity_and_adds_dense_only_hits():
    a, b, c = (Command(n, n.lower(), id=i) for i, n in enumerate(("A", "B", "C")))
    fused = dense.fuse([Hit(a, 5.0, 0.9), Hit(b, 3.0, 0.5)], [(c, 0.8), (b, 0.7)], 3)
    assert [h.entry.name for h in fused] == ["B", "A", "C"]  # B is in both rankings
    assert [h.similarity for h in fused] == [0.5, 0.9, 0.8]
