"""Logging as text (operators at a terminal) or JSON lines (log shippers)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_json_string = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII kept
# An access line as JsonFormatter.format writes it (the order of AccessLine's fields; json.dumps
# writes a float as its repr); the message (accesslog.MESSAGE) is written escaped, in parts.
_ACCESS_JSON = (
    '{"time": "%s%s%s%d %dB %.1fms id=%s client=%s", "method": %s, "route": %s, "status": %d, '
    '"duration_ms": %r, "bytes": %d, "request_id": %s, "client": %s}\n'
)


def _route_strings(method: str, route: str) -> tuple[str, str, str]:
    """The escaped start of an access message (`POST /api/query `, no quotes), and the method
    and the route as JSON strings."""
    return _json_string(f"{method} {route} ")[1:-1], _json_string(method), _json_string(route)


def _millis(created: float) -> int:
    return int((created - int(created)) * 1000)


class _SecondStamp:
    """`strftime` of a Unix time's second (local time), computed once a second, not once a line:
    access lines come by the thousand."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._second = -1
        self._stamp = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime(self.pattern, time.localtime(second))
            self._second = second
        return self._stamp


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (local, to the second), level, logger, message, then an
    access line's fields, or `exception`."""

    def __init__(self) -> None:
        super().__init__()
        self._time = _SecondStamp("%Y-%m-%dT%H:%M:%S")
        self._routes: dict[tuple[str, str], tuple[str, str, str]] = {}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)  # an access-log line's fields (cadchat.accesslog)
        if access:
            entry.update(access)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

    def access_lines(self, name: str, lines: Iterable[Any]) -> str:
        """What `format` makes of the INFO records of logger `name` for these access lines
        (`cadchat.accesslog.AccessLine`), each ended by a newline: the same text, from one
        template a line (thousands of lines a second; `json.dumps` of a dict costs more).
        The JSON strings of each method and route are made once; JSON-escaping works
        character by character, so the message is escaped in parts."""
        head = '", "level": "INFO", "logger": ' + _json_string(name) + ', "message": "'
        routes = self._routes
        time_of = self._time
        out = []
        for created, method, route, status, size, duration_ms, request_id, client in lines:
            known = routes.get((method, route))
            if known is None:
                known = _route_strings(method, route)
                if len(routes) < 4096:
                    routes[(method, route)] = known
            request_json = _json_string(request_id)
            client_json = _json_string(client)
            out.append(
                _ACCESS_JSON
                % (
                    time_of(created),
                    head,
                    known[0],
                    status,
                    size,
                    duration_ms,
                    request_json[1:-1],
                    client_json[1:-1],
                    known[1],
                    known[2],
                    status,
                    duration_ms,
                    size,
                    request_json,
                    client_json,
                )
            )
        return "".join(out)


class TextFormatter(logging.Formatter):
    """`2026-11-29 08:26:30,125 INFO cadchat.access: message` (logging's default time format)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._time = _SecondStamp(self.default_time_format)

    def access_lines(self, name: str, lines: Iterable[Any]) -> str:
        """What `format` makes of the INFO records of logger `name` for these access lines
        (`cadchat.accesslog.AccessLine`), each ended by a newline."""
        time_of = self._time
        return "".join(
            [
                f"{time_of(created)},{_millis(created):03d} INFO {name}: {method} {route} {status} "
                f"{size}B {duration_ms:.1f}ms id={request_id} client={client}\n"
                for created, method, route, status, size, duration_ms, request_id, client in lines
            ]
        )


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a request its HTTP parser refuses (bad request line, raw non-ASCII bytes in
    a URL, ...) as an error with a traceback; it is the client's mistake, answered with a 400:
    one line at debug level instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            log = logging.getLogger("cadchat.http")
            if log.isEnabledFor(logging.DEBUG):
                log.debug("refused a malformed request: %s", str(exc).splitlines()[0])
            return False
        return True


def configure(level: str, fmt: str) -> logging.StreamHandler:
    """Every logger's lines to standard error, as text or JSON; returns that handler."""
    # No format here shows thread or process names: skip collecting them for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestFilter) for f in server.filters):
        server.addFilter(MalformedRequestFilter())
    return handler
