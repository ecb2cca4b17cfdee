"""Small asyncio helpers that work on Python 3.10 (no asyncio.timeout) and cost less on 3.11+."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
_timeout = getattr(asyncio, "timeout", None)


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """Await with a time limit; TimeoutError when it runs out (the awaitable is cancelled)."""
    if seconds <= 0:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise TimeoutError
    if _timeout is not None:  # no extra task per call
        async with _timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10
