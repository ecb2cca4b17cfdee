"""The user-code directory on disk, and what opening it after a crash repairs.

Layout of `<data dir>/user_codes/` (the Docker volume and the backup source):

    code-0000012.json   the record: metadata *and* the code; its atomic rename is the commit
    code-0000012.lsp    the same code as a plain file a CAD user can APPLOAD directly
    ids.json            highest id ever handed out (written on delete, so ids are never reused)
    library-usage.json  feedback counts of library commands (see popularity.py)
    legacy-imports.json which legacy user_codes.txt versions were already imported
    .lock               held by the running server (flock), so `import-legacy` cannot race it

Anything else (a legacy `user_codes.txt`, its `*.lsp` files) is never touched.

Writes: `.lsp` first, then `.json` (each a temp file, fsynced, renamed into place; then one
directory fsync, which makes both renames durable). Deletes: `.json` first, then `.lsp`. So
the `.json` decides whether a code exists, and what a SIGKILL at any point leaves is resolved
on open, deterministically:

- `.code-*.tmp` temp files: an interrupted write; removed.
- `.json` without `.lsp`, or with an `.lsp` whose bytes differ: the `.lsp` is rewritten from the
  record (an update killed between its two renames rolls back to the committed record).
- `.lsp` without `.json`: an uncommitted create or an interrupted delete; removed.
- a `.json` that does not parse or fails its checksum cannot come from a crash (renames are
  atomic); it is moved to `quarantine/` with its `.lsp` for an operator, never served. The same
  goes for a damaged ids.json, library-usage.json or legacy-imports.json.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadchat.usercodes.fsutil import atomic_write, fsync_dir, unlink_durably
from cadchat.usercodes.model import UserCode, code_filename, record_filename

log = logging.getLogger(__name__)

_RECORD = re.compile(r"code-([0-9]{7})\.json", re.ASCII)
_CODE = re.compile(r"code-([0-9]{7})\.lsp", re.ASCII)
# Only our own leftovers (see fsutil.temp_name); anything else in the directory is not ours.
_TEMP = re.compile(
    r"\.(code-[0-9]{7}\.(json|lsp)|ids\.json|library-usage\.json|legacy-imports\.json)\.[0-9a-f]{8}\.tmp",
    re.ASCII,
)
IDS_FILE = "ids.json"
LOCK_FILE = ".lock"
QUARANTINE = "quarantine"


READ_THREADS = 8


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class StoreLocked(RuntimeError):
    pass


def dump_json(data: Any) -> bytes:
    # One line, UTF-8 as is: readable with `jq`, and the C encoder (indent would not use it).
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default


@dataclass
class OpenReport:
    codes: int = 0
    temp_removed: list[str] = field(default_factory=list)
    lsp_restored: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        return bool(self.temp_removed or self.lsp_restored or self.orphans_removed or self.quarantined)

    def summary(self) -> str:
        return (
            f"{self.codes} codes; removed {len(self.temp_removed)} temp files and "
            f"{len(self.orphans_removed)} uncommitted .lsp files, rewrote {len(self.lsp_restored)} .lsp "
            f"from their records, quarantined {len(self.quarantined)} unreadable records"
        )


class DiskStore:
    """Synchronous, stateless-ish file operations; callers serialize mutations."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock_fd: int | None = None

    # -- process lock ------------------------------------------------------------------------

    def acquire(self) -> None:
        """One writer process per directory: the server, or `cadchat import-legacy`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLocked(f"{self.directory} is in use by another cadchat process") from None
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    # -- open and recover --------------------------------------------------------------------

    def open(self) -> tuple[dict[int, UserCode], int, OpenReport]:
        """All committed codes, the highest id ever used, and what was repaired."""
        self.directory.mkdir(parents=True, exist_ok=True)
        report = OpenReport()
        records: dict[int, Path] = {}
        lsps: dict[int, Path] = {}
        for entry in os.scandir(self.directory):
            if not entry.is_file(follow_symlinks=False):
                continue
            name = entry.name
            if _TEMP.fullmatch(name):
                os.unlink(entry.path)
                report.temp_removed.append(name)
            elif m := _RECORD.fullmatch(name):
                records[int(m.group(1))] = Path(entry.path)
            elif m := _CODE.fullmatch(name):
                lsps[int(m.group(1))] = Path(entry.path)
        codes: dict[int, UserCode] = {}
        ids = sorted(records)
        # Reading is most of an open (two files a code); the reads release the GIL, so a few
        # threads overlap their syscalls. Parsing and checking stay in this thread.
        with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="cadchat-open") as pool:
            contents = pool.map(lambda i: (_read(records[i]), _read(lsps.get(i))), ids, chunksize=64)
            for code_id, (record_bytes, lsp_bytes) in zip(ids, contents, strict=True):
                path = records[code_id]
                try:
                    if record_bytes is None:
                        raise ValueError("record vanished while opening")
                    code = UserCode.from_record(json.loads(record_bytes))
                    if code.id != code_id:
                        raise ValueError(f"record says id {code.id}")
                except (ValueError, UnicodeDecodeError) as exc:
                    self._quarantine(path, lsps.pop(code_id, None), str(exc), report)
                    continue
                codes[code_id] = code
                lsps.pop(code_id, None)
                data = code.code.encode("utf-8")
                if lsp_bytes != data:
                    atomic_write(self.directory / code_filename(code_id), data, sync_dir=False)
                    report.lsp_restored.append(code_filename(code_id))
        for path in lsps.values():
            path.unlink()
            report.orphans_removed.append(path.name)
        if report.repaired:
            fsync_dir(self.directory)
        report.codes = len(codes)
        ids = self.read_json(IDS_FILE, {})
        high = ids.get("highest_id", 0) if isinstance(ids, dict) else 0
        highest = max([high if isinstance(high, int) else 0, *codes])
        return codes, highest, report

    def _quarantine(self, record: Path, lsp: Path | None, reason: str, report: OpenReport) -> None:
        target = self.directory / QUARANTINE
        target.mkdir(exist_ok=True)
        for path in (record, lsp):
            if path is not None:
                os.replace(path, target / path.name)
        fsync_dir(target)
        log.error("user code record %s is unreadable (%s); moved to %s", record.name, reason, target)
        report.quarantined.append(record.name)

    # -- mutations -----------------------------------------------------------------------------

    def write(self, code: UserCode, *, code_changed: bool = True) -> None:
        if code_changed:
            # No directory fsync of its own: the record's, right after, makes both renames
            # durable (same directory), and until the record lands the .lsp does not count.
            atomic_write(self.directory / code.filename, code.code.encode("utf-8"), sync_dir=False)
        atomic_write(self.directory / record_filename(code.id), dump_json(code.to_record()))

    def remember_highest(self, highest_id: int) -> None:
        """Before a delete: once the record is gone, nothing else may remember that this id
        (maybe the highest) was used, and a reused id would point old bookmarks at someone
        else's code."""
        atomic_write(self.directory / IDS_FILE, dump_json({"highest_id": highest_id}))

    def delete(self, code_id: int) -> None:
        unlink_durably(self.directory / record_filename(code_id))
        # An .lsp left by a crash right here is an orphan that open() removes.
        unlink_durably(self.directory / code_filename(code_id), sync_dir=False)

    def write_json(self, name: str, data: Any) -> None:
        atomic_write(self.directory / name, dump_json(data))

    def read_json(self, name: str, default: Any) -> Any:
        """One of the store's own JSON files; one that does not parse (damage: our writes are
        atomic) is moved to quarantine/ and logged, and the store starts without it."""
        path = self.directory / name
        try:
            return read_json(path, default)
        except (ValueError, UnicodeDecodeError) as exc:
            target = self.directory / QUARANTINE
            target.mkdir(exist_ok=True)
            os.replace(path, target / name)
            fsync_dir(target)
            log.error("%s is unreadable (%s); moved to %s, starting without it", path, exc, target)
            return default
