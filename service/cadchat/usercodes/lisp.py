"""What /api/user_codes/preview tells about a piece of AutoLISP, without running it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from cadchat.autolisp.checker import CheckReport, check
from cadchat.autolisp.reader import read

PREVIEW_CHARS = 500
PREVIEW_LINES = 20
_BALANCE_CODES = frozenset({"unclosed-paren", "stray-paren", "unclosed-string", "unclosed-comment"})


def command_name(code: str) -> str:
    """The command a user types: `(defun c:NAME ...)`, else the first `(defun NAME`, else ''.
    Comments and strings never count (the AutoLISP reader skips them)."""
    first = ""
    for form in read(code).forms:
        for node in form.walk():
            if node.head_name not in ("defun", "defun-q") or len(node.items) < 2:
                continue
            name = node.items[1]
            if name.kind != "symbol":
                continue
            if name.name.startswith("c:") and len(name.text) > 2:
                return name.text[2:]
            first = first or name.text
    return first


@dataclass
class Balance:
    balanced: bool = True
    warnings: list[str] = field(default_factory=list)


def check_balance(code: str) -> Balance:
    """Parentheses, strings and block comments: every problem in English, with its position."""
    result = Balance()
    for problem in check(code).problems:
        if problem.code in _BALANCE_CODES:
            result.warnings.append(f"{problem.message} at line {problem.line}, column {problem.column}")
    result.balanced = not result.warnings
    return result


def preview(
    code: str, command: str = "", description: str = "", known_commands: Collection[str] = ()
) -> dict[str, Any]:
    """The `preview` object of the contract, plus our superset: balance warnings and the
    checker's report (`ok`, `problems`, `commands`)."""
    report = check(code, known_commands=known_commands)
    command = command or _command_from(report) or command_name(code)
    lines = code.splitlines()
    shown = "\n".join(lines[:PREVIEW_LINES])
    if len(shown) > PREVIEW_CHARS:
        shown = shown[:PREVIEW_CHARS]
    truncated = shown != code.rstrip("\r\n") and shown != code
    warnings = [
        f"{p.message} at line {p.line}, column {p.column}"
        for p in report.problems
        if p.code in _BALANCE_CODES
    ]
    return {
        "command": command,
        "description": description,
        "code_preview": shown + ("\n..." if truncated else ""),
        "lines": len(lines),
        "characters": len(code),
        "balanced": not warnings,
        "warnings": warnings,
        **report.to_json(),
    }


def _command_from(report: CheckReport) -> str:
    return report.commands[0][2:] if report.commands else ""
