"""One middleware for every request: request id, access control (`cadchat.auth`), JSON errors,
the request metrics (`cadchat.metrics`: in flight, counted and timed by route template) and the
access log (`cadchat.accesslog`).

One layer, not one per concern: each middleware layer costs every request a coroutine and a
call frame, as much as the work some of them did.

The one place where errors become HTTP: each domain error kind (`cadchat.errors`) has its
status in `STATUS`, aiohttp's own 4xx (404, 405, 413, ...) get the JSON shape too, and a client
that leaves mid-request is logged at debug and counted, not answered as a server error.

The middleware sends each answer itself (aiohttp would, right after it returns): the time
measured and the bytes logged are those of the answer sent.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import uuid
from typing import Any

from aiohttp import web

from cadchat.accesslog import AccessLog
from cadchat.auth import AccessPolicy
from cadchat.errors import (
    Busy,
    CadchatError,
    InvalidInput,
    NotFound,
    RateLimited,
    StoreFull,
    TooLarge,
    UnsupportedEncoding,
)
from cadchat.keys import REQUEST_ID, SETTINGS
from cadchat.metrics import METHODS, Metrics, route_template
from cadchat.web_json import ApiError, error_response

log = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # a client's id is echoed into logs: safe shapes only
# Request ids the server makes: 32 hex digits, a random per-process prefix and a counter
# (unique without a system call per request, unlike uuid4).
_ID_PREFIX = uuid.uuid4().hex[:24]
_ID_COUNTER = itertools.count(1)
# Status of each domain error kind; a subclass takes its nearest listed base's.
STATUS: dict[type[CadchatError], int] = {
    InvalidInput: 400,
    StoreFull: 400,
    NotFound: 404,
    TooLarge: 413,
    UnsupportedEncoding: 415,
    RateLimited: 429,
    Busy: 503,
}
# The status recorded for a request whose client left before its answer (nginx's convention).
CLIENT_CLOSED = 499


def status_of(exc: CadchatError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def domain_response(exc: CadchatError) -> web.Response:
    headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
    return error_response(status_of(exc), exc.message, headers=headers, **exc.extra)


def _message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"not found: {request.method} {request.path}"
    if exc.status == 405:
        return f"method {request.method} not allowed for {request.path}"
    if exc.status == 413:
        return f"request body too large: limit {request.app[SETTINGS].max_body_bytes} bytes"
    return exc.reason.lower()


def _answer_error(request: web.Request, exc: Exception, request_id: str) -> web.Response:
    """The JSON answer to an exception a handler raised (an HTTPException below 400 is raised on)."""
    if isinstance(exc, CadchatError):
        return domain_response(exc)
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        return error_response(exc.status, _message(request, exc), headers=exc.headers)
    if isinstance(exc, ConnectionResetError):
        # The client left mid-body or mid-answer: nothing to answer, nothing wrong here.
        # The answer goes nowhere (aiohttp drops it quietly); it is counted with status 499.
        log.debug("client left during %s %s (request %s)", request.method, request.path, request_id)
        return error_response(CLIENT_CLOSED, "client closed the connection")
    log.exception("unhandled error in %s %s (request %s)", request.method, request.path, request_id)
    return error_response(500, "internal server error", request_id=request_id)


async def send_answer(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Send `response` now (headers, the rest of the body, the end), unless already sent; a
    client that left meanwhile is not an error (aiohttp then closes the connection)."""
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        log.debug("client left while its answer to %s %s was sent", request.method, request.path)


def observer(policy: AccessPolicy, metrics: Metrics | None, access_log: AccessLog | None = None) -> Any:
    """The middleware: a request id (the client's `X-Request-ID` when it is a safe one, else a
    new one; echoed in the answer), the access check, every error as JSON, the answer sent;
    then, unless `metrics` is None, the request counted in flight and then by route template,
    method and status, and, unless `access_log` is None, noted for its access line."""
    series = metrics.http if metrics is not None else None
    note = access_log.note if access_log is not None else None

    @web.middleware
    async def observe(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        if series is not None:
            metrics.requests_in_flight += 1
        status = 500
        response: web.StreamResponse | None = None
        route = route_template(request)
        request_id = request.headers.get("X-Request-ID", "")
        if not request_id or not _REQUEST_ID.fullmatch(request_id):
            request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
        try:
            request[REQUEST_ID] = request_id
            try:
                response = policy.admit(request, route) or await handler(request)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                response = _answer_error(request, exc, request_id)
            if not response.prepared:  # a streamed response set its headers when it started
                response.headers["X-Request-ID"] = request_id
            status = response.status
            await send_answer(request, response)
            return response
        except web.HTTPException as exc:  # a redirect
            status = exc.status
            response = exc
            exc.headers["X-Request-ID"] = request_id
            await send_answer(request, exc)
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED  # the client left and the handler was cancelled
            raise
        finally:
            seconds = time.perf_counter() - started
            method = request.method
            if series is not None:
                metrics.requests_in_flight -= 1
                series.observe(route, method if method in METHODS else "other", status, seconds)
            if note is not None:
                note(
                    (
                        time.time(),
                        method,
                        route,
                        status,
                        response.body_length if response is not None else 0,
                        seconds,
                        request_id,
                        request.remote,
                        request.headers.get("X-Forwarded-For"),
                    )
                )

    return observe
