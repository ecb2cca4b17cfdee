"""The daily token budget shared by every app host through PostgreSQL (CADCHAT_DATABASE_URL).

Each host answers from its own view (chat asks on every request, so no database round trip
there): tokens the database has counted for today plus the ones this host spent and has not
sent yet. Spending is one atomic statement, `INSERT ... ON CONFLICT (day) DO UPDATE SET spent =
spent + n RETURNING spent`, so two hosts never overwrite each other's spend and nothing is
counted twice. It is sent at once and, if the database is away, kept and sent with the next
sync; a sync every CADCHAT_DATABASE_POLL_INTERVAL seconds also reads what the other hosts spent.
So N hosts spend one budget, give or take what they spend within one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from cadchat.chat.guards import TokenBudget, utc_day
from cadchat.usercodes.pgstore import UNAVAILABLE

log = logging.getLogger(__name__)

_ADD = (
    "INSERT INTO chat_token_budget (day, spent) VALUES ($1, $2)"
    " ON CONFLICT (day) DO UPDATE SET spent = chat_token_budget.spent + EXCLUDED.spent RETURNING spent"
)


class SharedTokenBudget(TokenBudget):
    """TokenBudget's interface (`remaining`, `exhausted`, `spent`, `spend`) over the
    `chat_token_budget` table; `start()` before use, `stop()` sends what is left."""

    def __init__(
        self, daily: int, pool: Any, *, sync_interval: float = 1.0, today: Callable[[], str] = utc_day
    ) -> None:
        super().__init__(daily, None, today=today)
        self.pool = pool
        self.sync_interval = sync_interval
        self._unsent: dict[str, int] = {}  # day -> tokens spent here, not yet in the database
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        await self.sync()
        self._task = asyncio.create_task(self._keep_in_sync(), name="chat-budget-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.sync()
        except UNAVAILABLE as exc:
            lost = sum(self._unsent.values())
            log.warning("chat token budget: %d tokens not counted in the database (%s)", lost, exc)

    def spend(self, tokens: int) -> None:
        super().spend(tokens)  # this host's view at once (and the warning when it runs out)
        if tokens > 0:
            self._unsent[self.day] = self._unsent.get(self.day, 0) + tokens
            self._wake.set()

    def load(self) -> None:  # the database is the record: nothing to read from a file
        return None

    def save(self) -> None:
        return None

    async def sync(self) -> None:
        """Send the tokens spent here, read today's total. Raises what asyncpg raises when the
        database is away (the tokens stay for the next sync)."""
        async with self._lock:
            totals: dict[str, int] = {}
            async with self.pool.acquire() as conn:
                for day, tokens in sorted(self._unsent.items()):
                    totals[day] = await conn.fetchval(_ADD, date.fromisoformat(day), tokens)
                    left = self._unsent[day] - tokens  # more may have been spent meanwhile
                    if left:
                        self._unsent[day] = left
                    else:
                        del self._unsent[day]
                today = self._today()
                if today not in totals:
                    found = await conn.fetchval(
                        "SELECT spent FROM chat_token_budget WHERE day = $1", date.fromisoformat(today)
                    )
                    totals[today] = found or 0
            self._roll()
            if self.day == today:
                was_exhausted = self.exhausted
                self.spent = totals[today] + self._unsent.get(today, 0)
                if self.exhausted and not was_exhausted:
                    log.warning(
                        "chat token budget for %s spent by all hosts (%d of %d tokens): offline answers "
                        "until 00:00 UTC",
                        self.day,
                        self.spent,
                        self.daily,
                    )

    async def _keep_in_sync(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sync_interval)
            self._wake.clear()
            try:
                await self.sync()
            except UNAVAILABLE as exc:
                if not self._failing:
                    log.warning("chat token budget: database unreachable (%s); counting here meanwhile", exc)
                self._failing = True
            except Exception:  # keep counting here and retrying: the tokens stay unsent
                if not self._failing:
                    log.exception("chat token budget: sync with the database failed")
                self._failing = True
            else:
                self._failing = False
