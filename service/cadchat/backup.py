"""Backup archives of a data directory: snapshot, verify, restore.

An archive is a gzip-compressed tar of paths relative to the data directory:

    user_codes/code-0000012.json   every committed record, as read
    user_codes/code-0000012.lsp    its code, written from the record (so the two always agree)
    user_codes/ids.json            (and library-usage.json, legacy-imports.json) when present
    command_files/*.txt            the operator's command libraries
    autocad_basic_commands.txt     the seed deployment's library files, when present
    lisp_commands.txt
    cadchat-backup.json            the manifest, always the last member

The manifest holds the format and its version, the service version that wrote it, the time,
the code count, the highest id handed out, and the size and SHA-256 of every other member.

Consistency without stopping the server: a code exists exactly when its `.json` record does,
the record embeds the code and its SHA-256, and it is replaced by an atomic rename. A snapshot
lists the records, then reads each one whole; a concurrent save of that code lands wholly
before (the new record is read) or wholly after (the old one, or none). So every save
acknowledged before the listing is in the archive and nothing half-written is. `ids.json` is
read after the records: a delete writes it before removing the record, so the archive never
lets a restored store reuse the id of a code it holds or of one deleted before the snapshot.
Temp files, orphan `.lsp` files, `quarantine/` and the server's `.lock` are not store content
and are left out.

Restore verifies the whole archive first (manifest present and ours, every member listed with
matching size and hash, nothing else in it, every record a valid record), then writes into an
empty data directory only: members go to a staging folder inside it, are fsynced, and are
renamed into place at the end, so a failure leaves the directory empty again.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tarfile
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cadchat import SERVICE_NAME, __version__
from cadchat.config import BUNDLED_LIBRARY_NAMES
from cadchat.usercodes.disk import IDS_FILE, dump_json
from cadchat.usercodes.fsutil import fsync_dir
from cadchat.usercodes.legacy import IMPORTS_FILE
from cadchat.usercodes.model import UserCode, code_filename
from cadchat.usercodes.popularity import LIBRARY_USAGE_FILE

FORMAT = "cadchat-backup"
FORMAT_VERSION = 1
MANIFEST = "cadchat-backup.json"
USER_CODES = "user_codes"
COMMAND_FILES = "command_files"
STORE_FILES = (IDS_FILE, LIBRARY_USAGE_FILE, IMPORTS_FILE)

_RECORD = re.compile(r"code-([0-9]{7})\.json", re.ASCII)
_MEMBER = re.compile(
    r"(user_codes/(code-[0-9]{7}\.(json|lsp)|ids\.json|library-usage\.json|legacy-imports\.json)"
    r"|command_files/[^/\x00.][^/\x00]*"
    r"|autocad_basic_commands\.txt|lisp_commands\.txt)",
    re.ASCII,
)
_CHUNK = 1 << 20
FSYNC_THREADS = 16


class BackupError(Exception):
    """The backup could not be written (a read or write failed); the message says what."""


class ArchiveRefused(Exception):
    """The archive is damaged, truncated, foreign or of an unknown format; nothing was changed."""


class TargetNotEmpty(Exception):
    """Restore was pointed at a data directory that already holds something."""


@dataclass
class BackupSummary:
    """What a backup holds. `bytes` is the archive size (0 when written to a stream)."""

    codes: int = 0
    highest_id: int = 0
    command_files: list[str] = field(default_factory=list)
    store_files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # records that failed their checks
    created_at: str = ""
    service_version: str = ""
    members: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        text = (
            f"{self.codes} codes (highest id {self.highest_id}), {len(self.command_files)} command files, "
            f"{len(self.store_files)} store files, {self.members} members"
        )
        if self.bytes:
            text += f", {self.bytes} bytes"
        if self.skipped:
            text += f"; left out {len(self.skipped)} damaged records: {', '.join(self.skipped)}"
        return text


# --- writing ---------------------------------------------------------------------------------


def _read_or_none(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class _Writer:
    def __init__(self, fileobj: IO[bytes]) -> None:
        # Both are closed in close(); the caller owns `fileobj`. Members are plain 0644 files
        # owned by nobody in particular: restore gives them to whoever runs it.
        self._gzip = gzip.GzipFile(fileobj=fileobj, mode="wb", compresslevel=6, mtime=0)
        # Tar writes a member as several small pieces; compressing them in 1 MiB runs is cheaper.
        self._buffer = io.BufferedWriter(self._gzip, buffer_size=_CHUNK)  # type: ignore[arg-type]
        # GNU format: long names without the per-member PAX header work of the default.
        self._tar = tarfile.open(fileobj=self._buffer, mode="w", format=tarfile.GNU_FORMAT)  # noqa: SIM115
        self.members: dict[str, dict[str, Any]] = {}
        self.mtime = int(time.time())

    def add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        info.mtime = self.mtime
        self._tar.addfile(info, io.BytesIO(data))
        self.members[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def close(self) -> None:
        self._tar.close()
        self._buffer.flush()
        self._gzip.close()


def _snapshot(data_dir: Path, writer: _Writer, summary: BackupSummary) -> None:
    codes_dir = data_dir / USER_CODES
    # The snapshot point: every record committed before this listing is read below.
    try:
        names = sorted(e.name for e in os.scandir(codes_dir) if _RECORD.fullmatch(e.name))
    except FileNotFoundError:
        names = []
    highest = 0
    for name in names:
        raw = _read_or_none(codes_dir / name)
        if raw is None:
            continue  # deleted since the listing: out of the snapshot
        try:
            code = UserCode.from_record(json.loads(raw))
            if name != f"code-{code.id:07d}.json":
                raise ValueError(f"record says id {code.id}")
        except (ValueError, UnicodeDecodeError):
            summary.skipped.append(name)
            continue
        writer.add(f"{USER_CODES}/{name}", raw)
        writer.add(f"{USER_CODES}/{code_filename(code.id)}", code.code.encode("utf-8"))
        summary.codes += 1
        highest = max(highest, code.id)
    # After the records (see the module docstring).
    for name in STORE_FILES:
        raw = _read_or_none(codes_dir / name)
        if raw is not None:
            writer.add(f"{USER_CODES}/{name}", raw)
            summary.store_files.append(name)
            if name == IDS_FILE:
                try:
                    recorded = json.loads(raw).get("highest_id", 0)
                except (ValueError, AttributeError):
                    recorded = 0
                if isinstance(recorded, int) and not isinstance(recorded, bool):
                    highest = max(highest, recorded)
    summary.highest_id = highest
    libraries = data_dir / COMMAND_FILES
    if libraries.is_dir():
        for entry in sorted(os.scandir(libraries), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                raw = _read_or_none(Path(entry.path))
                if raw is not None:
                    writer.add(f"{COMMAND_FILES}/{entry.name}", raw)
                    summary.command_files.append(entry.name)
    for name in BUNDLED_LIBRARY_NAMES:
        path = data_dir / name
        if path.is_file() and not path.is_symlink():
            raw = _read_or_none(path)
            if raw is not None:
                writer.add(name, raw)
                summary.command_files.append(name)


def write_backup(data_dir: Path, output: IO[bytes]) -> BackupSummary:
    """Write a backup of `data_dir` to the binary stream `output` (not closed).

    Safe while the server runs and saves; takes no lock. Raises BackupError when the data
    directory is missing or a read/write fails."""
    if not data_dir.is_dir():
        raise BackupError(f"data directory {data_dir} does not exist")
    started = time.monotonic()
    summary = BackupSummary(service_version=__version__)
    writer = _Writer(output)
    try:
        _snapshot(data_dir, writer, summary)
        summary.created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "service": SERVICE_NAME,
            "service_version": __version__,
            "created_at": summary.created_at,
            "codes": summary.codes,
            "highest_id": summary.highest_id,
            "skipped_damaged_records": summary.skipped,
            "members": writer.members,
        }
        summary.members = len(writer.members)
        writer.add(MANIFEST, dump_json(manifest))
        writer.close()
    except OSError as exc:
        raise BackupError(f"backup of {data_dir} failed: {exc}") from exc
    summary.seconds = time.monotonic() - started
    return summary


def backup_to_file(data_dir: Path, output: Path) -> BackupSummary:
    """Write the archive to a temp file next to `output`, fsync it, verify it, rename it into
    place: `output` is a whole, verified archive or is not there."""
    tmp = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            summary = write_backup(data_dir, f)
            f.flush()
            os.fsync(f.fileno())
        try:
            verify_archive(tmp)
        except ArchiveRefused as exc:
            raise BackupError(f"the archive just written does not verify: {exc}") from exc
        os.replace(tmp, output)
        fsync_dir(output.parent)
    except OSError as exc:
        raise BackupError(f"cannot write {output}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    summary.bytes = output.stat().st_size
    return summary


# --- reading and verifying -------------------------------------------------------------------


def _members(source: Path | IO[bytes]) -> Iterator[tuple[tarfile.TarInfo, bytes]]:
    """Every member with its bytes, read front to back (a pipe will do); ArchiveRefused for
    anything that is not a readable tar.gz of ours."""
    raw = open(source, "rb") if isinstance(source, Path) else contextlib.nullcontext(source)  # noqa: SIM115
    try:
        with raw as fileobj, gzip.GzipFile(fileobj=fileobj, mode="rb") as gz:
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                for info in tar:
                    if not (info.name == MANIFEST or _MEMBER.fullmatch(info.name)):
                        raise ArchiveRefused(f"unexpected member {info.name!r}: not a cadchat backup")
                    if not info.isfile():
                        raise ArchiveRefused(f"member {info.name!r} is not a regular file")
                    extracted = tar.extractfile(info)
                    assert extracted is not None  # a regular file
                    yield info, extracted.read()
            # Read to the end of the gzip stream: its CRC and length are checked only there.
            while gz.read(_CHUNK):
                pass
    except (EOFError, zlib.error) as exc:
        raise ArchiveRefused(f"truncated or damaged archive ({exc})") from None
    except tarfile.ReadError as exc:
        if "unexpected end" in str(exc):
            raise ArchiveRefused(f"truncated archive ({exc})") from None
        raise ArchiveRefused(f"damaged or not a tar.gz archive ({exc})") from None
    except gzip.BadGzipFile as exc:  # also a failed CRC or length check at the end
        raise ArchiveRefused(f"damaged or not a gzip file ({exc})") from None


def _check_manifest(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveRefused("manifest is not a cadchat backup manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveRefused(f"backup format version {version!r} is not supported (this is {FORMAT_VERSION})")
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int)
        for v in members.values()
    ):
        raise ArchiveRefused("manifest has no valid member list")
    if not isinstance(manifest.get("codes"), int):
        raise ArchiveRefused("manifest has no code count")
    return manifest


def _verify(path: Path | IO[bytes], sink: Path | None) -> BackupSummary:
    """Check every member against the manifest; with `sink`, also write them under it."""
    seen: dict[str, dict[str, Any]] = {}
    written: list[Path] = []
    records: dict[str, bytes] = {}
    lsps: dict[str, str] = {}
    manifest: Any = None
    for info, data in _members(path):
        if manifest is not None:
            raise ArchiveRefused(f"member {info.name!r} after the manifest: not a cadchat backup")
        if info.name == MANIFEST:
            try:
                manifest = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ArchiveRefused(f"manifest does not parse ({exc})") from None
            continue
        if info.name in seen:
            raise ArchiveRefused(f"member {info.name!r} appears twice")
        seen[info.name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        name = PurePosixPath(info.name)
        if name.parent.name == USER_CODES and name.suffix == ".json" and _RECORD.fullmatch(name.name):
            records[info.name] = data
        elif name.parent.name == USER_CODES and name.suffix == ".lsp":
            lsps[info.name] = seen[info.name]["sha256"]
        if sink is not None:
            _write_new(sink / info.name, data)
            written.append(sink / info.name)
    if manifest is None:
        raise ArchiveRefused("no manifest: truncated, or not a cadchat backup")
    manifest = _check_manifest(manifest)
    listed = manifest["members"]
    for name in sorted(set(listed) | set(seen)):
        if name not in seen:
            raise ArchiveRefused(f"member {name!r} listed in the manifest is missing")
        if name not in listed:
            raise ArchiveRefused(f"member {name!r} is not in the manifest")
        if seen[name] != {"size": listed[name]["size"], "sha256": listed[name]["sha256"]}:
            raise ArchiveRefused(f"member {name!r} does not match its SHA-256 in the manifest")
    for name, raw in records.items():
        try:
            code = UserCode.from_record(json.loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArchiveRefused(f"record {name!r} is not valid: {exc}") from None
        lsp = f"{USER_CODES}/{code_filename(code.id)}"
        if PurePosixPath(name).name != f"code-{code.id:07d}.json":
            raise ArchiveRefused(f"record {name!r} says id {code.id}")
        if lsps.pop(lsp, None) != hashlib.sha256(code.code.encode("utf-8")).hexdigest():
            raise ArchiveRefused(f"{lsp!r} is missing or differs from its record")
    if lsps:
        raise ArchiveRefused(f"{sorted(lsps)[0]!r} has no record")
    if manifest["codes"] != len(records):
        raise ArchiveRefused(f"manifest counts {manifest['codes']} codes, the archive holds {len(records)}")
    _fsync_all(written)
    return BackupSummary(
        codes=len(records),
        highest_id=manifest.get("highest_id", 0) if isinstance(manifest.get("highest_id"), int) else 0,
        command_files=sorted(n.rsplit("/", 1)[-1] for n in seen if not n.startswith(f"{USER_CODES}/")),
        store_files=sorted(n.rsplit("/", 1)[-1] for n in seen if n.rsplit("/", 1)[-1] in STORE_FILES),
        skipped=list(manifest.get("skipped_damaged_records") or []),
        created_at=str(manifest.get("created_at", "")),
        service_version=str(manifest.get("service_version", "")),
        members=len(seen),
        bytes=path.stat().st_size if isinstance(path, Path) else 0,
    )


def verify_archive(path: Path | IO[bytes]) -> BackupSummary:
    """Read the whole archive (a file, or a binary stream such as a pipe) and check it; touches
    nothing. Raises ArchiveRefused, or FileNotFoundError when `path` is not there."""
    return _verify(path, None)


# --- restoring -------------------------------------------------------------------------------


def _write_new(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(paths: list[Path]) -> None:
    """Make every written file durable before anything is renamed into place. Many fsyncs in
    flight at once share the file system's journal commits; one after another, each waits for
    its own (tens of thousands of small files would take minutes on a busy disk)."""
    if not paths:
        return
    with ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="cadchat-restore") as pool:
        list(pool.map(_fsync_file, paths, chunksize=64))


def _is_empty(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return next(entries, None) is None


def restore_archive(path: Path, data_dir: Path) -> BackupSummary:
    """Verify `path`, then restore it into `data_dir`, which must be empty or absent.

    Raises ArchiveRefused (nothing written), TargetNotEmpty, FileNotFoundError for a missing
    archive, or BackupError when writing fails (the data directory is left empty)."""
    verify_archive(path)  # before anything is created
    data_dir.mkdir(parents=True, exist_ok=True)
    if not _is_empty(data_dir):
        raise TargetNotEmpty(f"{data_dir} is not empty; restore only into an empty data directory")
    staging = data_dir / f".cadchat-restore-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
        # Second pass, writing: the archive is checked again as it is written, so a file that
        # changed since the first pass cannot slip through.
        summary = _verify(path, staging)
        for sub in (staging / USER_CODES, staging / COMMAND_FILES):
            if sub.is_dir():
                fsync_dir(sub)
        fsync_dir(staging)
        for entry in sorted(os.listdir(staging)):
            os.replace(staging / entry, data_dir / entry)
        staging.rmdir()
        fsync_dir(data_dir)
    except OSError as exc:
        _empty_again(data_dir)
        raise BackupError(f"restore into {data_dir} failed: {exc}") from exc
    except BaseException:
        _empty_again(data_dir)
        raise
    return summary


def _empty_again(data_dir: Path) -> None:
    # The directory was empty when the restore began: whatever is in it now came from us.
    for entry in list(os.scandir(data_dir)):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)
