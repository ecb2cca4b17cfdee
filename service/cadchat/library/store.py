"""The live library: which files make it up, and atomic swaps of parsed snapshots.

A reload parses every file that changed (off the event loop), merges them in a fixed order
(bundled, legacy names, then `command_files/*.txt` by name; a later file's command replaces
an earlier one of the same name), builds a new index and swaps the snapshot in one assignment.
A file that cannot be read or is too broken to trust keeps its last good version.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path

from cadchat.library.model import Command, ParsedFile, Problem
from cadchat.library.parser import parse_file
from cadchat.retrieval.index import FrozenIndex, document_features

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LibrarySources:
    """Where commands come from: files that must exist, optional files, and scanned folders."""

    files: tuple[Path, ...] = ()
    optional_files: tuple[Path, ...] = ()
    directories: tuple[Path, ...] = ()

    def resolve(self) -> list[Path]:
        """The files to load now, in merge order, without repeats."""
        found: list[Path] = list(self.files)
        found.extend(p for p in self.optional_files if p.is_file())
        for directory in self.directories:
            if directory.is_dir():
                found.extend(sorted(p for p in directory.glob("*.txt") if p.is_file()))
        unique: dict[Path, None] = {}
        for path in found:
            unique.setdefault(path.absolute(), None)
        return list(unique)

    def watched_directories(self) -> list[Path]:
        dirs = {p.absolute().parent for p in (*self.files, *self.optional_files)}
        dirs.update(d.absolute() for d in self.directories)
        return sorted(d for d in dirs if d.is_dir())

    def is_library_path(self, path: Path) -> bool:
        path = path.absolute()
        named = {p.absolute() for p in (*self.files, *self.optional_files)}
        return path in named or (
            path.suffix == ".txt" and any(path.parent == d.absolute() for d in self.directories)
        )


@dataclass(frozen=True, slots=True)
class FileStatus:
    path: str
    commands: int
    encoding: str
    ok: bool  # False: this load was rejected (its last good version, if any, is in service)
    serving_last_good: bool
    errors: int
    warnings: int


@dataclass(frozen=True)
class Library:
    """One immutable snapshot: what retrieval answers from until the next swap."""

    commands: tuple[Command, ...] = ()
    index: FrozenIndex[Command] = field(default_factory=lambda: FrozenIndex(()))
    files: tuple[FileStatus, ...] = ()
    problems: tuple[Problem, ...] = ()
    version: int = 0
    loaded_at: float = 0.0
    by_key: dict[str, Command] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(f.ok for f in self.files)


def merge(parsed: Iterable[ParsedFile]) -> tuple[list[Command], list[Problem]]:
    by_key: dict[str, Command] = {}
    problems: list[Problem] = []
    for pf in parsed:
        for command in pf.commands:
            previous = by_key.pop(command.key, None)
            if previous is not None and previous.source != command.source:
                problems.append(
                    Problem(
                        command.source,
                        command.line,
                        "warning",
                        f"{command.name} replaces the one from {previous.source}:{previous.line}",
                    )
                )
            by_key[command.key] = command
    taken: set[int] = set()
    commands = [replace(c, id=_stable_id(c.key, taken)) for c in by_key.values()]
    return commands, problems


# Library ids are derived from the command name, so they survive reloads and edits of other
# lines (feedback and bookmarks refer to them); user codes count up from 1, below this range.
LIBRARY_ID_BASE = 10_000_000
_LIBRARY_ID_SPAN = 2**31 - LIBRARY_ID_BASE


def _stable_id(key: str, taken: set[int]) -> int:
    value = LIBRARY_ID_BASE + zlib.crc32(key.encode("utf-8")) % _LIBRARY_ID_SPAN
    while value in taken:  # a rare crc collision: the later command in merge order moves on
        value = LIBRARY_ID_BASE + (value - LIBRARY_ID_BASE + 1) % _LIBRARY_ID_SPAN
    taken.add(value)
    return value


# Everyday commands carry a standard alias; commands without one, and extensions, are asked
# for less often, so on an equal match the everyday command should win.
PRIOR_EVERYDAY = 1.0
PRIOR_OTHER = 0.92
# An Express Tools or LISP variant shares the core command's action; on the action alone the
# core command wins, the variant wins where the need names what only it does.
EXTENSION_CONCEPT_PRIOR = 0.85


# A command its own description calls legacy (旧式, 旧版, superseded: "新版由LAYERSTATE取代") is
# kept for old habits; the command that replaced it is what a need means unless it says more.
PRIOR_LEGACY = 0.85
_LEGACY = re.compile(
    r"旧式|旧版|由\s*[A-Z][A-Z0-9_]*\s*取代|\b(?:legacy|obsolete|superseded)\b", re.IGNORECASE
)


def command_prior(command: Command) -> float:
    if command.type == "user_program" or (command.type == "basic" and command.aliases):
        prior = PRIOR_EVERYDAY
    else:
        prior = PRIOR_OTHER
    if _LEGACY.search(command.description):
        prior *= PRIOR_LEGACY
    return prior


def concept_prior(command: Command) -> float:
    return EXTENSION_CONCEPT_PRIOR if command.type == "lisp" else 1.0


def rank_key(command: Command) -> tuple[int, str, str]:
    """How retrieval orders equal scores: library commands before user programs, then by name."""
    return (command.type == "user_program", command.key, str(command.id))


def build_index(commands: Iterable[Command]) -> FrozenIndex[Command]:
    # Inserted in rank_key order: the frozen index breaks ties by insertion order.
    return FrozenIndex(
        (c.id, c, document_features(c.name, c.aliases, c.description, command_prior(c), concept_prior(c)))
        for c in sorted(commands, key=rank_key)
    )


class LibraryStore:
    """Holds the current snapshot and produces new ones."""

    def __init__(self, sources: LibrarySources) -> None:
        self.sources = sources
        self.current = Library()
        self._last_good: dict[Path, ParsedFile] = {}
        self._lock = asyncio.Lock()
        self.reloads = 0

    def load_sync(self) -> Library:
        """Parse and build a snapshot (runs in a worker thread), then make it current."""
        library = self._build(self.current.version + 1)
        self.current = library
        return library

    async def reload(self, executor: Executor | None = None) -> Library:
        """Reload off the event loop; concurrent calls are serialized, the swap is one assignment."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            started = time.perf_counter()
            library = await loop.run_in_executor(executor, self._build, self.current.version + 1)
            self.current = library
            self.reloads += 1
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "library v%d: %d commands from %d files in %.0f ms",
                library.version,
                len(library.commands),
                len(library.files),
                elapsed,
            )
            for problem in library.problems:
                if problem.severity == "error":
                    log.warning("library problem: %s", problem)
            return library

    def _parse(self, path: Path) -> tuple[ParsedFile, ParsedFile | None]:
        """(this load's parse, what to serve). Files are always read again: a same-size edit
        within the file system's timestamp granularity must not be missed."""
        parsed = parse_file(path)
        if not parsed.rejected:
            self._last_good[path] = parsed
            return parsed, parsed
        return parsed, self._last_good.get(path)

    def _build(self, version: int) -> Library:
        paths = self.sources.resolve()
        serving: list[ParsedFile] = []
        statuses: list[FileStatus] = []
        problems: list[Problem] = []
        for path in paths:
            parsed, served = self._parse(path)
            problems.extend(parsed.problems)
            if served is not None:
                serving.append(served)
            if parsed.rejected and served is not None:
                problems.append(Problem(str(path), 0, "error", "serving its last good version"))
            statuses.append(
                FileStatus(
                    path=str(path),
                    commands=len(served.commands) if served else 0,
                    encoding=parsed.encoding,
                    ok=not parsed.rejected,
                    serving_last_good=parsed.rejected and served is not None,
                    errors=sum(1 for p in parsed.problems if p.severity == "error"),
                    warnings=sum(1 for p in parsed.problems if p.severity == "warning"),
                )
            )
        # Forget files that are gone, so a file that comes back is parsed afresh.
        for gone in set(self._last_good) - set(paths):
            del self._last_good[gone]
        commands, merge_problems = merge(serving)
        problems.extend(merge_problems)
        return Library(
            commands=tuple(commands),
            index=build_index(commands),
            files=tuple(statuses),
            problems=tuple(problems),
            version=version,
            loaded_at=time.time(),
            by_key={c.key: c for c in commands},
        )
