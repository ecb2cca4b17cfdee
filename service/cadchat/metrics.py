"""Prometheus metrics, in a registry per app so tests and apps never share counters."""

from __future__ import annotations

import os
import platform
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from cadchat.errors import CadchatError

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# prometheus-client's switch for the `_created` series (`PROMETHEUS_DISABLE_CREATED_SERIES`).
_CREATED_SERIES = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in {
    "true",
    "1",
    "t",
}
RETRIEVAL_KINDS = ("query", "search", "chat")
STORE_OPERATIONS = ("save", "update", "delete", "feedback")
STORE_OUTCOMES = ("ok", "rejected", "error")


def store_outcome(error: BaseException | None) -> str:
    """ok; rejected for a refused request (a domain error such as invalid input or an unknown
    id, or a 4xx); error for anything else, above all OSError from the disk."""
    if error is None:
        return "ok"
    if isinstance(error, CadchatError):  # a domain refusal: invalid, too large, not found, full
        return "rejected"
    if isinstance(error, OSError):
        return "error"
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return "rejected" if 400 <= status < 500 else "error"
    return "rejected" if isinstance(error, (ValueError, LookupError)) else "error"


def _go_float(value: float) -> str:
    """A bucket bound as Prometheus writes it (`0.5`, `1.0`, `+Inf`)."""
    return "+Inf" if value == float("inf") else repr(float(value))


