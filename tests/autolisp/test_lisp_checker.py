"""Checker rules on small programs, and a fuzz run: any text is checked without an exception."""

from __future__ import annotations

import pytest
from cadchat.autolisp.checker import check, near_builtin
from hypothesis import given, settings
from hypothesis import strategies as st


def found(code: str, **kwargs) -> list[tuple[str, str]]:
    return [(p.code, p.severity) for p in check(code, **kwargs).problems]


def test_unknown_names_are_errors_only_when_nothing_is_loaded():
    code = "(defun c:A () (getpiont) (let ((a 1)) a) (helper) (princ))"
    assert found(code) == [
        ("misspelled-builtin", "error"),
        ("common-lisp", "error"),
        ("unknown-function", "warning"),
    ]
    loaded = '(load "lib.lsp")\n' + code
    assert {severity for _, severity in found(loaded)} == {"warning"}


def test_express_tools_and_library_prefixes_are_never_typos():
    assert found("(defun c:A () (acet-ss-zoom-extents) (princ))") == [("unknown-function", "warning")]
    assert near_builtin("acet-getvar") is None and near_builtin("getpiont") == "getpoint"
    assert near_builtin("ssgte") == "ssget" and near_builtin("dtr") is None


def test_activex_without_vl_load_com():
    code = "(defun c:A () (vla-get-Name (vla-get-ActiveDocument (vlax-get-acad-object))) (princ))"
    assert found(code) == [("missing-vl-load-com", "error")]
    assert found("(vl-load-com)\n" + code) == []
    # a helper file (no command) may rely on the program that loads it
    assert found("(defun name-of (o) (vla-get-Name o))") == [("missing-vl-load-com", "warning")]


def test_locals_follow_dynamic_scope_and_conventions():
    code = """
    (defun c:A (/ outer)
      (defun inner () (setq outer 1 leaked 2))
      (foreach item '(1 2) (setq item (1+ item)))
      (setq *global-setting* 3 *error* nil)
      (princ))
    """
    problems = check(code).problems
    assert [(p.code, p.line) for p in problems] == [("undeclared-local", 3), ("undeclared-local", 5)]
    assert "leaked" in problems[0].message and "*error*" in problems[1].message


@pytest.mark.parametrize(
    "code, expected",
    [
        ("(if a b c d)", [("wrong-arity", "error")]),
        ("(if a)", [("wrong-arity", "error")]),
        ("(setq a 1 b)", [("odd-setq", "error")]),
        ("(setq 1 2)", [("setq-not-symbol", "error")]),
        ("(cond ((= a 1) 2) (else 3))", [("common-lisp", "error")]),
        ("(cond a)", [("bad-special-form", "error")]),
        ("(defun f (a b) a) (f 1)", [("wrong-arity", "error")]),
        ("(defun f (a b) a) (defun f (a) a) (f 1 2 3)", []),  # redefined: arity unknown
        ('(list (0 . "LINE"))', [("not-a-function", "error")]),
        ("((lambda (x) x) 1) (mapcar '(lambda (x) (1+ x)) '(1 2))", []),
        ("(setq f (lambda (x) x)) (f 1)", []),
        (
            '(command "_.-LAYER" "") (command "._NOPE") (defun c:MINE () 1) (command "MINE")',
            [("unknown-command", "warning")],
        ),
    ],
)
def test_rules(code, expected):
    assert found(code, known_commands={"LAYER"}) == expected


def test_commands_and_report_json():
    report = check("(DEFUN C:One () 1) (defun c:59 () 2) (defun helper () 3) ;| (defun c:Old () |;")
    assert report.commands == ["c:One", "c:59"] and report.ok
    assert report.to_json() == {"ok": True, "problems": [], "commands": ["c:One", "c:59"]}


ATOMS = st.sampled_from(
    [
        "defun",
        "c:X",
        "setq",
        "if",
        "cond",
        "foreach",
        "lambda",
        "quote",
        "command",
        '"_.LINE"',
        "(",
        ")",
        "'",
        ".",
        "/",
        "a",
        "1",
        "1.",
        '"s"',
        "vla-get-x",
        "let",
        "getpiont",
        "\n",
        ";",
        ";|",
        "|;",
        '"',
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ATOMS, max_size=80).map(" ".join))
def test_fuzz_checker_never_raises(code):
    report = check(code, known_commands={"LINE"})
    assert report.ok == (not report.errors)
    for problem in report.problems:
        assert problem.line >= 1 and problem.column >= 1 and problem.message and problem.message_zh


@pytest.mark.parametrize(
    "code",
    [
        "(a" + " . a" * 20_000 + ")",  # every dot after the first misplaced one
        "(defun f ()" + " (lambda (x)" * 3_000 + ")" * 3_001,  # scopes nested 3,000 deep
        "(foreach v l" * 2_000 + ")" * 2_000,
        " ".join(f"(vlax-unknown-function-{i} 1)" for i in range(5_000)),  # many distinct unknowns
    ],
    ids=["dots", "nested-lambdas", "nested-foreach", "unknown-names"],
)
def test_hostile_shapes_are_checked_in_one_pass(code):
    # each shape was super-linear in a naive checker; here they complete like any other code
    report = check(code)
    assert report.problems is not None
