"""AutoLISP routes: check a piece of code without running it."""

from __future__ import annotations

import asyncio

from aiohttp import web

from cadchat.autolisp.checker import check as check_code_text
from cadchat.keys import CATALOG, EXECUTOR, USER_CODES
from cadchat.usercodes.model import check_code
from cadchat.web_json import json_object, json_response


async def check(request: web.Request) -> web.Response:
    """POST /api/lisp/check `{"code"}` -> `{"success", "ok", "problems", "commands"}`; the
    commands `(command "X")` may call are the live library's. 400/413 like a user code."""
    body = await json_object(request)
    code = check_code(body.get("code"), request.app[USER_CODES].limits)
    known = request.app[CATALOG].command_names()
    loop = asyncio.get_running_loop()  # linear, but up to the code-size limit: off the loop
    report = await loop.run_in_executor(
        request.app[EXECUTOR], lambda: check_code_text(code, known_commands=known)
    )
    return json_response({"success": True, **report.to_json()})
