"""Typed application keys: every shared object the handlers reach through `request.app`.

A leaf module: the value types are named for type checkers only, so any module may import a key
without pulling in the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import asyncpg

    from cadchat.accesslog import AccessLog
    from cadchat.auth import AccessPolicy
    from cadchat.catalog import Catalog
    from cadchat.chat.service import ChatService
    from cadchat.config import Settings
    from cadchat.library.store import LibraryStore
    from cadchat.library.tools import BundledLisp
    from cadchat.library.watcher import LibraryWatcher
    from cadchat.lru import LRU
    from cadchat.metrics import Metrics
    from cadchat.shutdown import Shutdown
    from cadchat.usercodes.listing import EncodedList
    from cadchat.usercodes.store import CodeStore

SETTINGS = web.AppKey["Settings"]("settings")
STARTED_AT = web.AppKey("started_at", float)
EXECUTOR = web.AppKey["ThreadPoolExecutor"]("executor")
METRICS = web.AppKey["Metrics"]("metrics")
# The access log, when access lines are written (CADCHAT_ACCESS_LOG, and logging takes INFO lines).
ACCESS_LOG = web.AppKey["AccessLog"]("access_log")

# Retrieval: the live library, its watcher, library + user programs together, and the
# /api/query bodies by (catalog generation, requirement): (matched, JSON bytes).
LIBRARY = web.AppKey["LibraryStore"]("library")
WATCHER = web.AppKey["LibraryWatcher"]("watcher")
CATALOG = web.AppKey["Catalog"]("catalog")
# The bundled LISP tools' source files, read at start-up.
LISP_TOOLS = web.AppKey["BundledLisp"]("lisp_tools")
# (catalog generation, need) -> (the cadchat_queries counter cell of the answer's outcome, answer bytes)
QUERY_CACHE = web.AppKey["LRU[tuple[tuple[int, int], str], tuple[list[float], bytes]]"]("query_cache")

# The PostgreSQL pool, present when CADCHAT_DATABASE_URL is set.
DATABASE = web.AppKey["asyncpg.Pool"]("database")

# User code storage, and the pre-encoded /api/user_codes/list body.
USER_CODES = web.AppKey["CodeStore"]("user_codes")
USER_CODES_LIST = web.AppKey["EncodedList"]("user_codes_list")

# Chat, set up by cadchat.chat.setup.chat_ctx.
CHAT = web.AppKey["ChatService"]("chat")

# Access control (tokens, admin guard, CORS) and the graceful-shutdown state of streams.
POLICY = web.AppKey["AccessPolicy"]("access_policy")
SHUTDOWN = web.AppKey["Shutdown"]("shutdown")

# Per-request: the id echoed in X-Request-ID and written in logs.
REQUEST_ID = web.RequestKey("request_id", str)
