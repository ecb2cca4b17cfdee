"""The AutoLISP source of the bundled LISP tools (`cadchat/data/lisp/*.lsp`).

A `lisp` library entry such as `LL|批量改图层：…||ll.lsp||lisp` names a file the user does not
have; the service ships that file and answers with its code. The files are read once, at
start-up, off the event loop; lookups are dictionary reads.

An entry is served a source only when the entry's `file` is a bundled file (case-insensitive)
and that file defines `c:<entry name>`: an operator's own library line that reuses a file name
for another command gets nothing rather than the wrong code. Express Tools entries (`.fas`,
`.arx`, or `.lsp` files shipped with AutoCAD) have no bundled file and stay as they are.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cadchat.autolisp import check
from cadchat.library.model import Command

log = logging.getLogger(__name__)

# The most code an answer inlines (characters). Every bundled file is well below it; a larger
# file is not served at all rather than cut (a cut program does not load).
MAX_SOURCE_CHARS = 16_000


def bundled_lisp_dir() -> Path:
    from cadchat.config import bundled_library_dir

    return bundled_library_dir() / "lisp"


@functools.cache
def bundled_lisp(directory: Path) -> BundledLisp:
    """`BundledLisp.load(directory)`, once per process: package data does not change while the
    service runs, and reading it (with the checker's pass over each file) takes a fraction of a
    second that every app created in the process would otherwise pay again."""
    return BundledLisp.load(directory)


def defined_commands(code: str) -> tuple[str, ...]:
    """Upper-case names (without `c:`) of the `c:` commands the code defines, in order, as the
    AutoLISP reader sees them (commented-out definitions do not count)."""
    return _command_names(check(code).commands)


def _command_names(commands: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name[2:].upper() for name in commands))


@dataclass(frozen=True, slots=True)
class LispSource:
    """One bundled file: `filename` as the library names it (lower case), its text, and the
    commands it defines (upper case, without `c:`)."""

    filename: str
    code: str
    commands: tuple[str, ...]


class BundledLisp:
    """Bundled sources by file name; immutable once built."""

    def __init__(self, sources: Iterable[LispSource] = ()) -> None:
        self._by_file = {s.filename.lower(): s for s in sources}

    @classmethod
    def load(cls, directory: Path) -> BundledLisp:
        """Read every `*.lsp` in `directory` (UTF-8). Blocking: call it in an executor. A missing
        directory gives an empty set; an unreadable or oversized file is skipped with a warning."""
        sources = []
        if not directory.is_dir():
            log.warning("bundled LISP tools: %s is missing; LISP tools are answered without code", directory)
            return cls()
        for path in sorted(directory.glob("*.lsp")):
            try:
                code = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                log.warning("bundled LISP tool %s not loaded: %s", path.name, exc)
                continue
            if len(code) > MAX_SOURCE_CHARS:
                log.warning(
                    "bundled LISP tool %s not loaded: over %d characters", path.name, MAX_SOURCE_CHARS
                )
                continue
            code = code.replace("\r\n", "\n")
            report = check(code)
            errors = [p for p in report.problems if p.severity == "error"]
            if errors:
                log.warning(
                    "bundled LISP tool %s: %d checker errors, first: %s", path.name, len(errors), errors[0]
                )
            sources.append(LispSource(path.name.lower(), code, _command_names(report.commands)))
        return cls(sources)

    def by_file(self, filename: str) -> LispSource | None:
        return self._by_file.get(filename.lower())

    def for_command(self, command: Command) -> LispSource | None:
        """The bundled source of a `lisp` library entry, or None (other types, Express Tools,
        files we do not ship, or a file that does not define this command)."""
        if command.type != "lisp" or not command.file:
            return None
        source = self._by_file.get(command.file.lower())
        if source is None or command.key not in source.commands:
            return None
        return source

    def files(self) -> list[str]:
        return sorted(self._by_file)

    def __len__(self) -> int:
        return len(self._by_file)
