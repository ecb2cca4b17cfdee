"""What a command library holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TYPES = ("basic", "lisp", "user_program")
CATEGORY_BY_TYPE = {"basic": "basic_command", "lisp": "cad_extension", "user_program": "user_program"}


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    aliases: tuple[str, ...] = ()
    type: str = "basic"
    file: str = ""
    date: str = ""
    source: str = ""  # the library file (or store) it came from
    line: int = 0
    id: int | str = 0  # position in the merged library, or a user code's id

    @property
    def key(self) -> str:
        """Command names are case-insensitive in CAD."""
        return self.name.upper()

    @property
    def category(self) -> str:
        return CATEGORY_BY_TYPE.get(self.type, "basic_command")

    @property
    def alias(self) -> str:
        return ",".join(self.aliases)


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int  # 0 for whole-file problems
    severity: str  # "error" (line or file dropped) or "warning" (kept, with a guess)
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class ParsedFile:
    path: Path
    commands: tuple[Command, ...]
    problems: tuple[Problem, ...]
    encoding: str
    rejected: bool = False  # unreadable, or too broken to trust: its last good version stays
    mtime_ns: int = 0
    size: int = 0
    command_lines: int = field(default=0)
