"""Find the runnable AutoLISP in a model's answer, and the `c:` command it defines."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"```[ \t]*([A-Za-z-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_LISP_TAGS = {"", "lisp", "autolisp", "lsp", "scheme", "common-lisp", "elisp", "cl"}
_DEFUN_C = re.compile(r"\(\s*defun\s+[cC]:([^\s()\"';]+)")


@dataclass(frozen=True, slots=True)
class LispCode:
    code: str
    command: str | None  # "c:NAME" of the first command the code defines
    commands: tuple[str, ...]  # every c: command defined
    balanced: bool  # parentheses balance (outside strings and comments)

    def as_dict(self) -> dict[str, object]:
        return {
            "language": "autolisp",
            "code": self.code,
            "command": self.command,
            "name": self.command[2:] if self.command else None,
            "commands": list(self.commands),
            "balanced": self.balanced,
        }


def paren_depth(code: str) -> int:
    """Open minus close parentheses, ignoring strings and `;` comments; 0 means balanced."""
    depth = 0
    in_string = escaped = comment = False
    for ch in code:
        if comment:
            comment = ch != "\n"
        elif in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            comment = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
    return depth


def _from_code(code: str) -> LispCode:
    code = code.strip("\n").rstrip()
    names = tuple(dict.fromkeys("c:" + m for m in _DEFUN_C.findall(code)))
    return LispCode(
        code=code, command=names[0] if names else None, commands=names, balanced=paren_depth(code) == 0
    )


def _bare_defun(text: str) -> str | None:
    """A `(defun c:…)` written without a fence: from its `(` to the matching `)`."""
    match = _DEFUN_C.search(text)
    if match is None:
        return None
    start = match.start()
    for end in range(start + 1, len(text) + 1):
        if paren_depth(text[start:end]) == 0:
            return text[start:end]
    return text[start:]


def extract_lisp(text: str) -> LispCode | None:
    """The one LISP block of an answer: a fenced block that defines a `c:` command, else the first
    fenced LISP block, else a bare `(defun c:…)` form. None when the answer carries no code."""
    blocks = [(tag.lower(), body) for tag, body in _FENCE.findall(text)]
    lisp_blocks = [body for tag, body in blocks if tag in _LISP_TAGS and "(" in body]
    for body in lisp_blocks:
        if _DEFUN_C.search(body):
            return _from_code(body)
    if lisp_blocks:
        return _from_code(lisp_blocks[0])
    bare = _bare_defun(text)
    return _from_code(bare) if bare else None
