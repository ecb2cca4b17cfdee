"""Query, search and command-library routes of the client contract."""

from __future__ import annotations

import time

from aiohttp import web

from cadchat import answers
from cadchat.errors import NotFound, TooLarge
from cadchat.inputs import dumps, int_param, text_field
from cadchat.keys import CATALOG, LISP_TOOLS, METRICS, QUERY_CACHE, SETTINGS
from cadchat.library.live import reload_library
from cadchat.web_json import json_object, json_response

MAX_NEED_CHARS = 2000


async def query(request: web.Request) -> web.Response:
    body = await json_object(request)
    requirement = text_field(body, "requirement", max_length=MAX_NEED_CHARS)
    app = request.app
    catalog = app[CATALOG]
    # The answer is a pure function of the catalog's state and the need, and clients repeat
    # needs ("画圆") all day: serve the same bytes until the library or a user program changes.
    key = (catalog.generation, requirement)
    cache = app[QUERY_CACHE]
    cached = cache.get(key)
    if cached is None:
        started = time.perf_counter()
        answer = answers.query_answer(
            catalog, requirement, threshold=app[SETTINGS].match_threshold, tools=app[LISP_TOOLS]
        )
        app[METRICS].observe_retrieval("query", time.perf_counter() - started)
        cached = (app[METRICS].query_outcomes[answer["matched"]], dumps(answer).encode())
        cache.put(key, cached)
    cached[0][0] += 1  # cadchat_queries_total{matched}
    return web.Response(body=cached[1], content_type="application/json")


async def search_post(request: web.Request) -> web.Response:
    body = await json_object(request)
    text = text_field(body, "requirement", "query", max_length=MAX_NEED_CHARS)
    limit = int_param(body.get("limit"), "limit", default=request.app[SETTINGS].search_limit, low=1, high=100)
    started = time.perf_counter()
    results = answers.search_results(request.app[CATALOG], text, limit)
    request.app[METRICS].observe_retrieval("search", time.perf_counter() - started)
    return json_response(results)


async def search_get(request: web.Request) -> web.Response:
    text = request.query.get("q", "").strip()
    limit = int_param(
        request.query.get("limit"), "limit", default=request.app[SETTINGS].search_limit, low=1, high=100
    )
    if not text:
        return json_response({"codes": []})
    if len(text) > MAX_NEED_CHARS:
        raise TooLarge(f"'q' is longer than {MAX_NEED_CHARS} characters")
    started = time.perf_counter()
    results = answers.search_codes(request.app[CATALOG], text, limit)
    request.app[METRICS].observe_retrieval("search", time.perf_counter() - started)
    return json_response(results)


async def list_codes(request: web.Request) -> web.Response:
    offset = int_param(request.query.get("offset"), "offset", default=0, low=0, high=10**9)
    limit = request.query.get("limit")
    size = None if limit is None else int_param(limit, "limit", default=0, low=1, high=100_000)
    return json_response(answers.all_codes(request.app[CATALOG], offset=offset, limit=size))


async def get_code(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    code_id = int(raw)
    # Ids are written without leading zeros: "00001" names no code, as everywhere else.
    command = None if raw != str(code_id) else answers.find_code(request.app[CATALOG], code_id)
    if command is None:
        raise NotFound(f"code {raw} not found")
    return json_response({"code": answers.code_detail(command, request.app[LISP_TOOLS].for_command(command))})


async def rebuild(request: web.Request) -> web.Response:
    """The old server rebuilt embeddings here; we reload the libraries and the index."""
    library = await reload_library(request.app)
    return json_response(
        {
            "success": True,
            "message": f"已重新加载命令库：{len(library.commands)} 条命令（版本 {library.version}）",
            "commands": len(library.commands),
            "version": library.version,
        }
    )
