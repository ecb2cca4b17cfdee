"""The PostgreSQL backend of the user-code store: the same contract as the file store, shared
by any number of app hosts.

Each host keeps the same in-memory view the file store keeps (reads never wait for the
database) and changes it only from rows the database returned after a commit, so a reader never
sees an unacknowledged code. What makes several writers safe is in the database, not here:

- ids come from the `user_code_ids` sequence, never reused (a delete leaves a tombstone row);
- the size limit: far from it (by this host's view, NEAR_LIMIT codes or more to spare) a create
  takes no lock, so creates of many hosts commit in parallel; near it, creates count the live
  rows under one advisory lock, one at a time, so the limit holds exactly across hosts;
- an update locks its row (SELECT ... FOR UPDATE) before merging, so two hosts' PATCHes of
  different fields do not undo each other; counts are single `SET n = n + 1` statements;
- each write stamps the row with a change number and its transaction id (a trigger).

Other hosts' changes arrive by polling every CADCHAT_DATABASE_POLL_INTERVAL seconds. A poll
reads the rows whose transaction id is at or above the previous poll's snapshot xmin: every
transaction below it had finished, so its rows were seen then, and nothing committed later can
hide below it (a change number alone could: numbers are taken before commit, not in commit
order). Rows older than what a host already holds (by change number) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any

import asyncpg

from cadchat.database import CREATE_LOCK
from cadchat.errors import NotFound, StoreFull, StoreUnavailable
from cadchat.library.model import Command
from cadchat.usercodes.model import Limits, UserCode, now_iso
from cadchat.usercodes.popularity import Counts
from cadchat.usercodes.store import CodeStore, OperationObserver

log = logging.getLogger(__name__)

# What a lost or refused connection looks like: the write was not acknowledged.
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,  # TimeoutError from Python 3.11 on
    asyncpg.InterfaceError,
    # A connection the server terminated while asyncpg was between protocol states.
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.QueryCanceledError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)
RETRY_AFTER = 1
# Creates this far below the size limit (by this host's view, at most one poll interval old)
# skip the exact count: no other hosts could save this many codes within one interval.
NEAR_LIMIT = 1000

# txid_* rather than pg_current_xact_id/pg_current_snapshot (PostgreSQL 13+): Ubuntu 20.04 ships 12.
_XMIN = "SELECT txid_snapshot_xmin(txid_current_snapshot())"
_INSERT = """
    INSERT INTO user_codes (id, command, description, code, code_sha256, tags, created_at,
                            updated_at, usage_count, success_count, origin, legacy)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)
    RETURNING *
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_of(row: asyncpg.Record) -> UserCode:
    """A live row as a UserCode; ValueError when its code does not match its checksum."""
    legacy = json.loads(row["legacy"]) if row["legacy"] is not None else None
    return UserCode.from_stored(
        row, id=row["id"], tags=row["tags"], code_sha256=row["code_sha256"], legacy=legacy
    )


def insert_args(code: UserCode) -> tuple[Any, ...]:
    """The parameters of `_INSERT` for a code as it is (migrations keep ids and counts)."""
    return (
        code.id,
        code.command,
        code.description,
        code.code,
        sha256(code.code),
        list(code.tags),
        code.created_at,
        code.updated_at,
        code.usage_count,
        code.success_count,
        code.origin,
        json.dumps(code.legacy, ensure_ascii=False) if code.legacy else None,
    )


