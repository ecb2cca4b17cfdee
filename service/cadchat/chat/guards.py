"""Resilience and cost guards, plain and clock-injectable: circuit breaker, upstream slots,
per-client rate limit, LRU+TTL answer cache, daily token budget, jittered backoff."""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]


def backoff_delay(attempt: int, base: float, *, cap: float = 8.0, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff for retry `attempt` (0-based); a server's Retry-After
    (capped) wins when it asks for longer."""
    delay = random.uniform(0, min(cap, base * (2**attempt)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


class CircuitBreaker:
    """closed -> (N consecutive failures) -> open -> (cooldown) -> half-open: one probe at a time;
    its success closes the breaker, its failure opens it again for another cooldown."""

    CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"

    def __init__(
        self,
        failures: int,
        cooldown: float,
        *,
        clock: Clock = time.monotonic,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at = 0.0
        self._state = self.CLOSED
        self._probing = False

    @property
    def state(self) -> str:
        if self._state == self.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._set(self.HALF_OPEN)
        return self._state

    def retry_after(self) -> float:
        return (
            max(0.0, self.cooldown - (self._clock() - self._opened_at)) if self._state == self.OPEN else 0.0
        )

    def allow(self) -> bool:
        """May a call go upstream now? In half-open, only one probe is let through."""
        state = self.state
        if state == self.CLOSED:
            return True
        if state == self.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def release_probe(self) -> None:
        """The admitted call ended without a verdict (client gone, bad request)."""
        self._probing = False

    def record_success(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state != self.CLOSED:
            self._set(self.CLOSED)

    def record_failure(self) -> None:
        self._probing = False
        self._failures += 1
        if self._state == self.HALF_OPEN or self._failures >= self.threshold:
            self._opened_at = self._clock()
            self._set(self.OPEN)

    def _set(self, state: str) -> None:
        if state != self._state:
            log.warning("chat circuit breaker %s -> %s", self._state, state)
            self._state = state
            if self._on_change:
                self._on_change(state)


class Slots:
    """A hard cap on concurrent upstream calls: acquire never waits, beyond the cap it fails."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0

    def try_acquire(self) -> bool:
        if self.in_use >= self.capacity:
            return False
        self.in_use += 1
        return True

    def release(self) -> None:
        self.in_use = max(0, self.in_use - 1)


class RateLimiter:
    """Token bucket per client: `rate` requests a minute, bursts of `burst`; 0 turns it off.
    Idle clients are forgotten oldest-first beyond `max_clients`, so memory stays bounded."""

    def __init__(
        self, per_minute: float, burst: int, *, max_clients: int = 20_000, clock: Clock = time.monotonic
    ):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, client: str) -> float:
        """0 when the request may proceed (and is counted); else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, stamp = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[str]) -> str:
    """The rate-limit identity: X-Forwarded-For's last hop when the peer is the trusted local proxy
    (Nginx appends the address it saw last), else the peer itself."""
    peer = peer or "unknown"
    if forwarded_for and peer in trusted:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last
    return peer


class TTLCache(Generic[T]):
    """LRU with a time-to-live; size 0 or ttl 0 turns it off."""

    def __init__(self, size: int, ttl: float, *, clock: Clock = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.ttl > 0

    def get(self, key: str) -> T | None:
        found = self._items.get(key)
        if found is None:
            return None
        stored_at, value = found
        if self._clock() - stored_at > self.ttl:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: T) -> None:
        if not self.enabled:
            return
        self._items[key] = (self._clock(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def utc_day() -> str:
    """Today's UTC date; recomputed at most once a second (it is asked on every chat request)."""
    now = time.time()
    if now - _day_cache[0] >= 1.0:
        _day_cache[:] = [now, datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")]
    return _day_cache[1]


_day_cache: list = [0.0, ""]


class TokenBudget:
    """Tokens spent today (UTC) against a daily limit; 0 means unlimited. Persisted in the data dir
    so a restart does not hand out a fresh budget."""

    def __init__(self, daily: int, path: Path | None = None, *, today: Callable[[], str] = utc_day) -> None:
        self.daily = daily
        self.path = path
        self._today = today
        self.day = today()
        self.spent = 0
        self.dirty = False

    def _roll(self) -> None:
        day = self._today()
        if day != self.day:
            self.day, self.spent, self.dirty = day, 0, True

    @property
    def remaining(self) -> int | None:
        self._roll()
        return None if self.daily <= 0 else max(0, self.daily - self.spent)

    @property
    def exhausted(self) -> bool:
        remaining = self.remaining
        return remaining is not None and remaining <= 0

    def spend(self, tokens: int) -> None:
        self._roll()
        if tokens > 0:
            was_exhausted = self.exhausted
            self.spent += tokens
            self.dirty = True
            if self.exhausted and not was_exhausted:
                log.warning(
                    "chat token budget for %s spent (%d of %d tokens): offline answers until 00:00 UTC",
                    self.day,
                    self.spent,
                    self.daily,
                )

    def load(self) -> None:
        if self.path is None:
            return
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("chat token budget: cannot read %s (%s); starting from 0", self.path.name, exc)
            return
        if isinstance(data, dict) and data.get("day") == self._today() and isinstance(data.get("spent"), int):
            self.day, self.spent = data["day"], data["spent"]

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"day": self.day, "spent": self.spent}), encoding="utf-8")
        os.replace(tmp, self.path)
        self.dirty = False
