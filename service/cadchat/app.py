"""The application factory, used by the server and the tests alike."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from cadchat import __version__
from cadchat.accesslog import AccessLog
from cadchat.auth import install as install_access_policy
from cadchat.catalog import Catalog
from cadchat.chat.setup import chat_ctx
from cadchat.config import BUNDLED_LIBRARY_NAMES, LEGACY_LIBRARY_NAMES, Settings, bundled_library_dir
from cadchat.database import database_ctx
from cadchat.keys import (
    ACCESS_LOG,
    CATALOG,
    CHAT,
    EXECUTOR,
    LIBRARY,
    LISP_TOOLS,
    METRICS,
    POLICY,
    QUERY_CACHE,
    SETTINGS,
    STARTED_AT,
    WATCHER,
)
from cadchat.library.live import reload_library
from cadchat.library.store import LibrarySources, LibraryStore
from cadchat.library.tools import bundled_lisp, bundled_lisp_dir
from cadchat.library.watcher import LibraryWatcher
from cadchat.lru import LRU
from cadchat.metrics import Metrics
from cadchat.middlewares import observer
from cadchat.routes import setup_routes
from cadchat.shutdown import install as install_shutdown
from cadchat.usercodes.lifecycle import install as install_user_codes

log = logging.getLogger(__name__)


def library_sources(settings: Settings) -> LibrarySources:
    """Explicit CADCHAT_LIBRARY_PATHS (files or folders) replace the defaults: the bundled
    libraries, the seed's two file names in the data dir when present, and command_files/."""
    if settings.library_paths:
        files = tuple(p for p in settings.library_paths if not p.is_dir())
        dirs = tuple(p for p in settings.library_paths if p.is_dir())
        return LibrarySources(files=files, directories=dirs)
    bundled = bundled_library_dir()
    files = tuple(bundled / name for name in BUNDLED_LIBRARY_NAMES) if settings.bundled_libraries else ()
    legacy = tuple(settings.data_dir / name for name in LEGACY_LIBRARY_NAMES)
    return LibrarySources(files=files, optional_files=legacy, directories=(settings.command_files_dir,))


async def _access_log_ctx(app: web.Application) -> AsyncIterator[None]:
    # Its writer thread runs while the app does; closed last, after the server has stopped
    # and the last requests have finished, so the lines still pending are written.
    with app[ACCESS_LOG]:
        yield


async def _executor_ctx(app: web.Application) -> AsyncIterator[None]:
    # Parsing, index builds and file I/O run here, never on the event loop.
    app[EXECUTOR] = ThreadPoolExecutor(max_workers=4, thread_name_prefix="cadchat-io")
    yield
    app[EXECUTOR].shutdown(wait=True, cancel_futures=True)


async def _library_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.command_files_dir.mkdir(parents=True, exist_ok=True)
    store = app[LIBRARY]

    async def reload() -> None:
        await reload_library(app)

    await reload()
    if settings.watch:
        watcher = LibraryWatcher(
            store.sources,
            reload,
            debounce=settings.watch_debounce,
            polling=settings.watch_polling,
            poll_interval=settings.watch_poll_interval,
        )
        watcher.start()
        app[WATCHER] = watcher
    yield
    if WATCHER in app:
        await app[WATCHER].stop()


async def _build_info_ctx(app: web.Application) -> AsyncIterator[None]:
    app[METRICS].set_build_info(__version__, app[CHAT].provider_name)
    yield


async def _lisp_tools_ctx(app: web.Application) -> AsyncIterator[None]:
    # The bundled LISP tools' sources: read once, off the event loop; answers look them up.
    loop = asyncio.get_running_loop()
    app[LISP_TOOLS] = await loop.run_in_executor(app[EXECUTOR], bundled_lisp, bundled_lisp_dir())
    log.info("bundled LISP tools: %d source files", len(app[LISP_TOOLS]))
    yield


def create_app(settings: Settings) -> web.Application:
    metrics = Metrics()
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[STARTED_AT] = time.monotonic()
    app[METRICS] = metrics
    app[LIBRARY] = LibraryStore(library_sources(settings))
    app[CATALOG] = Catalog(app[LIBRARY])
    app[QUERY_CACHE] = LRU(settings.query_cache_size)
    app[METRICS].user_programs.set_function(lambda: len(app[CATALOG].user_programs))
    access_log = (
        AccessLog.for_logger(interval=settings.access_log_interval, trusted=settings.chat_trusted_proxies)
        if settings.access_log
        else None
    )
    if access_log is not None:
        app[ACCESS_LOG] = access_log
        app.cleanup_ctx.append(_access_log_ctx)
    # Order matters: user codes join the catalog after the library loads; chat uses both.
    app.cleanup_ctx.append(_executor_ctx)
    if settings.database_url:
        # Shared state of several hosts (codes, counts, budget); first, so a database that is
        # down or too new stops start-up before anything slow.
        app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.extend([_library_ctx, _lisp_tools_ctx])
    install_user_codes(app)
    app.cleanup_ctx.append(chat_ctx)
    app.cleanup_ctx.append(_build_info_ctx)
    install_access_policy(app)
    app.middlewares.append(observer(app[POLICY], metrics if settings.request_metrics else None, access_log))
    install_shutdown(app)
    setup_routes(app)
    return app
