"""User-code routes of the client contract (CONTRACT.md "User code storage").

Ids in URLs are validated by `parse_id`: plain ASCII decimal 1..9,999,999 without leading zeros;
anything else (`../`, NUL, huge, non-ASCII digits) is answered like an unknown id, 404.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from cadchat.autolisp.checker import check
from cadchat.errors import InvalidInput, NotFound, TooLarge
from cadchat.inputs import int_param
from cadchat.keys import CATALOG, EXECUTOR, USER_CODES, USER_CODES_LIST
from cadchat.library.store import LIBRARY_ID_BASE
from cadchat.usercodes import lisp
from cadchat.usercodes.listing import list_item
from cadchat.usercodes.model import UserCode, check_code, check_command, check_text, parse_id, success_rate
from cadchat.usercodes.popularity import popular as rank_popular
from cadchat.usercodes.store import CodeStore
from cadchat.web_json import json_object, json_response

# When neither a `command` nor a `(defun ...)` names the code: it still has to be findable.
FALLBACK_COMMAND = "USERCODE"
_LIBRARY_ID = re.compile(r"[1-9][0-9]{7,9}", re.ASCII)


def store_of(request: web.Request) -> CodeStore:
    return request.app[USER_CODES]


def code_or_404(request: web.Request) -> UserCode:
    code_id = parse_id(request.match_info["id"])
    code = store_of(request).get(code_id) if code_id is not None else None
    if code is None:
        raise NotFound("user code not found")
    return code


async def derived_command(request: web.Request, body: dict[str, Any], code: Any) -> Any:
    given = body.get("command")
    if isinstance(given, str) and given.strip():
        return given
    if isinstance(code, str):
        loop = asyncio.get_running_loop()  # a scan of the whole code, as in preview
        return await loop.run_in_executor(request.app[EXECUTOR], lisp.command_name, code) or FALLBACK_COMMAND
    return given


async def lisp_report(request: web.Request, code: str) -> dict[str, Any]:
    """The AutoLISP checker's report on a stored code: `{"ok", "problems", "commands"}`.
    Informational: a code with errors is still the user's code and is kept."""
    known = request.app[CATALOG].command_names()
    loop = asyncio.get_running_loop()
    report = await loop.run_in_executor(request.app[EXECUTOR], lambda: check(code, known_commands=known))
    return report.to_json()


async def save(request: web.Request) -> web.Response:
    body = await json_object(request)
    code = await store_of(request).create(
        command=body.get("command"),
        description=body.get("description"),
        code=body.get("code"),
        tags=body.get("tags"),
    )
    return json_response(
        {
            "success": True,
            "code_id": code.id,
            "message": f"代码已保存（编号 {code.id}）",
            "lisp": await lisp_report(request, code.code),
        }
    )


async def list_codes(request: web.Request) -> web.Response:
    store = store_of(request)
    body = request.app[USER_CODES_LIST].body(store)
    return web.Response(body=body, content_type="application/json")


async def get_code(request: web.Request) -> web.Response:
    code = code_or_404(request)
    return json_response(
        {"success": True, "code": code.code, **{k: v for k, v in list_item(code).items() if k != "lisp_code"}}
    )


async def delete_code(request: web.Request) -> web.Response:
    code = code_or_404(request)
    await store_of(request).delete(code.id)
    return json_response({"success": True, "message": f"代码 {code.id} 已删除"})


async def preview(request: web.Request) -> web.Response:
    body = await json_object(request)
    limits = store_of(request).limits
    code = check_code(body.get("code"), limits)
    command = check_command(body.get("command"), limits.max_command_chars, required=False)
    description = check_text(
        "description", body.get("description"), limits.max_description_chars, required=False, multiline=True
    )
    # A pure-Python scan of up to the code-size limit: run it where it cannot stall other requests.
    loop = asyncio.get_running_loop()
    known = request.app[CATALOG].command_names()
    shown = await loop.run_in_executor(request.app[EXECUTOR], lisp.preview, code, command, description, known)
    return json_response(
        {"success": True, "command": shown["command"], "description": description, "preview": shown}
    )


async def submit_code(request: web.Request) -> web.Response:
    body = await json_object(request)
    code = body.get("lisp_code", body.get("code"))
    saved = await store_of(request).create(
        command=await derived_command(request, body, code),
        description=body.get("description"),
        code=code,
        tags=body.get("tags"),
        origin="submit_code",
        require_description=False,
    )
    return json_response(
        {
            "success": True,
            "code_id": saved.id,
            "command": saved.command,
            "lisp": await lisp_report(request, saved.code),
        }
    )


async def create_code(request: web.Request) -> web.Response:
    """POST /api/codes: the old API's way to add a code; stored as a user code whatever `type`
    says (the library files are the operators', not the API's)."""
    body = await json_object(request)
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        raise InvalidInput("'type' must be a string")
    code = body.get("code")
    saved = await store_of(request).create(
        command=await derived_command(request, body, code),
        description=body.get("description"),
        code=code,
        tags=body.get("tags"),
        require_description=False,
    )
    return json_response(
        {
            "success": True,
            "id": saved.id,
            "type": "user_program",
            "message": f"代码已保存（编号 {saved.id}）",
            "lisp": await lisp_report(request, saved.code),
        }
    )


async def feedback(request: web.Request) -> web.Response:
    """Counts a use of a user code or of a library command (the id /api/query answered)."""
    body = await json_object(request)
    raw_id = body.get("code_id")
    success = body.get("success", False)
    if not isinstance(success, bool):
        raise InvalidInput("'success' must be true or false")
    for name in ("requirement", "feedback"):
        check_text(name, body.get(name), 2000, required=False, multiline=True)
    if raw_id is None or raw_id == "":
        raise InvalidInput("missing field: 'code_id'")
    store = store_of(request)
    user_id = parse_id(raw_id)
    if user_id is not None:
        code = await store.record_use(user_id, success)
        usage, hits = code.usage_count, code.success_count
    else:
        text = str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else raw_id
        command = None
        if isinstance(text, str) and _LIBRARY_ID.fullmatch(text) and int(text) >= LIBRARY_ID_BASE:
            command = request.app[CATALOG].library.index.get(int(text))
        if command is None:
            raise NotFound(f"code {str(raw_id)[:40]!r} not found")
        counts = await store.record_library_use(command, success)
        usage, hits = counts.usage_count, counts.success_count
    return json_response(
        {
            "success": True,
            "usage_count": usage,
            "success_count": hits,
            "success_rate": success_rate(usage, hits),
        }
    )


def _popular(request: web.Request) -> list[dict[str, Any]]:
    store = store_of(request)
    limit = int_param(request.query.get("limit"), "limit", default=10, low=1, high=100)
    keyword = request.query.get("keyword", "")
    if len(keyword) > 200:
        raise TooLarge("'keyword' is longer than 200 characters")
    library = request.app[CATALOG].library
    return rank_popular(store.all(), store.library_usage(), library.by_key, keyword=keyword, limit=limit)


async def popular_codes(request: web.Request) -> web.Response:
    return json_response({"success": True, "codes": _popular(request)})


async def popular(request: web.Request) -> web.Response:
    return json_response({"codes": _popular(request)})
