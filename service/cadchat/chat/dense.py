"""Optional dense retrieval: `text-embedding-v4` vectors of the library, fused with the offline ranking.

Documents (library commands and user programs) are embedded in the background, ten texts a call,
and cached on disk by content hash (`<data dir>/embeddings/<model>-<dimension>.json`), so a restart
or a library reload embeds only what changed. A query is embedded once (LRU+TTL cached) and ranked
by cosine similarity; the result is fused with the offline ranking by reciprocal rank fusion. Any
error (no vectors yet, a failed or slow embedding call, the embedding breaker open) answers with
the offline ranking alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import time
from concurrent.futures import Executor
from typing import Any

import numpy as np

from cadchat.catalog import Catalog
from cadchat.chat.aio import within
from cadchat.chat.guards import CircuitBreaker, TTLCache
from cadchat.chat.metrics import ChatMetrics
from cadchat.chat.providers import transport_error
from cadchat.config import Settings
from cadchat.library.model import Command
from cadchat.retrieval.index import Hit

log = logging.getLogger(__name__)
BATCH = 10  # text-embedding-v4 takes at most 10 texts a call
RRF_K = 60
CANDIDATES = 30
QUERY_TIMEOUT = 2.0
SYNC_RETRY = 60.0


def document_text(command: Command) -> str:
    aliases = f" ({command.alias})" if command.aliases else ""
    return f"{command.name}{aliases}: {command.description}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _encode(vector: np.ndarray) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


def _normalise(vector: Any) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def fuse(offline: list[Hit[Command]], dense: list[tuple[Command, float]], limit: int) -> list[Hit[Command]]:
    """Reciprocal rank fusion of the two rankings. The similarity shown stays in 0..1: the offline
    one when the entry was found offline, else the cosine similarity."""
    scores: dict[Any, float] = {}
    entries: dict[Any, Command] = {}
    similarity: dict[Any, float] = {}
    for rank, hit in enumerate(offline):
        key = (hit.entry.type, hit.entry.id)
        scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
        entries[key], similarity[key] = hit.entry, hit.similarity
    for rank, (command, cosine) in enumerate(dense):
        key = (command.type, command.id)
        scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
        entries.setdefault(key, command)
        similarity.setdefault(key, round(max(0.0, min(1.0, cosine)), 4))
    ranked = sorted(scores, key=lambda k: (-scores[k], entries[k].key))
    return [Hit(entries[k], scores[k], similarity[k]) for k in ranked[:limit]]


class DenseRetriever:
    def __init__(
        self, settings: Settings, catalog: Catalog, client: Any, executor: Executor, metrics: ChatMetrics
    ) -> None:
        self.model = settings.chat_embedding_model
        self.dimension = settings.chat_embedding_dimension
        self.catalog = catalog
        self.client = client
        self.executor = executor
        self.metrics = metrics
        self.path = settings.data_dir / "embeddings" / f"{self.model}-{self.dimension}.json"
        self.vectors: dict[str, np.ndarray] = {}  # content hash -> unit vector (the disk cache)
        self.matrix: np.ndarray | None = None  # rows for `self.entries`
        self.entries: list[Command] = []
        self.synced_for: tuple[int, int] | None = None
        self.queries: TTLCache[np.ndarray] = TTLCache(1024, 3600.0)
        self.breaker = CircuitBreaker(3, 60.0)
        self.ready = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        self._retry_at = 0.0  # after a failed sync, wait before trying again (monotonic seconds)
        self.last_error: str | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.vectors = await loop.run_in_executor(self.executor, self._load)
        self._schedule()

    async def stop(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task

    def _load(self) -> dict[str, np.ndarray]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {key: _decode(value) for key, value in raw.get("vectors", {}).items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError) as exc:
            log.warning("embedding cache %s unreadable (%s): re-embedding", self.path.name, exc)
            return {}

    def _save(self, vectors: dict[str, np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "model": self.model,
            "dimension": self.dimension,
            "vectors": {k: _encode(v) for k, v in vectors.items()},
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)

    # --- document sync -------------------------------------------------------------------------

    def _corpus_key(self) -> tuple[int, int]:
        return (self.catalog.library.version, len(self.catalog.user_programs))

    def _schedule(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = asyncio.create_task(self._sync(), name="dense-sync")

    async def _sync(self) -> None:
        key = self._corpus_key()
        entries = [*self.catalog.library.commands, *self.catalog.user_programs.entries()]
        texts = {content_hash(document_text(c)): document_text(c) for c in entries}
        missing = [h for h in texts if h not in self.vectors]
        if missing:
            log.info("dense retrieval: embedding %d of %d documents", len(missing), len(texts))
        try:
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                vectors = await self._embed([texts[h] for h in batch], "document")
                self.vectors.update(zip(batch, vectors, strict=True))
                self.metrics.embeddings.labels("api").inc(len(batch))
            self.metrics.embeddings.labels("cache").inc(len(texts) - len(missing))
        except Exception as exc:
            self.last_error = str(transport_error(exc))
            self._retry_at = time.monotonic() + SYNC_RETRY
            log.warning(
                "dense retrieval: embedding documents failed (%s); offline ranking meanwhile", self.last_error
            )
            return
        finally:
            if missing:
                snapshot = dict(self.vectors)
                await asyncio.get_running_loop().run_in_executor(self.executor, self._save, snapshot)
        rows = [(c, self.vectors[content_hash(document_text(c))]) for c in entries]
        self.entries = [c for c, _ in rows]
        self.matrix = np.vstack([v for _, v in rows]) if rows else None
        self.synced_for = key
        self.ready.set()

    async def _embed(self, texts: list[str], kind: str) -> list[np.ndarray]:
        response = await self.client.embeddings.create(
            model=self.model, input=texts, dimension=self.dimension, text_type=kind
        )
        ordered = sorted(response.embeddings, key=lambda e: e.index)
        if len(ordered) != len(texts):
            raise ValueError(f"asked for {len(texts)} embeddings, got {len(ordered)}")
        return [_normalise(e.embedding) for e in ordered]

    # --- search --------------------------------------------------------------------------------

    async def _query_vector(self, text: str) -> np.ndarray | None:
        cached = self.queries.get(text)
        if cached is not None:
            return cached
        if not self.breaker.allow():
            return None
        try:
            (vector,) = await within(self._embed([text], "query"), QUERY_TIMEOUT)
        except Exception as exc:
            self.breaker.record_failure()
            self.last_error = str(transport_error(exc))
            return None
        self.breaker.record_success()
        self.queries.put(text, vector)
        return vector

    async def search(self, text: str, limit: int) -> list[Hit[Command]] | None:
        """The fused ranking, or None: the caller then uses the offline ranking."""
        if self._corpus_key() != self.synced_for:
            self._schedule()  # the library or user programs changed: embed what is new
        matrix, entries = self.matrix, self.entries
        if matrix is None or not entries:
            self.metrics.dense_fallbacks.inc()
            return None
        vector = await self._query_vector(text)
        if vector is None or vector.shape[0] != matrix.shape[1]:
            self.metrics.dense_fallbacks.inc()
            return None
        cosines = matrix @ vector
        top = np.argsort(-cosines)[:CANDIDATES]
        dense = [(entries[i], float(cosines[i])) for i in top]
        offline = self.catalog.search(text, CANDIDATES)
        return fuse(offline, dense, limit)
