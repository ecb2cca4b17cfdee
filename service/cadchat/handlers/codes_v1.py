"""`/v1/codes`: the user-code store as a plain REST resource for new clients.

201 + Location on create, 204 on delete, 404 for unknown or malformed ids, 400 for bad input,
413 for over-limit sizes. PUT replaces (command, description and code required); PATCH changes
the fields given. Bodies may echo the read-only fields a GET returned; other unknown fields
are refused, so a typo does not silently do nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from cadchat.errors import InvalidInput, TooLarge
from cadchat.handlers.user_codes import code_or_404, store_of
from cadchat.inputs import int_param
from cadchat.keys import EXECUTOR
from cadchat.usercodes import lisp
from cadchat.usercodes.model import UserCode
from cadchat.web_json import json_object, json_response

WRITABLE = ("command", "description", "code", "tags")
READ_ONLY = (
    "id",
    "filename",
    "created_at",
    "updated_at",
    "usage_count",
    "success_count",
    "success_rate",
    "url",
)
MAX_PAGE = 1000


def resource(code: UserCode) -> dict[str, Any]:
    return {
        "id": code.id,
        "url": f"/v1/codes/{code.id}",
        "command": code.command,
        "description": code.description,
        "tags": list(code.tags),
        "code": code.code,
        "filename": code.filename,
        "created_at": code.created_at,
        "updated_at": code.updated_at,
        "usage_count": code.usage_count,
        "success_count": code.success_count,
        "success_rate": code.success_rate,
    }


async def _changes(request: web.Request) -> dict[str, Any]:
    body = await json_object(request)
    unknown = sorted(set(body) - set(WRITABLE) - set(READ_ONLY))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    return {k: body[k] for k in WRITABLE if k in body}


async def list_codes(request: web.Request) -> web.Response:
    offset = int_param(request.query.get("offset"), "offset", default=0, low=0, high=10**9)
    limit = int_param(request.query.get("limit"), "limit", default=50, low=1, high=MAX_PAGE)
    q = request.query.get("q", "")
    if len(q) > 200:
        raise TooLarge("'q' is longer than 200 characters")
    found = store_of(request).search(q)
    page = found[offset : offset + limit]
    return json_response(
        {"codes": [resource(c) for c in page], "total": len(found), "offset": offset, "limit": limit}
    )


async def create(request: web.Request) -> web.Response:
    changes = await _changes(request)
    command = changes.get("command")
    if (command is None or command == "") and isinstance(changes.get("code"), str):
        loop = asyncio.get_running_loop()  # a scan of the whole code: off the event loop
        found = await loop.run_in_executor(request.app[EXECUTOR], lisp.command_name, changes["code"])
        command = found or None  # only a real defun name here, no placeholder
    code = await store_of(request).create(
        command=command,
        description=changes.get("description"),
        code=changes.get("code"),
        tags=changes.get("tags"),
        origin="v1",
        require_description=False,
    )
    return json_response(resource(code), status=201, headers={"Location": f"/v1/codes/{code.id}"})


async def get(request: web.Request) -> web.Response:
    return json_response(resource(code_or_404(request)))


async def replace(request: web.Request) -> web.Response:
    code = code_or_404(request)
    changes = await _changes(request)
    changes.setdefault("description", "")  # PUT replaces: absent description means none
    updated = await store_of(request).update(code.id, changes, partial=False)
    return json_response(resource(updated))


async def patch(request: web.Request) -> web.Response:
    code = code_or_404(request)
    changes = await _changes(request)
    updated = await store_of(request).update(code.id, changes, partial=True)
    return json_response(resource(updated))


async def delete(request: web.Request) -> web.Response:
    code = code_or_404(request)
    await store_of(request).delete(code.id)
    return web.Response(status=204)
