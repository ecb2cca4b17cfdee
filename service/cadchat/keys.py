"""Typed application keys: every shared object the handlers reach through `request.app`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from cadchat.catalog import Catalog
from cadchat.chat.service import ChatService
from cadchat.config import Settings
from cadchat.library.store import LibraryStore
from cadchat.library.tools import BundledLisp
from cadchat.library.watcher import LibraryWatcher
from cadchat.lru import LRU
from cadchat.metrics import Metrics
from cadchat.usercodes.listing import EncodedList
from cadchat.usercodes.store import UserCodeStore

SETTINGS = web.AppKey("settings", Settings)
STARTED_AT = web.AppKey("started_at", float)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
METRICS = web.AppKey("metrics", Metrics)

# Retrieval: the live library, its watcher, library + user programs together, and the
# /api/query bodies by (catalog generation, requirement): (matched, JSON bytes).
LIBRARY = web.AppKey("library", LibraryStore)
WATCHER = web.AppKey("watcher", LibraryWatcher)
CATALOG = web.AppKey("catalog", Catalog)
# The bundled LISP tools' source files, read at start-up.
LISP_TOOLS = web.AppKey("lisp_tools", BundledLisp)
QUERY_CACHE = web.AppKey("query_cache", LRU[tuple[tuple[int, int], str], tuple[bool, bytes]])

# User code storage, and the pre-encoded /api/user_codes/list body.
USER_CODES = web.AppKey("user_codes", UserCodeStore)
USER_CODES_LIST = web.AppKey("user_codes_list", EncodedList)

# Chat, set up by cadchat.chat.setup.chat_ctx.
CHAT = web.AppKey("chat", ChatService)

# Per-request: the id echoed in X-Request-ID and written in logs.
REQUEST_ID = web.RequestKey("request_id", str)
