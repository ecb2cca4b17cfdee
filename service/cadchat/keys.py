"""Typed application keys: every shared object the handlers reach through `request.app`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from cadchat.catalog import Catalog
from cadchat.config import Settings
from cadchat.library.store import LibraryStore
from cadchat.library.watcher import LibraryWatcher
from cadchat.lru import LRU
from cadchat.metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
STARTED_AT = web.AppKey("started_at", float)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
LIBRARY = web.AppKey("library", LibraryStore)
WATCHER = web.AppKey("watcher", LibraryWatcher)
CATALOG = web.AppKey("catalog", Catalog)
METRICS = web.AppKey("metrics", Metrics)
# /api/query bodies by (catalog generation, requirement): (matched, JSON bytes)
QUERY_CACHE = web.AppKey("query_cache", LRU[tuple[tuple[int, int], str], tuple[bool, bytes]])

# --- user code storage (issue 3): add keys below this line ---
from cadchat.usercodes.listing import EncodedList  # noqa: E402 - kept inside this feature's block
from cadchat.usercodes.store import UserCodeStore  # noqa: E402

USER_CODES = web.AppKey("user_codes", UserCodeStore)
USER_CODES_LIST = web.AppKey("user_codes_list", EncodedList)
# --- chat (issue 4): add keys below this line ---
from cadchat.chat.service import ChatService  # noqa: E402 - kept inside this feature's block

# The chat service, set by cadchat.chat.setup.chat_ctx.
CHAT = web.AppKey("chat", ChatService)

# Per-request: the id echoed in X-Request-ID and written in logs.
REQUEST_ID = web.RequestKey("request_id", str)