class PgUserCodeStore(CodeStore):
    """User codes in PostgreSQL. `pool` (an asyncpg pool on a migrated schema) is set before
    `open`; `poll_interval` is in seconds."""

    def __init__(
        self,
        limits: Limits,
        *,
        poll_interval: float = 1.0,
        on_put: Callable[[Command], None] | None = None,
        on_remove: Callable[[int], Any] | None = None,
        on_operation: OperationObserver | None = None,
    ) -> None:
        super().__init__(limits, on_put=on_put, on_remove=on_remove, on_operation=on_operation)
        self.pool: Any = None
        self.poll_interval = poll_interval
        self._seen: dict[int, int] = {}  # code id -> change number held (deleted ones too)
        self._usage_seen: dict[str, int] = {}
        self._xmin = 0
        self._follower: asyncio.Task[None] | None = None
        self._poll_lock = asyncio.Lock()
        self._poll_failing = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self, executor: Executor | None, *, import_legacy: bool = True) -> None:
        """Load every live code and the library usage counts, then follow other hosts' changes.
        (Legacy user_codes.txt imports go into a file store; `cadchat migrate-store` moves it.)"""
        if self.pool is None:
            raise RuntimeError("PgUserCodeStore.open before its pool was set")
        async with self._database() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            xmin = await conn.fetchval(_XMIN)
            rows = await conn.fetch("SELECT * FROM user_codes")
            usage = await conn.fetch("SELECT * FROM library_usage")
        self._apply(rows, usage)
        self._xmin = xmin
        log.info("user codes: %d codes in the database", len(self._codes))
        self._follower = asyncio.create_task(self._follow(), name="user-codes-follower")

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._drain()

    async def refresh(self) -> int:
        """Take in what other hosts committed since the last refresh; returns the number of
        rows that changed this host's view."""
        async with self._poll_lock:
            async with self._database() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                xmin = await conn.fetchval(_XMIN)
                # Ids and change numbers first: while a long transaction (a pg_dump) holds xmin
                # back, every poll sees the same recent rows again; only new versions are read.
                recent = await conn.fetch("SELECT id, change FROM user_codes WHERE txid >= $1", self._xmin)
                wanted = [r["id"] for r in recent if self._seen.get(r["id"], -1) < r["change"]]
                rows = (
                    await conn.fetch("SELECT * FROM user_codes WHERE id = ANY($1::integer[])", wanted)
                    if wanted
                    else []
                )
                usage = await conn.fetch("SELECT * FROM library_usage WHERE txid >= $1", self._xmin)
            changed = self._apply(rows, usage)
            self._xmin = max(self._xmin, xmin)
            return changed

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.refresh()
            except StoreUnavailable as exc:
                if not self._poll_failing:  # once per outage, not once a second
                    log.warning("user codes: cannot poll the database for changes: %s", exc.message)
                self._poll_failing = True
            except Exception:  # keep following: one bad poll must not stop this host's updates
                if not self._poll_failing:
                    log.exception("user codes: polling the database for changes failed")
                self._poll_failing = True
            else:
                if self._poll_failing:
                    log.info("user codes: polling the database again")
                self._poll_failing = False

    # -- mutations -------------------------------------------------------------------------------

    def _reserve_id(self) -> None:
        return None  # the database's sequence assigns it, inside the create's transaction

    async def _create(self, _id: int | None, fields: dict[str, Any], origin: str) -> UserCode:
        stamp = now_iso()
        near_limit = len(self._codes) + self._reserved + NEAR_LIMIT >= self.limits.max_count
        async with self._database() as conn, conn.transaction():
            if near_limit:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", CREATE_LOCK)
                live = await conn.fetchval("SELECT count(*) FROM user_codes WHERE NOT deleted")
                if live >= self.limits.max_count:
                    raise StoreFull(f"the user-code store is full ({self.limits.max_count} codes)")
            try:
                code_id = await conn.fetchval("SELECT nextval('user_code_ids')")
            except asyncpg.SequenceGeneratorLimitExceededError:
                raise StoreFull("no user-code ids left") from None
            draft = UserCode(id=code_id, created_at=stamp, updated_at=stamp, origin=origin, **fields)
            row = await conn.fetchrow(_INSERT, *insert_args(draft))
        return self._take(row)

    async def _update(self, code_id: int, changes: dict[str, Any], partial: bool) -> UserCode:
        async with self._database() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM user_codes WHERE id = $1 AND NOT deleted FOR UPDATE", code_id
            )
            if row is None:
                raise NotFound(f"user code {code_id} not found")
            fields = self._merge(code_of(row), changes, partial)
            row = await conn.fetchrow(
                "UPDATE user_codes SET command = $2, description = $3, code = $4, code_sha256 = $5,"
                " tags = $6, updated_at = $7 WHERE id = $1 RETURNING *",
                code_id,
                fields["command"],
                fields["description"],
                fields["code"],
                sha256(fields["code"]),
                list(fields["tags"]),
                now_iso(),
            )
        return self._take(row)

    async def _delete(self, code_id: int) -> UserCode:
        async with self._database() as conn, conn.transaction():
            old = await conn.fetchrow(
                "SELECT * FROM user_codes WHERE id = $1 AND NOT deleted FOR UPDATE", code_id
            )
            if old is None:
                raise NotFound(f"user code {code_id} not found")
            # The row stays, emptied, so the id is never handed out again and other hosts see it go.
            tombstone = await conn.fetchrow(
                "UPDATE user_codes SET deleted = true, command = '', description = '', code = '',"
                " code_sha256 = $2, tags = '{}', legacy = NULL, updated_at = $3 WHERE id = $1"
                " RETURNING *",
                code_id,
                sha256(""),
                now_iso(),
            )
        self._apply((tombstone,), ())
        return code_of(old)

    async def _record_use(self, code_id: int, success: bool) -> UserCode:
        async with self._database() as conn:
            row = await conn.fetchrow(
                "UPDATE user_codes SET usage_count = usage_count + 1, success_count = success_count + $2"
                " WHERE id = $1 AND NOT deleted RETURNING *",
                code_id,
                int(success),
            )
        if row is None:
            raise NotFound(f"user code {code_id} not found")
        return self._take(row)

    async def _record_library_use(self, key: str, success: bool) -> Counts:
        async with self._database() as conn:
            row = await conn.fetchrow(
                "INSERT INTO library_usage (command, usage_count, success_count, updated_at)"
                " VALUES ($1, 1, $2, $3) ON CONFLICT (command) DO UPDATE SET"
                " usage_count = library_usage.usage_count + 1,"
                " success_count = library_usage.success_count + EXCLUDED.success_count,"
                " updated_at = EXCLUDED.updated_at RETURNING *",
                key,
                int(success),
                now_iso(),
            )
        self._apply((), (row,))
        return self._library_usage[key]

    # -- internals -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _database(self) -> AsyncIterator[Any]:
        """A pooled connection; a lost or slow database becomes StoreUnavailable (503)."""
        try:
            async with self.pool.acquire() as conn:
                yield conn
        except UNAVAILABLE as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreUnavailable(
                f"the user-code database is unavailable ({reason}); nothing was saved, try again",
                retry_after=RETRY_AFTER,
            ) from None

    def _take(self, row: asyncpg.Record) -> UserCode:
        """Apply a live row this host just committed; returns the code as stored."""
        self._apply((row,), ())
        return code_of(row)

    def _apply(self, rows: Any, usage: Any) -> int:
        changed = 0
        for row in rows:
            code_id, change = row["id"], row["change"]
            if self._seen.get(code_id, -1) >= change:
                continue  # this host already holds this version or a newer one
            self._seen[code_id] = change
            changed += 1
            if row["deleted"]:
                self._forget(code_id)
                continue
            try:
                code = code_of(row)
            except ValueError as exc:
                log.error("user code %d in the database is damaged (%s); not served", code_id, exc)
                self._forget(code_id)
                continue
            self._commit(code)
        for row in usage:
            key, change = row["command"], row["change"]
            if self._usage_seen.get(key, -1) >= change:
                continue
            self._usage_seen[key] = change
            changed += 1
            self._library_usage[key] = Counts(row["usage_count"], row["success_count"], row["updated_at"])
            self.version += 1
        return changed
