"""GET /api/lisp/{name}: the AutoLISP source of a bundled LISP tool."""

from __future__ import annotations

import re

from aiohttp import web

from cadchat import answers
from cadchat.errors import InvalidInput, NotFound
from cadchat.keys import CATALOG, LISP_TOOLS
from cadchat.web_json import json_response

# A command name as typed at the CAD command line: ASCII letters, digits, `_` and `-`.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


async def get_tool(request: web.Request) -> web.Response:
    """200 `{"name", "command", "filename", "code", "description"}`; 400 for a name that is not a
    command name; 404 for a command that is not a bundled LISP tool."""
    name = request.match_info["name"]
    if not _NAME.fullmatch(name):
        raise InvalidInput("name must be 1-64 ASCII letters, digits, '_' or '-'")
    command = request.app[CATALOG].library.by_key.get(name.upper())
    source = request.app[LISP_TOOLS].for_command(command) if command is not None else None
    if command is None or source is None:
        raise NotFound(f"no bundled LISP tool named {name}")
    return json_response(answers.lisp_tool(command, source))
