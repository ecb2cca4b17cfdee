"""Find the AutoLISP in a model's answer (Markdown with ``` fences, or bare code in prose).

One pass over the lines finds the fences; a bare `(defun c:...` is read with the AutoLISP reader
from its `(` until the first top-level word of prose, so the whole search is linear in the size of
the answer (an unfenced answer cut off at the token limit included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cadchat.autolisp.checker import CheckReport, check
from cadchat.autolisp.reader import read

LISP_TAGS = frozenset({"", "lisp", "autolisp", "lsp", "scheme", "common-lisp", "elisp", "cl", "clojure"})
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)([^\n]*)$", re.M)
_DEFUN_C = re.compile(r"\(\s*defun(?:-q)?\s+c:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced block: `tag` the info string's first word (lower case, "" for none), `code` its
    text, `start` the offset of the code in the answer, `closed` False when the answer ends inside."""

    tag: str
    code: str
    start: int
    closed: bool = True

    @property
    def is_lisp(self) -> bool:
        return self.tag in LISP_TAGS and "(" in self.code


def _tag(fence: re.Match[str]) -> str:
    info = fence.group(2).split()
    return info[0].lower().strip("{}.") if info else ""


def extract_code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block of a Markdown answer, in order (an unclosed last fence runs to the
    end). A fence closes with the same character, at least as long, and no info string."""
    blocks: list[CodeBlock] = []
    opened: re.Match[str] | None = None
    for match in _FENCE.finditer(text):
        if opened is None:
            opened = match
            continue
        fence = match.group(1)
        if (
            fence[0] == opened.group(1)[0]
            and len(fence) >= len(opened.group(1))
            and not match.group(2).strip()
        ):
            start = min(opened.end() + 1, len(text))
            blocks.append(CodeBlock(_tag(opened), text[start : match.start()], start))
            opened = None
    if opened is not None:
        start = min(opened.end() + 1, len(text))
        blocks.append(CodeBlock(_tag(opened), text[start:], start, closed=False))
    return blocks


def bare_code(text: str) -> tuple[str, int] | None:
    """Unfenced code: from the first `(defun c:` to the first top-level word of prose after it
    (or the end). Returns (code, offset) or None."""
    match = _DEFUN_C.search(text)
    if match is None:
        return None
    result = read(text, match.start(), stop_at_atom=True)
    return text[match.start() : result.end].rstrip(), match.start()


@dataclass(frozen=True, slots=True)
class LispCode:
    """The runnable AutoLISP of an answer and the checker's verdict on it."""

    code: str
    report: CheckReport = field(compare=False)

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(self.report.commands)

    @property
    def command(self) -> str | None:
        """`c:NAME` of the first command the code defines."""
        return self.report.commands[0] if self.report.commands else None

    @property
    def balanced(self) -> bool:
        """Every '(' , string and block comment is closed and no ')' is extra."""
        reader_codes = {"unclosed-paren", "stray-paren", "unclosed-string", "unclosed-comment"}
        return not any(p.code in reader_codes for p in self.report.problems)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "language": "autolisp",
            "code": self.code,
            "command": self.command,
            "name": self.command[2:] if self.command else None,
            "commands": list(self.commands),
            "balanced": self.balanced,
            "ok": self.ok,
            "problems": [p.as_dict() for p in self.report.problems],
        }


def lisp_code(code: str, known_commands: frozenset[str] | set[str] | tuple[str, ...] = ()) -> LispCode:
    code = code.strip("\n").rstrip()
    return LispCode(code, check(code, known_commands=known_commands))


def extract_lisp(
    text: str, known_commands: frozenset[str] | set[str] | tuple[str, ...] = ()
) -> LispCode | None:
    """The one LISP block of an answer, checked: a fenced LISP block that defines a `c:` command,
    else the first fenced LISP block, else bare `(defun c:...)` code. None when there is no code."""
    first: LispCode | None = None
    for block in extract_code_blocks(text):
        if not block.is_lisp:
            continue
        candidate = lisp_code(block.code, known_commands)
        if candidate.commands:
            return candidate
        first = first or candidate
    if first is not None:
        return first
    bare = bare_code(text)
    return lisp_code(bare[0], known_commands) if bare else None
