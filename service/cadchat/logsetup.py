"""Logging as text (operators at a terminal) or JSON lines (log shippers)."""

from __future__ import annotations

import json
import logging
import sys


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def _time(self, record: logging.LogRecord) -> str:
        # One strftime a second, not one a line: access lines come by the thousand.
        second = int(record.created)
        if second != self._second:
            self._stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = second
        return self._stamp

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record),
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


def configure(level: str, fmt: str) -> None:
    # No format here shows thread or process names: skip collecting them for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
