"""JSON in and out of handlers: body parsing with clear 400/413s, and JSON error responses.

Every error the service answers is a JSON object carrying `error` and `message` (old clients
read one or the other) and `success: false` (the user-code routes' clients read that).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import web

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


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
    """Raise from logic or handlers: the middleware answers it as a JSON error."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> web.Response:
        return error_response(self.status, self.message, headers=self.headers, **self.extra)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 (malformed, not an object) / 413 (too big)."""
    limit = request.app._client_max_size
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body too large: {request.content_length} bytes, limit {limit}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"request body too large: limit {limit} bytes") from None
    if not raw.strip():
        raise bad_request("request body must be a JSON object")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise bad_request("request body is not UTF-8") from None
    except ValueError as exc:
        raise bad_request(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"request body must be a JSON object, not {type(body).__name__}")
    return body


def text_field(body: dict[str, Any], *names: str, required: bool = True, max_length: int = 2000) -> str:
    """The first of `names` present in the body, as stripped text; 400 when missing/wrong."""
    for name in names:
        if name in body and body[name] is not None:
            value = body[name]
            if not isinstance(value, str):
                raise bad_request(f"'{name}' must be a string, not {type(value).__name__}")
            value = value.strip()
            if required and not value:
                raise bad_request(f"'{name}' must not be empty")
            if len(value) > max_length:
                raise ApiError(413, f"'{name}' is longer than {max_length} characters")
            return value
    if required:
        raise bad_request(f"missing field: {' or '.join(repr(n) for n in names)}")
    return ""


def int_param(raw: Any, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query/body parameter within bounds; 400 otherwise."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise bad_request(f"'{name}' must be an integer")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise bad_request(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}")
    return value
