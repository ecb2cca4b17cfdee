"""Logging as text (operators at a terminal) or JSON lines (log shippers)."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_json_string = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII kept


def _json_value(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, with a shortcut for strings and numbers."""
    kind = type(value)
    if kind is str:
        return _json_string(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


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

    def access_line(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        """What `format` makes of an INFO record of logger `name` carrying `fields`: the same
        text, a few times faster than `json.dumps` of a dict (thousands of lines a second)."""
        parts = [
            '{"time": "',
            self._time(created),
            '", "level": "INFO", "logger": ',
            _json_string(name),
            ', "message": ',
            _json_string(message),
        ]
        for key, value in fields.items():
            parts.append(", ")
            parts.append(_json_string(key))
            parts.append(": ")
            parts.append(_json_value(value))
        parts.append("}")
        return "".join(parts)


class TextFormatter(logging.Formatter):
    """`2026-11-29 08:26:30,125 INFO cadchat.access: message` (logging's default time format)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._time = _SecondStamp(self.default_time_format)

    def access_line(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        """What `format` makes of an INFO record of logger `name` with this message."""
        millis = int((created - int(created)) * 1000)
        return f"{self._time(created)},{millis:03d} INFO {name}: {message}"


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
