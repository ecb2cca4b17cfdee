"""JSON in and out of handlers: a bounded body reader and JSON responses.

Every error the service answers is a JSON object carrying `error` and `message` (old clients
read one or the other) and `success: false` (the user-code routes' clients read that).

Bodies are read here, never by aiohttp's own `read()`/`json()`: the server runs with
`auto_decompress=False` (see `SERVER_OPTIONS`), and a `Content-Encoding: gzip`/`deflate` body is
inflated by `read_body` in steps whose output never passes the body limit, so a small compressed
body that inflates to gigabytes costs at most `limit` bytes of work before its 413.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from aiohttp import web

from cadchat.errors import InvalidInput, NotFound, TooLarge, UnsupportedEncoding
from cadchat.inputs import dumps, int_param, parse_json, text_field
from cadchat.keys import SETTINGS

__all__ = [
    "SERVER_OPTIONS",
    "ApiError",
    "bad_request",
    "dumps",
    "error_body",
    "error_response",
    "int_param",
    "json_object",
    "json_response",
    "not_found",
    "read_body",
    "text_field",
]

# Keyword arguments for the server (web.run_app / AppRunner / the test server).
SERVER_OPTIONS: dict[str, Any] = {"auto_decompress": False}

_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_READ_CHUNK = 64 * 1024
_INFLATE_STEP = 128 * 1024  # bytes of output per step: about a millisecond of work


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": message, "message": message, **extra}


def error_response(status: int, message: str, *, headers: Any = None, **extra: Any) -> web.Response:
    response = json_response(error_body(message, **extra), status=status)
    if headers:
        for name, value in headers.items():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    return response


class ApiError(Exception):
    """An HTTP error raised by web-layer code (access control, content negotiation): the
    middleware answers it in the JSON error shape. Domain modules raise `cadchat.errors`."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.status, self.message, headers=self.headers, **self.extra)


def bad_request(message: str) -> InvalidInput:
    return InvalidInput(message)


def not_found(message: str) -> NotFound:
    return NotFound(message)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"request body too large: limit {limit} bytes")


async def read_body(request: web.Request) -> bytes:
    """The request body, inflated when its Content-Encoding is gzip or deflate.

    Raises `TooLarge` as soon as the sent or the inflated size passes CADCHAT_MAX_BODY_BYTES,
    `InvalidInput` for a body that is not the encoding it claims, `UnsupportedEncoding` for any
    other encoding. A client that leaves mid-body raises `ConnectionResetError`.
    """
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"request body too large: {request.content_length} bytes, limit {limit}")
    encoding = request.headers.get("Content-Encoding")
    encoding = "identity" if encoding is None else encoding.strip().lower()
    if encoding in ("", "identity"):
        # aiohttp reads a plain body in one step and stops at client_max_size (the same limit).
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _too_large(limit) from None
    if encoding in _WBITS:
        inflater = zlib.decompressobj(_WBITS[encoding])
    else:
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding[:40]!r} is not supported: send gzip, deflate or none"
        )
    parts: list[bytes] = []
    size = sent = 0
    while chunk := await request.content.read(_READ_CHUNK):
        sent += len(chunk)
        if sent > limit:
            raise _too_large(limit)
        while chunk:
            # At most one step of output at a time, never past the limit (+1 to notice passing
            # it), and other requests run between two steps.
            try:
                out = inflater.decompress(chunk, min(_INFLATE_STEP, limit - size + 1))
            except zlib.error:
                raise InvalidInput(f"request body is not valid {encoding} data") from None
            size += len(out)
            if size > limit:
                raise _too_large(limit)
            parts.append(out)
            chunk = inflater.unconsumed_tail
            if chunk:
                await asyncio.sleep(0)
    if not inflater.eof:
        raise InvalidInput(f"request body is not valid {encoding} data (truncated)")
    return b"".join(parts)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; `InvalidInput` (malformed, not an object), `TooLarge`."""
    raw = await read_body(request)
    if not raw or raw.isspace():
        raise InvalidInput("request body must be a JSON object")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise InvalidInput(f"request body must be a JSON object, not {type(body).__name__}")
    return body
