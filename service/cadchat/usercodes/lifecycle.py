"""Wiring the store into the app: created with the app, opened after the library is loaded.

The backend follows CADCHAT_DATABASE_URL: unset, the file store in the data dir; set, the
PostgreSQL store on the pool that the database ctx (before this one) opened."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cadchat.keys import CATALOG, DATABASE, EXECUTOR, METRICS, SETTINGS, USER_CODES, USER_CODES_LIST
from cadchat.usercodes.listing import EncodedList
from cadchat.usercodes.model import limits_from
from cadchat.usercodes.pgstore import PgUserCodeStore
from cadchat.usercodes.store import CodeStore, UserCodeStore


async def user_codes_ctx(app: web.Application) -> AsyncIterator[None]:
    # After the library ctx: saved codes are ranked against a loaded library from the start.
    store = app[USER_CODES]
    if isinstance(store, PgUserCodeStore):
        store.pool = app[DATABASE]
    await store.open(app[EXECUTOR], import_legacy=app[SETTINGS].user_codes_import_legacy)
    app[USER_CODES_LIST].body(store)  # encoded before serving, not on the first request
    yield
    await store.close()


def install(app: web.Application) -> None:
    settings = app[SETTINGS]
    catalog = app[CATALOG]
    callbacks = {
        "on_put": catalog.put_user_program,
        "on_remove": catalog.remove_user_program,
        "on_operation": app[METRICS].observe_store,
    }
    store: CodeStore
    if settings.database_url:
        store = PgUserCodeStore(
            limits_from(settings), poll_interval=settings.database_poll_interval, **callbacks
        )
    else:
        store = UserCodeStore(settings.user_codes_dir, limits_from(settings), **callbacks)
    app[USER_CODES] = store
    app[USER_CODES_LIST] = EncodedList()
    app.cleanup_ctx.append(user_codes_ctx)
