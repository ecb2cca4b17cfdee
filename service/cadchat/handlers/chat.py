"""POST /api/chat: JSON, or Server-Sent Events with `"stream": true` / `Accept: text/event-stream`.

Bad input is answered 400 before a stream starts. Once it has started, a failure ends it with an
`error` event carrying a reason. aiohttp does not cancel a handler whose client left, so an
answer that waits on the upstream watches its connection, streamed or not: a client gone (even
before the first token) cancels the answer at once, which closes the upstream call and frees its
slot; the chat metrics count it as `disconnected`, never as an upstream failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from cadchat.chat.guards import client_address
from cadchat.chat.service import parse_request
from cadchat.inputs import dumps
from cadchat.keys import CHAT, REQUEST_ID, SETTINGS, SHUTDOWN
from cadchat.web_json import json_object, json_response

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4000
WRITE_BUFFER = 8 * 1024
WATCH_INTERVAL = 0.1  # seconds between two looks at a streaming client's connection
SHUTDOWN_EVENT = {
    "kind": "shutdown",
    "status": 503,
    "code": "server_shutdown",
    "message": "the server is restarting; the answer was cut, send the request again",
}


def sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {dumps(data)}\n\n".encode()


async def chat(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    chat_request = parse_request(body, accept=request.headers.get("Accept", ""), max_chars=MAX_MESSAGE_CHARS)
    service = request.app[CHAT]
    trusted = request.app[SETTINGS].chat_trusted_proxies
    service.check_rate(
        client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted), chat_request
    )
    plan = await service.plan(chat_request)  # may raise 503 (upstream cap) before anything is sent
    request_id = request[REQUEST_ID]
    if not chat_request.stream:
        try:
            if not plan.holds_slot:  # offline or cached: answered at once, nothing to free
                return json_response(await service.answer(plan, request_id))
            answering = asyncio.ensure_future(service.answer(plan, request_id))
            if await _until_done_or_gone(request, answering):
                raise ConnectionResetError("the client left before its chat answer")
            return json_response(answering.result())
        finally:
            service.release(plan)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # Nginx: pass events through as they come
            "X-Request-ID": request_id,
        }
    )
    events = service.events(plan, request_id)
    stream = request.app[SHUTDOWN].stream()
    try:
        with stream:
            await response.prepare(request)
            if request.transport is not None:
                # Back-pressure early: a slow reader holds at most this much of ours per stream.
                request.transport.set_write_buffer_limits(high=WRITE_BUFFER)
            pump = asyncio.ensure_future(_pump(response, events, request_id))
            await _until_done_or_gone(request, pump)
    except ConnectionResetError:
        pass  # the client left: closing `events` below closes the upstream call
    except asyncio.CancelledError:
        if not stream.cut:
            raise
        stream.resume()  # the server is stopping: end the stream with the reason
        await events.aclose()
        if response.prepared:
            with contextlib.suppress(ConnectionResetError):
                await response.write(sse("error", SHUTDOWN_EVENT | {"request_id": request_id}))
                await response.write_eof()
    finally:
        await events.aclose()
        service.release(plan)
    return response


async def _pump(response: web.StreamResponse, events, request_id: str) -> None:
    try:
        async for name, data in events:
            await response.write(sse(name, data))
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("chat stream %s failed", request_id)
        error = {"kind": "internal", "status": None, "code": "", "message": "internal error"}
        await response.write(sse("error", {"request_id": request_id, **error}))
    await response.write_eof()


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _until_done_or_gone(request: web.Request, pump: asyncio.Future[Any]) -> bool:
    """Wait for `pump`; cancel it as soon as the client's connection is closed. True when the
    client left (`pump` cancelled); otherwise `pump`'s own exception, if any, is raised."""
    try:
        while not pump.done():
            await asyncio.wait((pump,), timeout=WATCH_INTERVAL)
            if not pump.done() and _gone(request):
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
                return True
        pump.result()
        return False
    finally:
        if not pump.done():  # our own task was cancelled: take the stream down with it
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
