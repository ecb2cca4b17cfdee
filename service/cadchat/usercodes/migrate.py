"""`cadchat migrate-store --from files --to postgresql://...`: the file store into PostgreSQL.

The file store is opened as the server opens it (taking its lock, so no server writes to it
meanwhile, and repairing what a crash left), with its legacy imports already in it as codes.
Every code goes in under its own id with its counts, timestamps and origin, in one transaction:
either all of it lands or nothing. Idempotent: a code whose id is already in the database is
not written again, so a rerun moves nothing new. The id sequence is moved past the highest id
the file store ever handed out (deleted ones too), so ids stay never reused.

Then every code is verified against the database: present, and the SHA-256 of the text the
database holds (computed by the database) equal to the file's. A code whose id holds something
else in the database (edited there since, or a different store) is reported and the command
fails; nothing is overwritten.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadchat.config import Settings
from cadchat.database import STORE_MIGRATION_LOCK, create_pool
from cadchat.usercodes.disk import DiskStore
from cadchat.usercodes.pgstore import insert_args
from cadchat.usercodes.popularity import LIBRARY_USAGE_FILE, load_library_usage

COLUMNS = (
    "id",
    "command",
    "description",
    "code",
    "code_sha256",
    "tags",
    "created_at",
    "updated_at",
    "usage_count",
    "success_count",
    "origin",
    "legacy",
)


class MigrationFailed(RuntimeError):
    """Verification found codes the database does not hold as the files do (one-line message)."""


@dataclass
class MigrationReport:
    codes: int = 0  # in the file store
    moved: int = 0  # written by this run
    already: int = 0  # in the database before this run
    verified: int = 0  # present with the same SHA-256 after it
    mismatched: list[int] = field(default_factory=list)
    library_usage: int = 0
    library_usage_moved: int = 0
    highest_id: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.codes} codes in the file store: {self.moved} moved, {self.already} already in the "
            f"database; {self.verified} verified by SHA-256; {self.library_usage_moved} of "
            f"{self.library_usage} library usage counts moved; ids continue after {self.highest_id}; "
            f"{self.seconds:.1f} s"
        )


async def migrate_files(settings: Settings, directory: Path, url: str) -> MigrationReport:
    """Move the file store in `directory` into the database at `url`. Raises StoreLocked (a
    server holds the directory), DatabaseError, MigrationFailed."""
    started = time.monotonic()
    disk = DiskStore(directory)
    disk.acquire()
    try:
        codes, highest, _ = disk.open()
        usage = load_library_usage(disk.read_json(LIBRARY_USAGE_FILE, {}))
        pool = await create_pool(settings, url, max_size=1)
        try:
            async with pool.acquire() as conn:
                report = await _copy(conn, codes, highest, usage)
                await _verify(conn, codes, report)
        finally:
            await pool.close()
    finally:
        disk.release()
    report.seconds = time.monotonic() - started
    if report.mismatched:
        shown = ", ".join(str(i) for i in report.mismatched[:10])
        more = "" if len(report.mismatched) <= 10 else f" and {len(report.mismatched) - 10} more"
        raise MigrationFailed(
            f"{len(report.mismatched)} codes differ in the database from the file store "
            f"(ids {shown}{more}); nothing was overwritten"
        )
    return report


async def _copy(conn: Any, codes: dict[int, Any], highest: int, usage: dict[str, Any]) -> MigrationReport:
    report = MigrationReport(codes=len(codes), library_usage=len(usage), highest_id=highest)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", STORE_MIGRATION_LOCK)
        await conn.execute(
            f"CREATE TEMPORARY TABLE incoming ON COMMIT DROP AS SELECT {', '.join(COLUMNS)}"
            " FROM user_codes WITH NO DATA"
        )
        await conn.copy_records_to_table(
            "incoming", records=[insert_args(code) for code in codes.values()], columns=COLUMNS
        )
        moved = await conn.fetch(
            f"INSERT INTO user_codes ({', '.join(COLUMNS)})"
            f" SELECT {', '.join(COLUMNS)} FROM incoming ORDER BY id"
            " ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        report.moved = len(moved)
        report.already = report.codes - report.moved
        last, called = await conn.fetchrow("SELECT last_value, is_called FROM user_code_ids")
        if highest > (last if called else 0):
            await conn.execute("SELECT setval('user_code_ids', $1, true)", highest)
        report.highest_id = max(highest, last if called else 0)
        rows = [(key, c.usage_count, c.success_count, c.updated_at or "") for key, c in usage.items()]
        for key, used, succeeded, stamp in rows:
            inserted = await conn.fetchval(
                "INSERT INTO library_usage (command, usage_count, success_count, updated_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (command) DO NOTHING RETURNING 1",
                key,
                used,
                succeeded,
                stamp,
            )
            report.library_usage_moved += int(inserted is not None)
    return report


async def _verify(conn: Any, codes: dict[int, Any], report: MigrationReport) -> None:
    """SHA-256 of each code as the database holds it (computed there) against the file's."""
    held = {
        row["id"]: row["digest"]
        for row in await conn.fetch(
            "SELECT id, encode(sha256(convert_to(code, 'UTF8')), 'hex') AS digest FROM user_codes"
            " WHERE id = ANY($1::integer[]) AND NOT deleted",
            list(codes),
        )
    }
    for code_id, code in sorted(codes.items()):
        if held.get(code_id) == hashlib.sha256(code.code.encode("utf-8")).hexdigest():
            report.verified += 1
        else:
            report.mismatched.append(code_id)
