"""Import of the field servers' `user_codes/user_codes.txt` stores (three shapes, CONTRACT.md).

    ID|command|description|filename|created_at      code in <dir>/<filename>        ("file")
    ID|command|description||code                    code inline                     ("inline")
    command|description|filename|timestamp|user_program   code in <dir>/<filename>  ("program")

The old writer put an inline code's bytes between `||` and the record's newline, so a
multi-line code spilled onto the following lines. Stitching rule, applied top to bottom: a line
that is not a record (see `classify`) continues the inline record above it, with the newline
restored; the last line's `\\r` of a CRLF file belongs to the record terminator. A non-record
line with no inline record above it cannot be placed and is reported, as is every record whose
code file is missing, unsafe or undecodable.

The old writer did not escape `|` either. A line that starts like a record (`ID|`, or ends in
`|user_program`) but whose fields cannot be told apart — a `|` inside a command, description,
file name or time, or a `||` inside a description — is never guessed at and never glued onto
the record above: it is reported as not recovered with its original text and any lines that
continue it. An inline record's code is everything after the first `||` (a `|` inside the code
is kept) when that `||` is the only one on the line followed by what can open a code (`(`, `;`,
a code fence or the end of the line).

Idempotent: a code whose command and exact text are already stored (content_key) is reported
as present, not stored again. The legacy files are only read. The server imports on start-up
once per version of the file (its SHA-256 is remembered in legacy-imports.json, so a code a user
deleted after the import does not come back on every restart); `cadchat import-legacy` always
runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cadchat.errors import CadchatError
from cadchat.library.parser import decode
from cadchat.usercodes.disk import DiskStore, StoreLocked
from cadchat.usercodes.lisp import check_balance, command_name
from cadchat.usercodes.model import (
    MAX_ID,
    Limits,
    UserCode,
    check_code,
    check_command,
    check_tags,
    check_text,
    content_key,
    now_iso,
)

LEGACY_INDEX = "user_codes.txt"
IMPORTS_FILE = "legacy-imports.json"
_ID_PREFIX = re.compile(r"\s*([0-9]{1,12})\s*\|", re.ASCII)
_CODE_FILE = re.compile(r"\.(lsp|txt|lisp|scr|dcl|mnl)$", re.IGNORECASE)
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d_%H%M%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


@dataclass
class Entry:
    line: int
    shape: str  # file, inline, program
    command: str
    description: str
    legacy_id: str = ""
    filename: str = ""
    created: str = ""
    code: str = ""  # inline: the raw text so far (CRLF files keep their '\r's)
    lines: int = 1
    original: list[str] = field(default_factory=list)  # the physical lines, as read
    ambiguous_next: int = 0  # an inline record's next line, when it was an ambiguous record


@dataclass(frozen=True)
class Note:
    line: int
    message: str
    original: tuple[str, ...] = ()  # the physical lines as read, for the operator to repair

    def __str__(self) -> str:
        text = f"line {self.line}: {self.message}" if self.line else self.message
        return text + "".join(f"\n    | {line}" for line in self.original)


class Ambiguous(ValueError):
    """A line that starts a record whose fields cannot be told apart."""


@dataclass
class ImportReport:
    source: str
    encoding: str = ""
    imported: list[tuple[int, int, str]] = field(default_factory=list)  # (line, new id, command)
    present: list[tuple[int, int, str]] = field(default_factory=list)  # (line, stored id, command)
    unrecovered: list[Note] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"{self.source} ({self.encoding or 'unreadable'}): {len(self.imported)} imported, "
            f"{len(self.present)} already present, {len(self.unrecovered)} lines not recovered"
        ]
        out += [f"imported line {ln} as id {i}: {cmd}" for ln, i, cmd in self.imported]
        out += [f"already present line {ln} (id {i}): {cmd}" for ln, i, cmd in self.present]
        out += [f"NOT RECOVERED {n}" for n in sorted(self.unrecovered, key=lambda n: n.line)]
        out += [f"warning {n}" for n in sorted(self.warnings, key=lambda n: n.line)]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": len(self.imported),
            "already_present": len(self.present),
            "unrecovered": [str(n) for n in self.unrecovered],
            "warnings": [str(n) for n in self.warnings],
        }


@dataclass
class ImportResult:
    report: ImportReport
    highest: int


def _body(raw: str) -> str:
    return raw[:-1] if raw.endswith("\r") else raw


def classify(body: str, line: int) -> Entry | None:
    """The record a physical line starts, or None when it is not one (a continuation).

    Raises `Ambiguous` for a line that starts like a record but whose fields cannot be
    attributed: a `|` inside a field shifts every field after it."""
    fields = body.split("|")
    match = _ID_PREFIX.match(body)
    if fields[-1].strip().lower() == "user_program" and not match:
        if len(fields) != 5:
            raise Ambiguous(
                f"{len(fields)} fields where a program record has 5 "
                "(command|description|filename|time|user_program): a '|' inside a field"
            )
        return Entry(
            line,
            "program",
            command=fields[0].strip(),
            description=fields[1].strip(),
            filename=fields[2].strip(),
            created=fields[3].strip(),
        )
    if not match:
        return None
    if len(fields) >= 5 and fields[3].strip() == "":
        code = "|".join(fields[4:])
        if code.startswith("|"):
            raise Ambiguous("a '|' next to the '||' before the code: the description's end is unclear")
        _one_code_separator("|".join(fields[2:]), fields)
        # Everything after the first '||' is code, '|' included, exactly as written.
        return Entry(
            line,
            "inline",
            legacy_id=match.group(1),
            command=fields[1].strip(),
            description=fields[2].strip(),
            code=code,
        )
    if len(fields) == 5 and _CODE_FILE.search(fields[3].strip()):
        return Entry(
            line,
            "file",
            legacy_id=match.group(1),
            command=fields[1].strip(),
            description=fields[2].strip(),
            filename=fields[3].strip(),
            created=fields[4].strip(),
        )
    raise Ambiguous(
        f"starts like a record (id {match.group(1)}) but its {len(fields)} fields match neither "
        "ID|command|description|filename|time nor ID|command|description||code: a '|' inside a field"
    )


def _code_start(text: str) -> bool:
    """Whether `text` can open an inline code: empty (the code starts on the next line), `(`,
    a `;` comment or a code fence."""
    head = text.lstrip()
    return not head or head[0] in "(;`"


def _one_code_separator(rest: str, fields: list[str]) -> None:
    """Raise `Ambiguous` when the `||` that ends an inline record's description is not the only
    place the description could end: `rest` is `description||code`, split into `fields` by '|'.

    A second `||` on the line is harmless inside code (`(princ "a||b")`) but a legacy
    description could hold one too (`前半||后半||(defun ...`). The first `||` is taken only when
    it alone is followed by what can open a code; a line that reads as a file record whose
    description holds `||` (`...|name.lsp|time`) is not taken as an inline code either."""
    if len(fields) >= 7 and _CODE_FILE.search(fields[-2].strip()) and _created(fields[-1]) is not None:
        raise Ambiguous(
            "reads as ID|command|description|filename|time with a '||' inside the description, "
            "and as ID|command|description||code: the shape is unclear"
        )
    ends = [m.end() for m in re.finditer(r"\|\|", rest)]
    if len(ends) < 2:
        return
    openings = [end for end in ends if _code_start(rest[end:])]
    if openings != ends[:1]:
        raise Ambiguous(
            f"{len(ends)} '||' on the line and a code could start after "
            f"{'more than one' if len(openings) > 1 else 'a later one'}: a '||' inside the "
            "description makes its end unclear"
        )


def parse(text: str) -> tuple[list[Entry], list[Note]]:
    """Records of a decoded legacy index, continuation lines stitched back; the notes are the
    lines that could not be attributed, with their original text."""
    entries: list[Entry] = []
    notes: list[Note] = []
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()  # the final record's terminator, not an empty line
    inline: Entry | None = None
    # An ambiguous record's own continuation lines: (line, reason, lines) kept for the report.
    stray: tuple[int, str, list[str]] | None = None

    def close_stray() -> None:
        nonlocal stray
        if stray is not None:
            notes.append(Note(stray[0], stray[1], tuple(_body(r) for r in stray[2])))
            stray = None

    for number, raw in enumerate(physical, start=1):
        body = _body(raw)
        try:
            entry = classify(body, number)
        except Ambiguous as exc:
            if inline is not None:
                inline.code = _body(inline.code)
                inline.ambiguous_next = number
            close_stray()
            inline, stray = None, (number, f"not recovered: {exc}", [raw])
            continue
        if entry is not None:
            close_stray()
            if inline is not None:
                inline.code = _body(inline.code)
            if entry.shape == "inline" and raw != body:
                entry.code += "\r"  # kept until we know whether a continuation line follows
            entry.original.append(body)
            entries.append(entry)
            inline = entry if entry.shape == "inline" else None
            continue
        if stray is not None:
            stray[2].append(raw)
            continue
        if inline is not None:
            inline.code += "\n" + raw  # raw: an inner CRLF stays CRLF
            inline.lines += 1
            inline.original.append(body)
            continue
        if not body.strip() or body.lstrip().startswith("#"):
            continue  # blank lines and comments between records
        notes.append(Note(number, "not a record and no inline record above to continue", (body,)))
    close_stray()
    if inline is not None:
        inline.code = _body(inline.code)
    return entries, notes


def _created(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).isoformat(timespec="seconds")
    except ValueError:
        pass
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(raw, fmt).isoformat(timespec="seconds")
        except ValueError:
            continue
    return None


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0:")


def _load_code(entry: Entry, directory: Path) -> str:
    """The entry's code text; raises ValueError(reason) when it cannot be had."""
    if entry.shape == "inline":
        return entry.code
    if not _safe_name(entry.filename):
        raise ValueError(f"unsafe code file name {entry.filename!r}")
    path = directory / entry.filename
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"code file {entry.filename} is missing") from None
    except OSError as exc:
        raise ValueError(f"code file {entry.filename} cannot be read: {exc.strerror}") from None
    try:
        text, _ = decode(data)
    except UnicodeDecodeError:
        raise ValueError(f"code file {entry.filename} is neither UTF-8 nor GBK/GB18030") from None
    return text


