"""Chat's Prometheus metrics, registered in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


class ChatMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "cadchat_chat_requests",
            "Chat answers by provider that answered, mode, stream and outcome "
            "(ok, degraded, cached, offline, rate_limited, busy).",
            ["provider", "mode", "stream", "outcome"],
            registry=registry,
        )
        self.upstream = Counter(
            "cadchat_chat_upstream_calls",
            "Upstream (DashScope/Bailian) calls by provider and result (ok or the failure kind).",
            ["provider", "result"],
            registry=registry,
        )
        self.retries = Counter(
            "cadchat_chat_upstream_retries",
            "Upstream retries after 429/5xx.",
            ["provider"],
            registry=registry,
        )
        self.first_token = Histogram(
            "cadchat_chat_first_token_seconds",
            "Time from the upstream call to its first streamed text.",
            ["provider"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
            registry=registry,
        )
        self.upstream_seconds = Histogram(
            "cadchat_chat_upstream_seconds",
            "Upstream call duration, first byte sent to last byte received.",
            ["provider"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
            registry=registry,
        )
        self.tokens = Counter(
            "cadchat_chat_tokens",
            "Tokens spent upstream, by provider and kind.",
            ["provider", "kind"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "cadchat_chat_upstream_in_flight", "Upstream calls in flight.", registry=registry
        )
        self.capacity = Gauge(
            "cadchat_chat_upstream_capacity", "Cap on concurrent upstream calls.", registry=registry
        )
        self.breaker = Gauge(
            "cadchat_chat_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", registry=registry
        )
        self.budget_remaining = Gauge(
            "cadchat_chat_budget_remaining_tokens",
            "Tokens left in today's budget (-1: unlimited).",
            registry=registry,
        )
        self.cache = Counter(
            "cadchat_chat_cache", "Answer cache lookups by result.", ["result"], registry=registry
        )
        self.disconnects = Counter(
            "cadchat_chat_client_disconnects",
            "Streamed chats whose client left before the end.",
            registry=registry,
        )
        self.lisp_checked = Counter(
            "cadchat_chat_lisp_checked",
            "Answers whose AutoLISP code the checker read.",
            registry=registry,
        )
        self.lisp_errors = Counter(
            "cadchat_chat_lisp_errors",
            "Answers whose AutoLISP code had errors (before any repair).",
            registry=registry,
        )
        self.lisp_repairs = Counter(
            "cadchat_chat_lisp_repairs",
            "Repair rounds asked of the model for code with errors, by result: tried (every round), "
            "succeeded (the repaired code has no errors).",
            ["result"],
            registry=registry,
        )
        self.embeddings = Counter(
            "cadchat_chat_embeddings",
            "Texts embedded for dense retrieval, by source (api or cache).",
            ["source"],
            registry=registry,
        )
        self.dense_fallbacks = Counter(
            "cadchat_chat_dense_fallbacks",
            "Dense retrieval errors answered with the offline ranking.",
            registry=registry,
        )
