"""Feedback counts and the popular lists.

User codes keep their counts in their own record. Feedback on a library command (the client
sends the `code.id` it got from /api/query) is counted in `user_codes/library-usage.json`,
keyed by command name: library ids are hashes of the name, so the name is the stable key and
the counts survive library reloads and edits. A command that leaves the library keeps its
counts on disk but drops out of the popular lists until it comes back.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cadchat.library.model import Command
from cadchat.usercodes.model import UserCode, now_iso, success_rate

LIBRARY_USAGE_FILE = "library-usage.json"
LIBRARY_USAGE_FORMAT = "cadchat.library_usage"


@dataclass(frozen=True)
class Counts:
    usage_count: int = 0
    success_count: int = 0
    updated_at: str = ""

    def add(self, success: bool) -> Counts:
        return Counts(self.usage_count + 1, self.success_count + int(success), now_iso())


def load_library_usage(data: Any) -> dict[str, Counts]:
    """Tolerant: a hand-edited or foreign file loses the entries it cannot prove, not the rest."""
    counts: dict[str, Counts] = {}
    commands = data.get("commands") if isinstance(data, dict) else None
    if not isinstance(commands, dict):
        return counts
    for key, value in commands.items():
        if not isinstance(value, dict):
            continue
        usage, success = value.get("usage_count"), value.get("success_count")
        if isinstance(usage, int) and isinstance(success, int) and 0 <= success <= usage:
            counts[str(key).upper()] = Counts(usage, success, str(value.get("updated_at", "")))
    return counts


def dump_library_usage(counts: dict[str, Counts]) -> dict[str, Any]:
    return {
        "format": LIBRARY_USAGE_FORMAT,
        "version": 1,
        "commands": {
            key: {"usage_count": c.usage_count, "success_count": c.success_count, "updated_at": c.updated_at}
            for key, c in sorted(counts.items())
        },
    }


def user_item(code: UserCode) -> dict[str, Any]:
    return {
        "id": code.id,
        "command": code.command,
        "description": code.description,
        "usage_count": code.usage_count,
        "success_count": code.success_count,
        "success_rate": code.success_rate,
        "type": "user_program",
        "category": "user_program",
        "source": "user_codes",
        "tags": list(code.tags),
        "filename": code.filename,
        "timestamp": code.created_at,
        "lisp_code": code.code,
    }


def library_item(command: Command, counts: Counts) -> dict[str, Any]:
    return {
        "id": command.id,
        "command": command.name,
        "description": command.description,
        "usage_count": counts.usage_count,
        "success_count": counts.success_count,
        "success_rate": success_rate(counts.usage_count, counts.success_count),
        "type": command.type,
        "category": command.category,
        "source": "library",
    }


def _matches(keyword: str, *texts: str) -> bool:
    return any(keyword in text.casefold() for text in texts)


def popular(
    user_codes: Iterable[UserCode],
    library_usage: dict[str, Counts],
    library_by_key: dict[str, Command],
    *,
    keyword: str = "",
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Most used first, then most successful, then best success rate; ties by id, so the order
    is stable. Every user code is a candidate (unused ones last); library commands only once
    someone reported using them: the library has thousands of never-used entries."""
    keyword = keyword.strip().casefold()
    # Items are built for the winners only: with thousands of codes, ranking is cheap and
    # building every item (with its code) is not.
    ranked: list[tuple[tuple[int, int, float, int], Callable[[], dict[str, Any]]]] = []
    for code in user_codes:
        if keyword and not _matches(keyword, code.command, code.description, *code.tags):
            continue
        key = (-code.usage_count, -code.success_count, -code.success_rate, code.id)
        ranked.append((key, partial(user_item, code)))
    for name, counts in library_usage.items():
        command = library_by_key.get(name)
        if command is None or counts.usage_count == 0:
            continue
        if keyword and not _matches(keyword, command.name, command.description, command.alias):
            continue
        rate = success_rate(counts.usage_count, counts.success_count)
        key = (-counts.usage_count, -counts.success_count, -rate, int(command.id))
        ranked.append((key, partial(library_item, command, counts)))
    return [build() for _, build in heapq.nsmallest(limit, ranked, key=lambda pair: pair[0])]
