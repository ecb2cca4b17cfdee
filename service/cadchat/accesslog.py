"""One access-log line a request, written in batches off the event loop.

Fields: method, route (the template, `/v1/codes/{id}`, never the raw path or query string),
status, duration_ms (from the request's arrival at the application until its answer was sent),
bytes (sent: headers and body), request_id and client (the peer, or `X-Forwarded-For`'s last hop
from a trusted proxy). No header values, query strings or bodies are written, so tokens and code
never reach the log. As text:

    2026-11-29 08:26:30,125 INFO cadchat.access: POST /api/query 200 812B 1.9ms id=5f0c… client=203.0.113.7

With `CADCHAT_LOG_FORMAT=json` the fields are keys of the line's JSON object (see logsetup).

The request middleware (`cadchat.middlewares`) notes each request once it has sent the answer,
from what it already holds. Requests aiohttp's HTTP parser refuses (a malformed request line or
header) never reach the application: aiohttp answers them 400, and `logsetup` makes aiohttp's
error report of each one `cadchat.http` debug line; they are not in the access log or the
request metrics (scanners send them by the thousand; behind Nginx there are none).

Cost: the event loop only appends a request's raw fields (a tuple) to a list; every
`CADCHAT_ACCESS_LOG_INTERVAL` seconds it hands what gathered to a writer thread, which makes the
lines, formats the batch in one go and writes it in one call to the log handler's stream, under
the handler's lock (so it never splits another log line). A log record, a handler call, a JSON
encoding and a `write()` per request cost about as much CPU as answering `/api/query` from the
cache did; and each Python call made on the loop for a line costs there several times what the
same call costs in the writer's loop over a batch. Lines reach the log up to one interval late,
stamped with their own time; `close()` (after the server stopped) writes what is left, so a
graceful shutdown loses none.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from cadchat.chat.guards import client_address

MAX_CLIENT_CHARS = 64
# Batches handed over but not yet written, at most: past that the log's stream is blocked (a
# stalled pipe or disk) and new lines are dropped, and counted, rather than held in memory.
MAX_WAITING_BATCHES = 240
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


class Noted(NamedTuple):
    """What the event loop notes of a request once its answer is sent (a plain tuple in this
    order will do): Unix time in seconds, method, route template, status, bytes sent, seconds
    since the request arrived, request id, the peer's address (None when unknown) and the
    `X-Forwarded-For` header (None when absent)."""

    created: float
    method: str
    route: str
    status: int
    bytes: int
    seconds: float
    request_id: str
    peer: str | None
    forwarded_for: str | None


class AccessLog:
    """The access lines of one server, on their way to `handler` (a `logging.StreamHandler`,
    normally the service's own log handler: same stream, same format).

    On the event loop, `note(noted)` appends one request's `Noted` fields to a list: nothing
    else happens there for a request. Every `interval` seconds the loop hands what gathered to a
    thread of its own, which makes the lines (the client from the peer and `X-Forwarded-For`,
    which counts only from a `trusted` proxy; the duration rounded), formats them in one go and
    writes them (one `write()` a batch, under the handler's lock, so the loop never waits for
    the disk or a pipe). Per line, that work costs the thread several times less than it would
    cost the loop among a request's other work. When MAX_WAITING_BATCHES batches wait for a
    blocked stream, further lines are dropped, and their number logged as a warning once the
    stream takes lines again. The formatter is used by the writer thread only.
    `start()` (on the event loop) and `close()`, or use as a context manager there; `flush()`
    writes what is noted at once. Lines are formatted by the handler's formatter's
    `access_lines(name, lines)` when it has one (logsetup's formatters: the text its `format`
    would give), else as `logging.LogRecord`s through `handler.format()`. `for_logger()` makes
    the access log of the service's logging configuration.
    """

    def __init__(
        self,
        handler: logging.StreamHandler,
        *,
        interval: float = 0.25,
        trusted: Sequence[str] = (),
        name: str = LOGGER_NAME,
    ):
        self.handler = handler
        self.interval = interval
        self.trusted = tuple(trusted)
        self.logger = logging.getLogger(name)
        # One list for the server's life (handed over by copy), so `note` stays its append.
        self._noted: list[Noted] = []
        self.note: Callable[[Noted], None] = self._noted.append
        self._timer: asyncio.TimerHandle | None = None
        # One thread: batches stay in order. A SimpleQueue hands a batch over without a lock
        # the loop could wait for while the thread holds the interpreter.
        self._writer: threading.Thread | None = None
        # (lines, set once written, lines dropped before them)
        self._batches: queue.SimpleQueue[tuple[list[Noted], threading.Event | None, int] | None] = (
            queue.SimpleQueue()
        )
        self._dropped = 0  # lines dropped since the last batch handed over (event loop only)
        self.closed = False

    @classmethod
    def for_logger(
        cls, *, interval: float = 0.25, trusted: Sequence[str] = (), name: str = LOGGER_NAME
    ) -> AccessLog | None:
        """The access log of logger `name` as logging is configured now: writing to the first
        `logging.StreamHandler` that logging would hand its INFO records to (from that logger
        up to the root, as long as they propagate), or None when its INFO records go nowhere
        (the level is above INFO, or no stream handler takes them)."""
        logger = logging.getLogger(name)
        if not logger.isEnabledFor(logging.INFO):
            return None
        current: logging.Logger | None = logger
        while current is not None:
            for handler in current.handlers:
                if isinstance(handler, logging.StreamHandler) and handler.level <= logging.INFO:
                    return cls(handler, interval=interval, trusted=trusted, name=name)
            current = current.parent if current.propagate else None
        return None

    def _take(self) -> list[Noted]:
        noted = self._noted[:]
        del self._noted[:]
        return noted

    def _hand_over(self) -> None:
        noted = self._take()
        if noted:
            if self._batches.qsize() >= MAX_WAITING_BATCHES:
                self._dropped += len(noted)
            else:
                self._batches.put((noted, None, self._dropped))
                self._dropped = 0
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._hand_over)

    def start(self) -> AccessLog:
        """Start the writer thread and the hand-over every `interval` seconds (on the event loop)."""
        self._writer = threading.Thread(target=self._write_batches, name="cadchat-access-log", daemon=True)
        self._writer.start()
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._hand_over)
        return self

    def _write_batches(self) -> None:
        while (batch := self._batches.get()) is not None:
            noted, written, dropped = batch
            if dropped:
                self.logger.warning("%d access lines dropped: the log's stream took them too slowly", dropped)
            if noted:
                self._write_text(self._format(self.lines(noted)))
            if written is not None:
                written.set()

    def lines(self, noted: Iterable[Noted]) -> list[AccessLine]:
        """The access lines of these requests: the client (`X-Forwarded-For`'s last hop when the
        peer is a trusted proxy, else the peer) cut to MAX_CLIENT_CHARS, milliseconds to two
        decimals (round(x, 2) converts through a decimal string: several times slower)."""
        trusted = self.trusted
        return [
            # tuple.__new__: the fields in order, without NamedTuple's Python-level constructor
            tuple.__new__(
                AccessLine,
                (
                    created,
                    method,
                    route,
                    status,
                    size,
                    int(seconds * 100_000 + 0.5) / 100,
                    request_id,
                    client_address(peer, forwarded_for, trusted)[:MAX_CLIENT_CHARS],
                ),
            )
            for created, method, route, status, size, seconds, request_id, peer, forwarded_for in noted
        ]

    def flush(self) -> None:
        """Write every line noted so far, after the batches already handed to the writer."""
        noted = self._take()
        if self._writer is not None:
            written = threading.Event()
            self._batches.put((noted, written, self._dropped))
            self._dropped = 0
            written.wait()
        elif noted:
            self._write_text(self._format(self.lines(noted)))

    def close(self) -> None:
        """Write every line noted (the server has stopped) and stop the writer thread."""
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
