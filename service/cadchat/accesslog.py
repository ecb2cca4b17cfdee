"""One access-log line a request, on the `cadchat.access` logger.

Fields: method, route (the template, `/v1/codes/{id}`, never the raw path or query string),
status, duration_ms, bytes (sent: headers and body), request_id and client (the peer, or
`X-Forwarded-For`'s last hop from a trusted proxy). No header values, query strings or bodies
are written, so tokens and code never reach the log. As text:

    POST /api/query 200 812B 1.9ms id=5f0c… client=203.0.113.7

With `CADCHAT_LOG_FORMAT=json` the fields are keys of the line's JSON object (see logsetup).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from cadchat.chat.guards import client_address
from cadchat.keys import REQUEST_ID, SETTINGS
from cadchat.metrics import route_template

MAX_CLIENT_CHARS = 64


def access_fields(request: web.BaseRequest, response: web.StreamResponse, seconds: float) -> dict[str, Any]:
    app = getattr(request, "app", None) if getattr(request, "match_info", None) is not None else None
    trusted = app[SETTINGS].chat_trusted_proxies if app is not None else ()
    request_id = request.get(REQUEST_ID) or response.headers.get("X-Request-ID", "-")
    client = client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)
    return {
        "method": request.method,
        "route": route_template(request),
        "status": response.status,
        "duration_ms": round(seconds * 1000, 2),
        "bytes": response.body_length,
        "request_id": request_id,
        "client": client[:MAX_CLIENT_CHARS],
    }


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access-log hook (`web.run_app(access_log_class=AccessLogger)`)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        fields = access_fields(request, response, time)
        # makeRecord + handle: the caller's file and line (a stack walk per line) say nothing here.
        record = self.logger.makeRecord(
            self.logger.name,
            logging.INFO,
            __name__,
            0,
            "%s %s %d %dB %.1fms id=%s client=%s",
            (
                fields["method"],
                fields["route"],
                fields["status"],
                fields["bytes"],
                fields["duration_ms"],
                fields["request_id"],
                fields["client"],
            ),
            None,
            extra={"access": fields},
        )
        self.logger.handle(record)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
