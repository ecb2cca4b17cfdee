"""What /api/user_codes/preview tells about a piece of AutoLISP, without running it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PREVIEW_CHARS = 500
PREVIEW_LINES = 20
_DEFUN_C = re.compile(r"\(\s*defun\s+c:([^\s()\"';]+)", re.IGNORECASE)
_DEFUN = re.compile(r"\(\s*defun\s+([^\s()\"';]+)", re.IGNORECASE)


def command_name(code: str) -> str:
    """The command a user types: `(defun c:NAME ...)`, else the first `(defun NAME`, else ''."""
    for pattern in (_DEFUN_C, _DEFUN):
        match = pattern.search(_strip_comments_and_strings(code))
        if match:
            return match.group(1)
    return ""


@dataclass
class Balance:
    balanced: bool = True
    warnings: list[str] = field(default_factory=list)


def _scan(code: str, on_paren=None, on_problem=None) -> str:
    """Walk code the way the AutoLISP reader does: `"..."` strings with backslash escapes,
    `;` line comments and `;| ... |;` block comments. Returns the code with strings and
    comments blanked (same length), so regexes cannot match inside them."""
    out = list(code)
    i, n, line, col = 0, len(code), 1, 1

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch = code[i]
        if ch == '"':
            start, start_line, start_col = i, line, col
            i += 1
            col += 1
            closed = False
            while i < n:
                c = code[i]
                if c == "\\" and i + 1 < n:
                    if code[i + 1] == "\n":
                        line, col = line + 1, 0
                    i, col = i + 2, col + 2
                    continue
                if c == '"':
                    closed = True
                    break
                if c == "\n":
                    line, col = line + 1, 0
                i += 1
                col += 1
            if not closed and on_problem:
                on_problem(f"unterminated string starting at line {start_line}, column {start_col}")
            blank(start, min(i + 1, n))
            i += 1
            col += 1
            continue
        if ch == ";":
            start = i
            if i + 1 < n and code[i + 1] == "|":
                end = code.find("|;", i + 2)
                stop = n if end < 0 else end + 2
                if end < 0 and on_problem:
                    on_problem(f"unterminated ;| comment starting at line {line}, column {col}")
                segment = code[i:stop]
                line += segment.count("\n")
                col = len(segment) - segment.rfind("\n") if "\n" in segment else col + len(segment)
                i = stop
            else:
                end = code.find("\n", i)
                i = n if end < 0 else end
                col += i - start
            blank(start, i)
            continue
        if ch in "()" and on_paren:
            on_paren(ch, line, col)
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return "".join(out)


def _strip_comments_and_strings(code: str) -> str:
    return _scan(code)


def check_balance(code: str) -> Balance:
    result = Balance()
    open_at: list[tuple[int, int]] = []

    def paren(ch: str, line: int, col: int) -> None:
        if ch == "(":
            open_at.append((line, col))
        elif open_at:
            open_at.pop()
        else:
            result.warnings.append(f"unexpected ')' at line {line}, column {col}")

    _scan(code, paren, result.warnings.append)
    if open_at:
        line, col = open_at[-1]
        result.warnings.append(f"{len(open_at)} unclosed '(' (innermost opened at line {line}, column {col})")
    result.balanced = not result.warnings
    return result


def preview(code: str, command: str = "", description: str = "") -> dict[str, Any]:
    """The `preview` object of the contract, plus our superset: balance warnings."""
    command = command or command_name(code)
    lines = code.splitlines()
    shown = "\n".join(lines[:PREVIEW_LINES])
    if len(shown) > PREVIEW_CHARS:
        shown = shown[:PREVIEW_CHARS]
    truncated = shown != code.rstrip("\r\n") and shown != code
    balance = check_balance(code)
    return {
        "command": command,
        "description": description,
        "code_preview": shown + ("\n..." if truncated else ""),
        "lines": len(lines),
        "characters": len(code),
        "balanced": balance.balanced,
        "warnings": balance.warnings,
    }
