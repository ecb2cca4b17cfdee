"""Status routes: health, stats, models."""

from __future__ import annotations

from aiohttp import web

from cadchat import status
from cadchat.web_json import json_response


async def health(request: web.Request) -> web.Response:
    return json_response(status.health(request.app))


async def stats(request: web.Request) -> web.Response:
    return json_response(status.stats(request.app))


async def models(request: web.Request) -> web.Response:
    return json_response(status.models(request.app))
