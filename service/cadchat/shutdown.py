"""Graceful shutdown: on SIGTERM (or SIGINT) the server stops accepting connections, lets
requests in flight finish, and gives streams until the grace period (`CADCHAT_SHUTDOWN_GRACE`)
is nearly over; a stream still running then is cut with a last `event: error`
(`{"kind": "shutdown", ...}`) so its client knows why. Afterwards the resources close in reverse
order of creation: the chat's token budget is saved, pending user-code writes finish and the
store's lock is released; the process exits 0.

The sequence is aiohttp's own (`web.run_app(..., shutdown_timeout=grace)`): stop the listening
sockets, close idle keep-alive connections, run `on_shutdown` (where the cut is scheduled),
wait up to `grace` for handlers, cancel what is left, then the cleanup contexts.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from types import TracebackType

from aiohttp import web

from cadchat.keys import SETTINGS, SHUTDOWN

log = logging.getLogger(__name__)
# Streams are cut this long before the grace period ends, so their last event goes out
# before aiohttp cancels whatever is still running.
CUT_MARGIN = 1.0


class Stream:
    """One long-lived response (an SSE stream) that a shutdown may cut: `with shutdown.stream():`
    around the writing; on CancelledError, `stream.cut` tells a shutdown cut from any other."""

    def __init__(self, shutdown: Shutdown) -> None:
        self._shutdown = shutdown
        self.task = asyncio.current_task()
        self.cut = False

    def __enter__(self) -> Stream:
        self._shutdown._streams.add(self)
        if self._shutdown.cutting:
            self._cancel()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._shutdown._streams.discard(self)

    def _cancel(self) -> None:
        if self.task is not None and not self.cut:
            self.cut = True
            self.task.cancel()

    def resume(self) -> None:
        """After a cut was caught: let the handler's last writes run uncancelled."""
        if sys.version_info >= (3, 11) and self.task is not None:
            self.task.uncancel()


class Shutdown:
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.draining = False
        self.cutting = False
        self._streams: set[Stream] = set()
        self._timer: asyncio.TimerHandle | None = None

    def stream(self) -> Stream:
        return Stream(self)

    async def on_shutdown(self, app: web.Application) -> None:
        self.draining = True
        log.info(
            "shutting down: no new connections; %d stream(s) open, %.1f s grace",
            len(self._streams),
            self.grace,
        )
        delay = max(0.0, self.grace - CUT_MARGIN) if self.grace > 2 * CUT_MARGIN else self.grace / 2
        self._timer = asyncio.get_running_loop().call_later(delay, self._cut)

    def _cut(self) -> None:
        self.cutting = True
        if self._streams:
            log.warning("shutdown grace period over: cutting %d open stream(s)", len(self._streams))
        for stream in list(self._streams):
            stream._cancel()

    async def on_cleanup(self, app: web.Application) -> None:
        if self._timer is not None:
            self._timer.cancel()


def install(app: web.Application) -> None:
    shutdown = Shutdown(app[SETTINGS].shutdown_grace)
    app[SHUTDOWN] = shutdown
    app.on_shutdown.append(shutdown.on_shutdown)
    app.on_cleanup.append(shutdown.on_cleanup)
