"""One middleware for every request: request id and JSON errors (metrics: `cadchat.metrics.measure`)."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid

from aiohttp import web

from cadchat.keys import REQUEST_ID, SETTINGS
from cadchat.web_json import ApiError, error_response

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a client's id is echoed into logs: safe shapes only


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"not found: {request.method} {request.path}"
    if exc.status == 405:
        return f"method {request.method} not allowed for {request.path}"
    if exc.status == 413:
        return f"request body too large: limit {request.app[SETTINGS].max_body_bytes} bytes"
    return exc.reason.lower()


@web.middleware
async def observe(request: web.Request, handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-ID", "")
    if not _REQUEST_ID.fullmatch(request_id):
        request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except ApiError as exc:
        response = exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, _message(request, exc), headers=exc.headers)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error in %s %s (request %s)", request.method, request.path, request_id)
        response = error_response(500, "internal server error", request_id=request_id)
    if not response.prepared:  # a streamed response set its headers when it started
        response.headers["X-Request-ID"] = request_id
    return response
