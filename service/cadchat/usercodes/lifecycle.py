"""Wiring the store into the app: created with the app, opened after the library is loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cadchat.keys import CATALOG, EXECUTOR, SETTINGS, USER_CODES, USER_CODES_LIST
from cadchat.usercodes.listing import EncodedList
from cadchat.usercodes.model import limits_from
from cadchat.usercodes.store import UserCodeStore


async def user_codes_ctx(app: web.Application) -> AsyncIterator[None]:
    # After the library ctx: saved codes are ranked against a loaded library from the start.
    await app[USER_CODES].open(app[EXECUTOR], import_legacy=app[SETTINGS].user_codes_import_legacy)
    app[USER_CODES_LIST].body(app[USER_CODES])  # encoded before serving, not on the first request
    yield
    await app[USER_CODES].close()


def install(app: web.Application) -> None:
    settings = app[SETTINGS]
    catalog = app[CATALOG]
    app[USER_CODES] = UserCodeStore(
        settings.user_codes_dir,
        limits_from(settings),
        on_put=catalog.put_user_program,
        on_remove=catalog.remove_user_program,
    )
    app[USER_CODES_LIST] = EncodedList()
    app.cleanup_ctx.append(user_codes_ctx)
