"""The LISP preview: command name, counts and the parentheses/strings balance check."""

from __future__ import annotations

import pytest
from cadchat.usercodes.lisp import check_balance, command_name, preview


@pytest.mark.parametrize(
    "code, name",
    [
        ("(defun c:TRIMALL (/ ss) (princ))", "TRIMALL"),
        ("(DEFUN   C:画圆 ()\n (princ))", "画圆"),
        ("(defun helper (x) x)\n(defun c:MAIN () (helper 1))", "MAIN"),
        ("(defun helper (x) x)", "helper"),
        ('; (defun c:COMMENTED ()\n(princ "(defun c:INSTRING ()")', ""),
        (";| (defun c:BLOCK () |;\n(defun c:REAL ()", "REAL"),
        ("(princ)", ""),
    ],
)
def test_command_name(code, name):
    assert command_name(code) == name


@pytest.mark.parametrize(
    "code, balanced, fragment",
    [
        ("(defun c:A () (princ))", True, None),
        ('(princ "(((")', True, None),
        ('(princ "say \\"hi\\" (")', True, None),
        ("(a) ; stray ) in a comment\n", True, None),
        ("(a ;| ) ) |; )", True, None),
        ("(defun c:A ()\n  (princ)\n", False, "never closed (1 ')' missing) at line 1, column 1"),
        ("(a))", False, "')' without a matching '(' at line 1, column 4"),
        ('(princ "open\n)', False, "string starting here is never closed (missing '\"') at line 1, column 8"),
        ("(a ;| never closed", False, "block comment is never closed"),
    ],
)
def test_balance(code, balanced, fragment):
    result = check_balance(code)
    assert result.balanced is balanced
    if fragment:
        assert any(fragment in w for w in result.warnings), result.warnings
    else:
        assert result.warnings == []


def test_preview_counts_and_truncates():
    code = "\n".join(f"(princ {i})" for i in range(30)) + "\n"
    shown = preview(code, "", "desc")
    assert shown["lines"] == 30 and shown["characters"] == len(code)
    assert shown["code_preview"].count("\n") == 20 and shown["code_preview"].endswith("...")
    assert shown["description"] == "desc" and shown["command"] == ""
    short = preview("(princ)\n")
    assert short["code_preview"] == "(princ)" and short["lines"] == 1