class RequestSeries:
    """`cadchat_http_requests_total{route,method,status}` and
    `cadchat_http_request_duration_seconds{route,method}`, counted by the event loop.

    A request costs a dict lookup, two additions and a bisection on plain Python numbers
    (`observe`); the Prometheus samples are made from them when `/metrics` is scraped
    (`collect`, a prometheus-client collector, so the registry's exposition writes them exactly
    as its own Counter and Histogram would). prometheus-client's metric objects take a lock and
    make several calls for each update, which cost more than the request's own bookkeeping.
    Only the event loop's thread may call `observe`.
    """

    REQUESTS = "cadchat_http_requests"
    REQUESTS_HELP = "HTTP requests by route template, method and status."
    LATENCY = "cadchat_http_request_duration_seconds"
    LATENCY_HELP = (
        "Time from a request's arrival to its answer sent (a stream: to its end), by route template."
    )

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = (*map(float, buckets), float("inf"))
        # (route, method, status) -> [count, created, histogram of (route, method)]
        self._requests: dict[tuple[str, str, int], list[Any]] = {}
        # (route, method) -> [count per bucket..., sum of seconds, created]
        self._latency: dict[tuple[str, str], list[float]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count and time one request (`seconds` from its arrival to its answer)."""
        series = self._requests.get((route, method, status))
        if series is None:
            series = self._new_series(route, method, status)
        series[0] += 1
        histogram = series[2]
        histogram[bisect_left(self.bounds, seconds)] += 1
        histogram[-2] += seconds

    def _new_series(self, route: str, method: str, status: int) -> list[Any]:
        histogram = self._latency.get((route, method))
        if histogram is None:
            histogram = [0] * len(self.bounds) + [0.0, time.time()]
            self._latency[(route, method)] = histogram
        series = [0, time.time(), histogram]
        self._requests[(route, method, status)] = series
        return series

    def describe(self) -> list[Metric]:
        return [
            CounterMetricFamily(self.REQUESTS, self.REQUESTS_HELP, labels=("route", "method", "status")),
            HistogramMetricFamily(self.LATENCY, self.LATENCY_HELP, labels=("route", "method")),
        ]

    def collect(self) -> Iterator[Metric]:
        requests, latency = self.describe()
        for (route, method, status), (count, created, _) in list(self._requests.items()):
            requests.add_metric(
                (route, method, str(status)), count, created=created if _CREATED_SERIES else None
            )
        yield requests
        bounds = [_go_float(b) for b in self.bounds]
        for (route, method), histogram in list(self._latency.items()):
            counts, total, created = histogram[:-2], histogram[-2], histogram[-1]
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric((route, method), buckets, total)
            if _CREATED_SERIES:
                created_sample = latency.samples[-1]._replace(name=self.LATENCY + "_created", value=created)
                latency.samples.append(created_sample)
        yield latency


class LoopCounter:
    """A labelled counter updated by the event loop in plain numbers, exposed through
    prometheus-client like its own Counter (`<name>_total`, `<name>_created`).

    `cell(*labels)` gives the series' mutable cell; `cell[0] += 1` counts. Only the event
    loop's thread may update cells."""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self._cells: dict[tuple[str, ...], list[Any]] = {}

    def cell(self, *labels: str) -> list[Any]:
        found = self._cells.get(labels)
        if found is None:
            found = self._cells[labels] = [0, time.time()]
        return found

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, (count, created) in list(self._cells.items()):
            family.add_metric(labels, count, created=created if _CREATED_SERIES else None)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http = RequestSeries()
        self.registry.register(self.http)
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
        self.queries = LoopCounter(
            "cadchat_queries", "Retrieval queries, by whether a command matched.", ("matched",)
        )
        self.registry.register(self.queries)
        # The counter cell of each outcome: `cell[0] += 1` counts a query.
        self.query_outcomes = {True: self.queries.cell("true"), False: self.queries.cell("false")}
        self.in_flight = Gauge(
            "cadchat_http_requests_in_flight",
            "HTTP requests being handled now (streams until their last event).",
            registry=self.registry,
        )
        # Counted by the event loop in a plain int (no lock a request), read at scrape time.
        self.requests_in_flight = 0
        self.in_flight.set_function(lambda: self.requests_in_flight)
        self.retrieval = Histogram(
            "cadchat_retrieval_duration_seconds",
            "Time to rank the catalog for one need, by kind (query, search, chat).",
            ["kind"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
            registry=self.registry,
        )
        self.retrieval_kinds = {kind: self.retrieval.labels(kind) for kind in RETRIEVAL_KINDS}
        self.store_operations = Counter(
            "cadchat_store_operations",
            "User-code store operations (save, update, delete, feedback) by outcome: ok, "
            "rejected (the request was refused: bad input, unknown id, store full) or error "
            "(the store failed, e.g. a disk write).",
            ["operation", "outcome"],
            registry=self.registry,
        )
        for operation in STORE_OPERATIONS:  # every series exists from the start, at 0
            for outcome in STORE_OUTCOMES:
                self.store_operations.labels(operation, outcome)
        self.library_last_reload = Gauge(
            "cadchat_library_last_reload_timestamp_seconds",
            "Unix time of the last library reload that swapped in a new snapshot.",
            registry=self.registry,
        )
        self.library_reload_seconds = Histogram(
            "cadchat_library_reload_duration_seconds",
            "Time to parse the library files and build the index, by reload.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.build_info = Gauge(
            "cadchat_build_info",
            "Always 1; the labels name the running version, Python and chat provider.",
            ["version", "python", "provider"],
            registry=self.registry,
        )

    def set_build_info(self, version: str, provider: str) -> None:
        self.build_info.clear()
        self.build_info.labels(version, platform.python_version(), provider).set(1)

    def observe_retrieval(self, kind: str, seconds: float) -> None:
        self.retrieval_kinds[kind].observe(seconds)

    def observe_reload(self, library: Any, seconds: float) -> None:
        """One finished library reload (watcher, start-up or /api/rebuild_embeddings)."""
        self.library_reloads.labels("ok" if library.healthy else "degraded").inc()
        self.library_commands.set(len(library.commands))
        self.library_file_errors.set(sum(1 for f in library.files if not f.ok))
        self.library_reload_seconds.observe(seconds)
        self.library_last_reload.set(time.time())

    def observe_store(self, operation: str, error: BaseException | None) -> None:
        self.store_operations.labels(operation, store_outcome(error)).inc()


def route_template(request: web.BaseRequest) -> str:
    """The route a request matched, as its template (`/v1/codes/{id}`), or `unmatched`: metric
    labels and log fields never carry a raw path."""
    match_info = getattr(request, "match_info", None)
    if match_info is None:
        return "unmatched"
    route = match_info.route
    try:
        return _TEMPLATES[route]
    except KeyError:
        pass
    resource = route.resource
    template = resource.canonical if resource is not None else "unmatched"
    if resource is not None and len(_TEMPLATES) < 4096:  # the routes of the app: few
        _TEMPLATES[route] = template
    return template


# The template of each route seen (a route's resource and template never change once the app runs).
_TEMPLATES: dict[Any, str] = {}
