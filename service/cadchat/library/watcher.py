"""Live reload: watchdog events on the library folders, debounced into one reload.

Watchdog calls back on its own thread; the callback only hops onto the event loop, where a
timer collapses a burst of events (editors write, rename and chmod in quick succession) into
one reload after `debounce` seconds of quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from cadchat.library.store import LibrarySources

log = logging.getLogger(__name__)


class _Relay(FileSystemEventHandler):
    def __init__(self, sources: LibrarySources, notify: Callable[[], None]) -> None:
        self._sources = sources
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and self._sources.is_library_path(Path(_text(p))) for p in paths):
            self._notify()


def _text(path: str | bytes) -> str:
    return path.decode() if isinstance(path, bytes) else path


class LibraryWatcher:
    def __init__(
        self,
        sources: LibrarySources,
        reload: Callable[[], Awaitable[object]],
        *,
        debounce: float = 0.3,
        polling: bool = False,
        poll_interval: float = 1.0,
    ) -> None:
        self._sources = sources
        self._reload = reload
        self._debounce = debounce
        self._polling = polling
        self._poll_interval = poll_interval
        self._observer: BaseObserver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False

    @property
    def mode(self) -> str:
        return "polling" if self._polling else "native"

    def start(self) -> list[Path]:
        self._loop = asyncio.get_running_loop()
        observer = PollingObserver(timeout=self._poll_interval) if self._polling else Observer()
        relay = _Relay(self._sources, self._notify_threadsafe)
        directories = self._sources.watched_directories()
        for directory in directories:
            observer.schedule(relay, str(directory), recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer
        log.info("watching %s (%s)", ", ".join(map(str, directories)) or "nothing", self.mode)
        return directories

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._observer is not None:
            observer, self._observer = self._observer, None
            observer.stop()
            await asyncio.get_running_loop().run_in_executor(None, observer.join, 5)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notify_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer = self._loop.call_later(self._debounce, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._task is not None and not self._task.done():
            self._again = True  # a change landed mid-reload: reload once more afterwards
            return
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self._reload()
            except Exception:  # a reload must never kill the watcher
                log.exception("library reload failed; keeping the current library")
            if not self._again:
                return
