"""One access-log line a request, written in batches off the event loop.

Fields: method, route (the template, `/v1/codes/{id}`, never the raw path or query string),
status, duration_ms, bytes (sent: headers and body), request_id and client (the peer, or
`X-Forwarded-For`'s last hop from a trusted proxy). No header values, query strings or bodies
are written, so tokens and code never reach the log. As text:

    2026-11-29 08:26:30,125 INFO cadchat.access: POST /api/query 200 812B 1.9ms id=5f0c… client=203.0.113.7

With `CADCHAT_LOG_FORMAT=json` the fields are keys of the line's JSON object (see logsetup).

Cost: the event loop records a line's fields when a response is sent (a tuple appended to a
list) and hands what gathered every `CADCHAT_ACCESS_LOG_INTERVAL` seconds to a writer thread,
which formats the batch in one go and writes it in one call to the log handler's stream, under
the handler's lock (so it never splits another log line). A log record, a handler call, a JSON
encoding and a `write()` per request cost about as much CPU as answering `/api/query` from the
cache did. Lines reach the log up to one interval late, stamped with their own time; `close()`
(after the server stopped) writes what is left, so a graceful shutdown loses none.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from cadchat.chat.guards import client_address
from cadchat.keys import REQUEST_ID, SETTINGS
from cadchat.metrics import route_template

MAX_CLIENT_CHARS = 64
LOGGER_NAME = "cadchat.access"
MESSAGE = "%s %s %d %dB %.1fms id=%s client=%s"


class AccessLine(NamedTuple):
    """One request as the access log writes it; `created` is Unix time in seconds."""

    created: float
    method: str
    route: str
    status: int
    bytes: int
    duration_ms: float
    request_id: str
    client: str

    def message(self) -> str:
        return MESSAGE % (
            self.method,
            self.route,
            self.status,
            self.bytes,
            self.duration_ms,
            self.request_id,
            self.client,
        )

    def fields(self) -> dict[str, Any]:
        """The fields a JSON line carries besides time, level, logger and message."""
        return {
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "bytes": self.bytes,
            "request_id": self.request_id,
            "client": self.client,
        }


def access_line(
    request: web.BaseRequest,
    response: web.StreamResponse,
    seconds: float,
    trusted: Sequence[str],
    client: str | None = None,
) -> AccessLine:
    """The line of a request whose response was sent `seconds` after the request arrived.
    `trusted`: the proxies whose `X-Forwarded-For` names the client (the app's
    `chat_trusted_proxies`); `client`: the client when already known (the access logger knows it
    once a connection when the peer is not a trusted proxy)."""
    # The id the client was given: the request middleware's, which it also echoes in
    # X-Request-ID, a streamed answer's included (aiohttp's own 400s for unparsable requests
    # never reach it and have none).
    request_id = request.get(REQUEST_ID, "-")
    if client is None:
        peer = request.remote
        # X-Forwarded-For only counts from a trusted proxy: the header is looked up only then.
        forwarded = request.headers.get("X-Forwarded-For") if trusted and peer in trusted else None
        client = client_address(peer, forwarded, trusted)
    # tuple.__new__: the fields in order, without NamedTuple's Python-level constructor.
    return tuple.__new__(
        AccessLine,
        (
            time.time(),
            request.method,
            route_template(request),
            response.status,
            response.body_length,
            # milliseconds to two decimals (round(x, 2) converts through a decimal string:
            # slower than everything else in the line together)
            int(seconds * 100_000 + 0.5) / 100,
            request_id,
            client[:MAX_CLIENT_CHARS],
        ),
    )


class AccessLog:
    """The access lines of one server, on their way to `handler` (a `logging.StreamHandler`,
    normally the service's own log handler: same stream, same format).

    `add()` is called on the event loop. The lines gathered in `interval` seconds are handed to a
    thread of their own, which formats them in one go and writes them (one `write()` a batch,
    under the handler's lock, so the loop never waits for the disk or a pipe). The formatter is
    then used by that thread only. Use as a context manager, or `start()` and `close()`;
    `flush()` writes what is pending at once. Lines are formatted by the handler's formatter's
    `access_lines(name, lines)` when it has one (logsetup's formatters: the text its `format`
    would give), else as `logging.LogRecord`s through `handler.format()`.
    """

    def __init__(self, handler: logging.StreamHandler, *, interval: float = 0.25, name: str = LOGGER_NAME):
        self.handler = handler
        self.interval = interval
        self.logger = logging.getLogger(name)
        self._pending: list[AccessLine] = []
        self._timer: asyncio.TimerHandle | None = None
        # One thread: batches stay in order. A SimpleQueue hands a batch over without a lock
        # the loop could wait for while the thread holds the interpreter.
        self._writer: threading.Thread | None = None
        self._batches: queue.SimpleQueue[tuple[list[AccessLine], threading.Event | None] | None] = (
            queue.SimpleQueue()
        )
        self.closed = False

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def add(self, line: AccessLine) -> None:
        """Note one line (on the event loop); it is written within `interval` seconds."""
        self._pending.append(line)
        if self._timer is None:
            if self._writer is None:  # not started, or closed: write at once
                self.flush()
            else:
                self._timer = asyncio.get_running_loop().call_later(self.interval, self._hand_over)

    def _hand_over(self) -> None:
        self._timer = None
        lines, self._pending = self._pending, []
        if lines and self._writer is not None:
            self._batches.put((lines, None))

    def start(self) -> AccessLog:
        self._writer = threading.Thread(target=self._write_batches, name="cadchat-access-log", daemon=True)
        self._writer.start()
        return self

    def _write_batches(self) -> None:
        while (batch := self._batches.get()) is not None:
            lines, written = batch
            if lines:
                self._write_text(self._format(lines))
            if written is not None:
                written.set()

    def flush(self) -> None:
        """Write every pending line now, after the batches already handed to the writer."""
        lines, self._pending = self._pending, []
        if self._writer is not None:
            written = threading.Event()
            self._batches.put((lines, written))
            written.wait()
        elif lines:
            self._write_text(self._format(lines))

    def close(self) -> None:
        """Write every pending line (the server has stopped) and stop the writer thread."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
        if self._writer is not None:
            self._batches.put(None)
            self._writer.join()
            self._writer = None
        self.closed = True

    def __enter__(self) -> AccessLog:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _format(self, lines: list[AccessLine]) -> str:
        handler = self.handler
        format_lines = getattr(handler.formatter, "access_lines", None)
        if format_lines is not None:
            return format_lines(self.logger.name, lines)
        return "".join([handler.format(self._record(x)) + handler.terminator for x in lines])

    def _write_text(self, text: str) -> None:
        if not text:
            return
        handler = self.handler
        try:
            with handler.lock:  # type: ignore[union-attr] - a Handler's lock exists once it is made
                handler.stream.write(text)
                handler.stream.flush()
        except Exception:
            handler.handleError(
                self.logger.makeRecord(self.logger.name, logging.INFO, __name__, 0, text, None, None)
            )

    def _record(self, line: AccessLine) -> logging.LogRecord:
        record = self.logger.makeRecord(
            self.logger.name,
            logging.INFO,
            __name__,
            0,
            line.message(),
            None,
            None,
            extra={"access": line.fields()},
        )
        record.created = line.created
        record.msecs = (line.created - int(line.created)) * 1000
        return record

    def logger_class(self) -> type[AbstractAccessLogger]:
        """aiohttp's access-log hook writing to this log: `web.run_app(access_log=log.logger,
        access_log_class=log.logger_class())`. aiohttp makes one instance a connection, so what
        a connection fixes is looked up once: the app's trusted proxies, and the client itself
        unless the peer is a trusted proxy (then each request's `X-Forwarded-For` names it)."""
        log = self
        add = self.add

        class AccessLogger(AbstractAccessLogger):
            trusted: Sequence[str] | None = None  # set by the connection's first routed request
            client: str | None = None  # the connection's client, when its peer is not a proxy

            def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
                trusted = self.trusted
                if trusted is None:
                    try:
                        app = request.app  # a routed request (aiohttp's own 400s have no app)
                    except (AttributeError, AssertionError):
                        add(access_line(request, response, time, ()))
                        return
                    trusted = self.trusted = app[SETTINGS].chat_trusted_proxies
                    peer = request.remote
                    if peer not in trusted:
                        self.client = client_address(peer, None, trusted)
                add(access_line(request, response, time, trusted, self.client))

            @property
            def enabled(self) -> bool:
                return log.enabled

        return AccessLogger