def _to_code(entry: Entry, directory: Path, limits: Limits, source: str, notes: list[Note]) -> UserCode:
    """A validated UserCode with id 0; raises ValueError(reason)."""
    code = _load_code(entry, directory)
    command = entry.command
    if not command:
        command = command_name(code)
        if not command:
            raise ValueError("no command name and no (defun c:NAME ...) in the code")
        notes.append(Note(entry.line, f"empty command name; took {command!r} from the code"))
    try:
        command = check_command(command, limits.max_command_chars)
        description = check_text(
            "description", entry.description, limits.max_description_chars, required=False, multiline=True
        )
        code = check_code(code, limits)
        check_tags(None, limits)
    except CadchatError as exc:
        raise ValueError(exc.message) from None
    if entry.shape == "inline" and entry.lines > 1:
        balance = check_balance(code)
        if not balance.balanced:
            problems = "; ".join(balance.warnings)
            notes.append(Note(entry.line, f"stitched {entry.lines} lines, may be incomplete: {problems}"))
    if entry.ambiguous_next:
        notes.append(
            Note(
                entry.line,
                f"line {entry.ambiguous_next} right after this code starts like a record and was not "
                "recovered; if it belonged to this code, the code is incomplete",
            )
        )
    created = _created(entry.created)
    stamp = now_iso()
    if entry.created and created is None:
        notes.append(Note(entry.line, f"unreadable time {entry.created!r}; using the import time"))
    legacy: dict[str, Any] = {"file": source, "line": entry.line, "shape": entry.shape}
    if entry.lines > 1:
        legacy["lines"] = entry.lines
    for name, value in (("id", entry.legacy_id), ("filename", entry.filename), ("created_at", entry.created)):
        if value:
            legacy[name] = value
    return UserCode(
        id=0,
        command=command,
        description=description,
        code=code,
        created_at=created or stamp,
        updated_at=stamp,
        origin="legacy",
        legacy=legacy,
    )


