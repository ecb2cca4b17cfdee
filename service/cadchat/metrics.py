"""Prometheus metrics, in a registry per app so tests and apps never share counters."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "cadchat_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cadchat_http_request_duration_seconds",
            "Time to produce a response, by route template.",
            ["route", "method"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.library_commands = Gauge(
            "cadchat_library_commands", "Commands in the live library.", registry=self.registry
        )
        self.user_programs = Gauge(
            "cadchat_user_programs", "Saved user programs in the retrieval index.", registry=self.registry
        )
        self.library_reloads = Counter(
            "cadchat_library_reloads", "Library reloads, by outcome.", ["outcome"], registry=self.registry
        )
        self.library_file_errors = Gauge(
            "cadchat_library_files_rejected",
            "Library files whose latest version was rejected (last good version served).",
            registry=self.registry,
        )
        self.queries = Counter(
            "cadchat_queries",
            "Retrieval queries, by whether a command matched.",
            ["matched"],
            registry=self.registry,
        )
        self.query_outcomes = {True: self.queries.labels("true"), False: self.queries.labels("false")}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one request. Label children are cached: `labels()` takes a lock and
        builds a key on every call, which costs more than the observation itself."""
        children = self._children.get((route, method, status))
        if children is None:
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
            self._children[(route, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)
