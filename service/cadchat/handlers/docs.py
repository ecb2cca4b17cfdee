"""GET /openapi.json: the API's OpenAPI 3 document."""

from __future__ import annotations

from aiohttp import web

from cadchat import openapi
from cadchat.web_json import dumps

_BODY = dumps(openapi.document()).encode()


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")
