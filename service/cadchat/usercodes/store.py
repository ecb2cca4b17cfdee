"""The user-code store the service talks to. CodeStore is what every backend shares: reads from
an in-memory view, validation, change callbacks. UserCodeStore, the file backend, keeps that view
in step with the directory by one writer at a time (the PostgreSQL backend: pgstore.py).

Reads are served from memory, which changes only after the files are committed, so a reader
never sees a half-written code. One process owns the directory (DiskStore.acquire). Within it,
mutations of one code are serialized by that code's asyncio.Lock; different codes touch
different files, so their fsyncs overlap (the file system batches them into shared journal
commits) instead of queueing. Ids are reserved synchronously, before any await, so concurrent
creates never share one. The shared files (ids.json, library-usage.json) have a lock of their
own. File I/O runs in the app's executor, and every mutation is shielded from request
cancellation, so memory and disk cannot part ways when a client hangs up mid-save.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, TypeVar

from cadchat.errors import NotFound, StoreFull
from cadchat.library.model import Command
from cadchat.usercodes import legacy
from cadchat.usercodes.disk import DiskStore, OpenReport
from cadchat.usercodes.model import (
    MAX_ID,
    Limits,
    UserCode,
    check_code,
    check_command,
    check_tags,
    check_text,
    now_iso,
)
from cadchat.usercodes.popularity import (
    LIBRARY_USAGE_FILE,
    Counts,
    dump_library_usage,
    load_library_usage,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

USER_CODE_SOURCE = "user_codes"
OperationObserver = Callable[[str, "BaseException | None"], None]


def observed(operation: str) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Report each call of a store mutation, and the exception it raised (None when it
    succeeded), to the store's `on_operation` observer (the metrics)."""

    def wrap(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(method)
        async def call(self: CodeStore, *args: Any, **kwargs: Any) -> T:
            try:
                result = await method(self, *args, **kwargs)
            except Exception as exc:
                if self._on_operation is not None:
                    self._on_operation(operation, exc)
                raise
            if self._on_operation is not None:
                self._on_operation(operation, None)
            return result

        return call

    return wrap


def as_command(code: UserCode) -> Command:
    """How a saved code joins retrieval."""
    return Command(
        name=code.command,
        description=code.description,
        type="user_program",
        source=USER_CODE_SOURCE,
        file=code.filename,
        date=code.created_at[:10],
        id=code.id,
    )


class CodeStore:
    """What the routes see of a user-code store, whichever backend holds the codes: reads from
    memory (`get`, `all`, `search`, counts; `version` bumps on every change), mutations that
    return only once durable. Backends: UserCodeStore (files in the data dir, one process) and
    PgUserCodeStore (PostgreSQL, any number of hosts)."""

    def __init__(
        self,
        limits: Limits,
        *,
        on_put: Callable[[Command], None] | None = None,
        on_remove: Callable[[int], Any] | None = None,
        on_operation: OperationObserver | None = None,
    ) -> None:
        self.limits = limits
        self._on_put = on_put
        self._on_remove = on_remove
        self._on_operation = on_operation
        self._codes: dict[int, UserCode] = {}
        self._library_usage: dict[str, Counts] = {}
        self._pending: set[asyncio.Future[Any]] = set()  # shielded mutations still running
        self._reserved = 0  # creates in progress on this host
        self.version = 0  # bumped on every change: response caches key on it
        self.import_report: legacy.ImportReport | None = None

    # -- lifecycle (per backend) ---------------------------------------------------------------

    async def open(self, executor: Executor | None, *, import_legacy: bool = True) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # -- reads (memory only) -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._codes)

    def get(self, code_id: int) -> UserCode | None:
        return self._codes.get(code_id)

    def all(self) -> list[UserCode]:
        return [self._codes[k] for k in sorted(self._codes)]

    def library_usage(self) -> dict[str, Counts]:
        return dict(self._library_usage)

    def total_usage(self) -> int:
        return sum(c.usage_count for c in self._codes.values()) + sum(
            c.usage_count for c in self._library_usage.values()
        )

    def search(self, text: str) -> list[UserCode]:
        """Case-insensitive substring match on command, description and tags (the /v1 `q`)."""
        needle = text.strip().casefold()
        if not needle:
            return self.all()
        return [
            c
            for c in self.all()
            if needle in c.command.casefold()
            or needle in c.description.casefold()
            or any(needle in t.casefold() for t in c.tags)
        ]

    # -- mutations (per backend): each raises InvalidInput/TooLarge, NotFound or StoreFull -----

    @observed("save")
    async def create(
        self,
        *,
        command: Any,
        description: Any,
        code: Any,
        tags: Any = None,
        origin: str = "api",
        require_description: bool = True,
    ) -> UserCode:
        fields = self._check(command, description, code, tags, require_description)
        # Reserved with no await between the check and the count: concurrent creates on this
        # host see each other (`_reserved`) before any of them is written.
        code_id = self._reserve_id()
        self._reserved += 1
        try:
            return await self._shielded(self._create, code_id, fields, origin)
        finally:
            self._reserved -= 1

    @observed("update")
    async def update(self, code_id: int, changes: dict[str, Any], *, partial: bool) -> UserCode:
        """PUT (partial=False: command, description and code required) or PATCH."""
        return await self._shielded(self._update, code_id, changes, partial)

    @observed("delete")
    async def delete(self, code_id: int) -> UserCode:
        return await self._shielded(self._delete, code_id)

    @observed("feedback")
    async def record_use(self, code_id: int, success: bool) -> UserCode:
        return await self._shielded(self._record_use, code_id, success)

    @observed("feedback")
    async def record_library_use(self, command: Command, success: bool) -> Counts:
        return await self._shielded(self._record_library_use, command.key, success)

    # Each backend's own step of the mutations above (run shielded: a client that leaves does not
    # cut a write in half).
    def _reserve_id(self) -> int | None:
        """The id a create will write, or None when the backend assigns it while writing;
        raises StoreFull."""
        raise NotImplementedError

    async def _create(self, code_id: int | None, fields: dict[str, Any], origin: str) -> UserCode:
        raise NotImplementedError

    async def _update(self, code_id: int, changes: dict[str, Any], partial: bool) -> UserCode:
        raise NotImplementedError

    async def _delete(self, code_id: int) -> UserCode:
        raise NotImplementedError

    async def _record_use(self, code_id: int, success: bool) -> UserCode:
        raise NotImplementedError

    async def _record_library_use(self, key: str, success: bool) -> Counts:
        raise NotImplementedError

    # -- shared internals ----------------------------------------------------------------------

    def _check(self, command: Any, description: Any, code: Any, tags: Any, require_description: bool):
        limits = self.limits
        return {
            "command": check_command(command, limits.max_command_chars),
            "description": check_text(
                "description",
                description,
                limits.max_description_chars,
                required=require_description,
                multiline=True,
            ),
            "code": check_code(code, limits),
            "tags": check_tags(tags, limits),
        }

    def _merge(self, current: UserCode, changes: dict[str, Any], partial: bool) -> dict[str, Any]:
        """The checked fields of a PUT (partial=False: command, description and code required)
        or PATCH of `current`."""

        def pick(name: str, old: Any) -> Any:
            return changes.get(name, old if partial else None)

        return self._check(
            pick("command", current.command),
            pick("description", current.description),
            pick("code", current.code),
            pick("tags", list(current.tags)),
            False,  # only the contract's save insists on a description
        )

    def _require(self, code_id: int) -> UserCode:
        code = self._codes.get(code_id)
        if code is None:
            raise NotFound(f"user code {code_id} not found")
        return code

    def _commit(self, code: UserCode) -> None:
        self._codes[code.id] = code
        self.version += 1
        self._put(code)

    def _forget(self, code_id: int) -> None:
        if self._codes.pop(code_id, None) is not None:
            self.version += 1
            if self._on_remove:
                self._on_remove(code_id)

    def _put(self, code: UserCode) -> None:
        if self._on_put:
            self._on_put(as_command(code))

    async def _shielded(self, operation: Callable[..., Awaitable[T]], *args: Any) -> T:
        # Once a write has started, finish it and its memory update even if the request is
        # cancelled: the caller may go, the store stays consistent. close() waits for it.
        task = asyncio.ensure_future(operation(*args))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await asyncio.shield(task)

    async def _drain(self) -> None:
        if self._pending:
            log.info("user codes: waiting for %d write(s) in progress", len(self._pending))
            await asyncio.wait(set(self._pending))


class UserCodeStore(CodeStore):
    """The file backend: `<data dir>/user_codes/`, owned by one process (see disk.py)."""

    def __init__(
        self,
        directory: Path,
        limits: Limits,
        *,
        on_put: Callable[[Command], None] | None = None,
        on_remove: Callable[[int], Any] | None = None,
        on_operation: OperationObserver | None = None,
    ) -> None:
        super().__init__(limits, on_put=on_put, on_remove=on_remove, on_operation=on_operation)
        self.disk = DiskStore(directory)
        self._highest = 0
        self._persisted_highest = 0
        self._code_locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}
        self._shared_files_lock = asyncio.Lock()
        self._executor: Executor | None = None
        self.open_report = OpenReport()

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self, executor: Executor | None, *, import_legacy: bool = True) -> None:
        self._executor = executor
        await self._run(self.disk.acquire)
        try:
            await self._run(self._open_sync, import_legacy)
        except BaseException:
            await self._run(self.disk.release)
            raise
        for code in self._codes.values():
            self._put(code)
        log.info("user codes: %s", self.open_report.summary())

    def _open_sync(self, import_legacy: bool) -> None:
        codes, highest, report = self.disk.open()
        self.open_report = report
        self._persisted_highest = highest
        legacy_file = self.disk.directory / legacy.LEGACY_INDEX
        if import_legacy and legacy_file.is_file():
            try:
                if not legacy.already_imported(self.disk, legacy_file):
                    result = legacy.import_into(self.disk, codes, highest, legacy_file, self.limits)
                    self.import_report = result.report
                    highest = result.highest
                    for line in result.report.lines():
                        log.info("legacy import: %s", line)
            except OSError as exc:
                # The store itself is fine: serve it, and let the operator rerun the import
                # (`cadchat import-legacy`) once the file is readable.
                log.error("legacy import of %s failed, nothing more imported: %s", legacy_file, exc)
        self._codes = codes
        # max(): an import that failed half-way has still stored some codes under new ids.
        self._highest = max([highest, *codes])
        self._library_usage = load_library_usage(self.disk.read_json(LIBRARY_USAGE_FILE, {}))

    async def close(self) -> None:
        """Let writes in progress (their requests may be gone) commit, then release the lock."""
        await self._drain()
        await self._run(self.disk.release)

    # -- mutations -----------------------------------------------------------------------------

    def _reserve_id(self) -> int:
        if len(self._codes) + self._reserved >= self.limits.max_count:
            raise StoreFull(f"the user-code store is full ({self.limits.max_count} codes)")
        if self._highest >= MAX_ID:
            raise StoreFull("no user-code ids left")
        self._highest += 1
        return self._highest

    async def _create(self, code_id: int, fields: dict[str, Any], origin: str) -> UserCode:
        async with self._locked(code_id):
            stamp = now_iso()
            code = UserCode(id=code_id, created_at=stamp, updated_at=stamp, origin=origin, **fields)
            await self._run(self.disk.write, code)
            self._commit(code)
            return code

    async def _update(self, code_id: int, changes: dict[str, Any], partial: bool) -> UserCode:
        async with self._locked(code_id):
            # Merged under the code's lock: two PATCHes of different fields must not undo each other.
            current = self._require(code_id)
            fields = self._merge(current, changes, partial)
            updated = current.with_changes(updated_at=now_iso(), **fields)
            await self._run(self.disk.write, updated, code_changed=updated.code != current.code)
            self._commit(updated)
            return updated

    async def _delete(self, code_id: int) -> UserCode:
        async with self._locked(code_id):
            current = self._require(code_id)
            async with self._shared_files_lock:
                highest = self._highest
                if highest > self._persisted_highest:
                    await self._run(self.disk.remember_highest, highest)
                    self._persisted_highest = highest
            await self._run(self.disk.delete, code_id)
            self._forget(code_id)
            return current

    async def _record_use(self, code_id: int, success: bool) -> UserCode:
        async with self._locked(code_id):
            current = self._require(code_id)
            updated = current.with_changes(
                usage_count=current.usage_count + 1, success_count=current.success_count + int(success)
            )
            await self._run(self.disk.write, updated, code_changed=False)
            self._codes[code_id] = updated
            self.version += 1
            return updated

    async def _record_library_use(self, key: str, success: bool) -> Counts:
        async with self._shared_files_lock:
            usage = dict(self._library_usage)
            usage[key] = usage.get(key, Counts()).add(success)
            await self._run(self.disk.write_json, LIBRARY_USAGE_FILE, dump_library_usage(usage))
            self._library_usage = usage
            self.version += 1
            return usage[key]

    # -- internals -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self, code_id: int) -> AsyncIterator[None]:
        """This code's lock, dropped from the table when nobody holds or awaits it."""
        lock, users = self._code_locks.setdefault(code_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._code_locks[code_id]

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        if kwargs:
            return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))
        return await loop.run_in_executor(self._executor, function, *args)