def already_imported(disk: DiskStore, path: Path) -> bool:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    state = disk.read_json(IMPORTS_FILE, {})
    imports = state.get("imports", []) if isinstance(state, dict) else []
    return any(isinstance(i, dict) and i.get("sha256") == digest for i in imports)


def import_into(
    disk: DiskStore, codes: dict[int, UserCode], highest: int, path: Path, limits: Limits
) -> ImportResult:
    """Import one legacy index into an opened store (caller holds the store's process lock).
    `codes` is updated in place."""
    report = ImportReport(source=str(path))
    data = path.read_bytes()
    try:
        text, report.encoding = decode(data)
    except UnicodeDecodeError:
        report.unrecovered.append(Note(0, "the file is neither UTF-8 nor GBK/GB18030; nothing imported"))
        return ImportResult(report, highest)
    entries, notes = parse(text)
    report.unrecovered.extend(notes)
    known = {c.key: c.id for c in codes.values()}
    for entry in entries:
        try:
            candidate = _to_code(entry, path.parent, limits, path.name, report.warnings)
        except ValueError as exc:
            report.unrecovered.append(Note(entry.line, str(exc), tuple(entry.original)))
            continue
        key = content_key(candidate.command, candidate.code)
        if key in known:
            report.present.append((entry.line, known[key], candidate.command))
            continue
        if len(codes) >= limits.max_count or highest >= MAX_ID:
            report.unrecovered.append(Note(entry.line, f"the store is full ({limits.max_count} codes)"))
            continue
        highest += 1
        stored = candidate.with_changes(id=highest)
        disk.write(stored)
        codes[stored.id] = stored
        known[key] = stored.id
        report.imported.append((entry.line, stored.id, stored.command))
    _remember(disk, path, data, report)
    return ImportResult(report, highest)


