"""Tolerant parser for the command-library text format (see CONTRACT.md).

Lines are `NAME|description|alias|file|date|type`; the older `NAME|description|file|date|type`
and shorter 2-4 field lines also occur in the field. Files written on Windows may carry a BOM,
CRLF line ends, or GBK/GB18030 text. Every problem is reported with file and line; a line is
dropped only when no command can be recovered from it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from cadchat.library.model import TYPES, Command, ParsedFile, Problem

# Files in which more than this share of command lines are unusable are rejected whole: that
# is a half-written or wrong file, not a library with a few typos.
REJECT_RATIO = 0.5
_CODE_FILE = re.compile(r"\.(lsp|fas|vlx|dcl|scr|mnl|arx|dll)$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}")
_NAME = re.compile(r"^[^\s|]{1,64}$")


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 (with or without BOM), else GB18030."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode("gb18030"), "gb18030"  # a superset of GBK; raises if not that either


def _split_aliases(value: str) -> tuple[str, ...]:
    return tuple(a for a in (p.strip() for p in re.split(r"[,，;；/\s]+", value)) if a)


def _looks_like_file(value: str) -> bool:
    return bool(_CODE_FILE.search(value.strip()))


def _assign_fields(fields: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map 2-6 (or more) raw fields to named ones; returns the mapping and warnings."""
    warnings: list[str] = []
    if len(fields) > 6:
        # A '|' inside the description: the first field is the name, the last four are fixed.
        warnings.append(f"{len(fields)} fields; extra '|' taken as part of the description")
        fields = [fields[0], "|".join(fields[1:-4]), *fields[-4:]]
    n = len(fields)
    last = fields[-1].strip().lower()
    out = {"name": fields[0], "description": fields[1]}
    if n == 6:
        out.update(alias=fields[2], file=fields[3], date=fields[4], type=fields[5])
    elif n == 5:
        if last in TYPES:
            out.update(file=fields[2], date=fields[3], type=fields[4])  # the older 5-field form
        else:
            out.update(alias=fields[2], file=fields[3], date=fields[4])
    elif n == 4:
        if last in TYPES:
            key = "file" if _looks_like_file(fields[2]) else "alias"
            out.update({key: fields[2], "type": fields[3]})
        elif _DATE.match(last):
            out.update(file=fields[2], date=fields[3])
        else:
            out.update(alias=fields[2], file=fields[3])
    elif n == 3:
        if last in TYPES:
            out["type"] = fields[2]
        elif _looks_like_file(fields[2]):
            out["file"] = fields[2]
        else:
            out["alias"] = fields[2]
    return out, warnings


def parse_line(text: str) -> tuple[Command | None, list[str], str | None]:
    """One library line: (command or None, warnings, error)."""
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < 2:
        return None, [], "no '|' separator: expected NAME|description[|alias|file|date|type]"
    values, warnings = _assign_fields(fields)
    name = values["name"].strip()
    if not name:
        return None, warnings, "empty command name"
    if not _NAME.match(name):
        return None, warnings, f"invalid command name {name[:40]!r} (no spaces, at most 64 characters)"
    description = values["description"].strip()
    if not description:
        warnings.append(f"{name}: empty description")
    ctype = values.get("type", "").strip().lower() or "basic"
    if ctype not in TYPES:
        warnings.append(f"{name}: unknown type {ctype!r}, using 'basic' (known: {', '.join(TYPES)})")
        ctype = "basic"
    command = Command(
        name=name,
        description=description,
        aliases=_split_aliases(values.get("alias", "")),
        type=ctype,
        file=values.get("file", "").strip(),
        date=values.get("date", "").strip(),
    )
    return command, warnings, None


def parse_text(text: str, path: str) -> tuple[list[Command], list[Problem], int]:
    """Commands (duplicates within the file: the later line wins), problems, command lines."""
    by_key: dict[str, Command] = {}
    problems: list[Problem] = []
    command_lines = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        command_lines += 1
        command, warnings, error = parse_line(line)
        problems.extend(Problem(path, number, "warning", w) for w in warnings)
        if error:
            problems.append(Problem(path, number, "error", error))
            continue
        assert command is not None
        command = replace(command, source=path, line=number)
        previous = by_key.get(command.key)
        if previous is not None:
            problems.append(
                Problem(path, number, "warning", f"duplicate {command.name}: replaces line {previous.line}")
            )
            del by_key[command.key]  # re-insert so file order follows the winning line
        by_key[command.key] = command
    return list(by_key.values()), problems, command_lines


def parse_file(path: Path) -> ParsedFile:
    """Read and parse one library file; never raises for bad content."""
    label = str(path)
    try:
        stat = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        problem = Problem(label, 0, "error", f"cannot read: {exc.strerror or exc}")
        return ParsedFile(path, (), (problem,), "", rejected=True)
    try:
        text, encoding = decode(data)
    except UnicodeDecodeError as exc:
        problem = Problem(label, 0, "error", f"not UTF-8 or GB18030 text (byte {exc.start})")
        return ParsedFile(
            path, (), (problem,), "", rejected=True, mtime_ns=stat.st_mtime_ns, size=stat.st_size
        )
    commands, problems, command_lines = parse_text(text, label)
    errors = sum(1 for p in problems if p.severity == "error")
    rejected = command_lines > 0 and errors > command_lines * REJECT_RATIO
    if rejected:
        problems.append(
            Problem(label, 0, "error", f"{errors} of {command_lines} command lines unusable; file rejected")
        )
    return ParsedFile(
        path,
        tuple(commands),
        tuple(problems),
        encoding,
        rejected=rejected,
        mtime_ns=stat.st_mtime_ns,
        size=stat.st_size,
        command_lines=command_lines,
    )
