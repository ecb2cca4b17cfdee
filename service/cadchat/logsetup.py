"""Logging as text (operators at a terminal) or JSON lines (log shippers)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_json_string = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII kept
# The most (method, route template, status) keys whose access-line template a formatter keeps.
_MAX_TEMPLATES = 4096


def _access_message(method: str, route: str, status: int) -> str:
    """The message of an access line as JSON: what the request was and how it ended (the other
    fields are keys of their own)."""
    return f"{method} {route} {status}"


def _json_access_template(name: str, method: str, route: str, status: int) -> str:
    """An access line as JsonFormatter.format writes it (AccessLine's fields in order; json.dumps
    writes a float as its repr) with the logger, message, method, route and status filled in;
    left to fill, in order: the time, the duration, the bytes, and the request id and the client
    as JSON strings."""
    known = (
        ', "level": "INFO", "logger": '
        + _json_string(name)
        + ', "message": '
        + _json_string(_access_message(method, route, status))
        + ', "method": '
        + _json_string(method)
        + ', "route": '
        + _json_string(route)
        + f', "status": {status:d}, '
    )
    return (
        '{"time": "%s"'
        + known.replace("%", "%%")
        + '"duration_ms": %r, "bytes": %d, "request_id": %s, "client": %s}\n'
    )


class _RouteTexts:
    """The texts of access lines made once per (logger, method, route, status), by `make` of
    those four: at most _MAX_TEMPLATES kept (an app's routes are few; bounded all the same)."""

    def __init__(self, make: Callable[[str, str, str, int], str]) -> None:
        self._make = make
        self._texts: dict[tuple[str, str, str, int], str] = {}

    def __call__(self, name: str, method: str, route: str, status: int) -> str:
        key = (name, method, route, status)
        text = self._texts.get(key)
        if text is None:
            text = self._make(name, method, route, status)
            if len(self._texts) < _MAX_TEMPLATES:
                self._texts[key] = text
        return text


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
    access line's fields (its message then only `METHOD route status`), or `exception`."""

    def __init__(self) -> None:
        super().__init__()
        self._time = _SecondStamp("%Y-%m-%dT%H:%M:%S")
        self._templates = _RouteTexts(_json_access_template)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)  # an access-log line's fields (cadchat.accesslog)
        if access:
            entry["message"] = _access_message(access["method"], access["route"], access["status"])
            entry.update(access)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

    def access_lines(self, name: str, lines: Iterable[Any]) -> str:
        """What `format` makes of the INFO records of logger `name` for these access lines
        (`cadchat.accesslog.AccessLine`), each ended by a newline: the same text, from a
        template a (method, route, status) with those parts already JSON-escaped (thousands of
        lines a second; `json.dumps` of a dict costs several times more)."""
        templates = self._templates
        time_of = self._time
        return "".join(
            [
                templates(name, method, route, status)
                % (time_of(created), duration_ms, size, _json_string(request_id), _json_string(client))
                for created, method, route, status, size, duration_ms, request_id, client in lines
            ]
        )


class TextFormatter(logging.Formatter):
    """`2026-11-29 08:26:30,125 INFO cadchat.access: message` (logging's default time format)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._time = _SecondStamp(self.default_time_format)
        # the line's text from the level to the status
        self._middles = _RouteTexts(
            lambda name, method, route, status: f" INFO {name}: {method} {route} {status} "
        )

    def access_lines(self, name: str, lines: Iterable[Any]) -> str:
        """What `format` makes of the INFO records of logger `name` for these access lines
        (`cadchat.accesslog.AccessLine`), each ended by a newline."""
        middles = self._middles
        time_of = self._time
        # after the time, logging's msecs as `%03d` writes them: truncated
        return "".join(
            [
                f"{time_of(created)},{int((created - int(created)) * 1000):03d}"
                f"{middles(name, method, route, status)}{size}B {duration_ms:.1f}ms "
                f"id={request_id} client={client}\n"
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