def _remember(disk: DiskStore, path: Path, data: bytes, report: ImportReport) -> None:
    state = disk.read_json(IMPORTS_FILE, {})
    imports = state.get("imports", []) if isinstance(state, dict) else []
    imports = [i for i in imports if isinstance(i, dict)]
    imports.append(
        {
            "file": str(path),
            "sha256": hashlib.sha256(data).hexdigest(),
            "imported_at": now_iso(),
            **report.as_dict(),
        }
    )
    disk.write_json(IMPORTS_FILE, {"format": "cadchat.legacy_imports", "version": 1, "imports": imports})


def run_cli(user_codes_dir: Path, path: Path, limits: Limits, out) -> int:
    """`cadchat import-legacy PATH`: 0 when every line was imported or already present, 1 when
    some were not recovered (listed), 2 when the import could not run."""
    index = path / LEGACY_INDEX if path.is_dir() else path
    if not index.is_file():
        print(f"cadchat: no legacy index at {index}", file=out)
        return 2
    disk = DiskStore(user_codes_dir)
    try:
        disk.acquire()
    except StoreLocked as exc:
        print(f"cadchat: {exc}; stop the server first (it imports {LEGACY_INDEX} on start-up)", file=out)
        return 2
    try:
        codes, highest, opened = disk.open()
        if opened.repaired:
            print(f"store {user_codes_dir}: {opened.summary()}", file=out)
        result = import_into(disk, codes, highest, index, limits)
    finally:
        disk.release()
    for line in result.report.lines():
        print(line, file=out)
    return 1 if result.report.unrecovered else 0
