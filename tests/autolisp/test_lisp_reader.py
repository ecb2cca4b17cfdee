"""The AutoLISP reader: tokens, forms, positions, error recovery; fuzzed with hypothesis."""

from __future__ import annotations

import itertools

import pytest
from cadchat.autolisp.reader import read, tokenize
from hypothesis import given, settings
from hypothesis import strategies as st


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text) if t.kind != "comment"]


def test_atoms_follow_autolisp_rules():
    assert kinds("1 -2 +3 1. .5 1.5e3 2e-2 . c:59 Save&Exit #def a,b :vlax-true c:ПЕРЛИН 1+ 1-") == [
        ("int", "1"),
        ("int", "-2"),
        ("int", "+3"),
        ("real", "1."),
        ("real", ".5"),
        ("real", "1.5e3"),
        ("real", "2e-2"),
        ("dot", "."),
        ("symbol", "c:59"),
        ("symbol", "Save&Exit"),
        ("symbol", "#def"),
        ("symbol", "a,b"),
        ("symbol", ":vlax-true"),
        ("symbol", "c:ПЕРЛИН"),
        ("symbol", "1+"),
        ("symbol", "1-"),
    ]


def test_strings_comments_and_positions():
    text = '(princ "a \\" ( ;")\t; line ( comment\r\n;| block\n ( |; (x "multi\nline")'
    tokens = [t for t in tokenize(text) if t.kind != "comment"]
    assert [(t.kind, t.line, t.column) for t in tokens] == [
        ("open", 1, 1),
        ("symbol", 1, 2),
        ("string", 1, 8),
        ("close", 1, 18),
        ("open", 3, 7),
        ("symbol", 3, 8),
        ("string", 3, 10),
        ("close", 4, 6),
    ]
    result = read(text)
    assert result.errors == [] and len(result.forms) == 2


def test_symbols_are_case_insensitive_and_forms_nest():
    (form,) = read("(DEFUN C:Foo (/ A) (SETQ A '(1 . 2)))").forms
    assert form.head_name == "defun" and form.items[1].name == "c:foo" and form.items[1].text == "C:Foo"
    setq = form.items[3]
    quoted = setq.items[2]
    assert (
        quoted.kind == "quote"
        and quoted.items[0].dotted
        and [i.text for i in quoted.items[0].items]
        == [
            "1",
            "2",
        ]
    )


@pytest.mark.parametrize(
    "text, errors",
    [
        ("(a (b)", [("unclosed-paren", 1, 1, "1")]),
        ("(a (b", [("unclosed-paren", 1, 1, "2")]),
        ("(a))\n)", [("stray-paren", 1, 4, ""), ("stray-paren", 2, 1, "")]),
        ('(princ "abc)\n', [("unclosed-string", 1, 8, "")]),
        ("(a) ;| never", [("unclosed-comment", 1, 5, "")]),
        ("(setq a ')", [("dangling-quote", 1, 9, "")]),
        ("(a . b . c) (. a) .", [("bad-dot", 1, 8, ""), ("bad-dot", 1, 14, ""), ("bad-dot", 1, 19, "")]),
    ],
)
def test_every_problem_is_reported_with_its_position(text, errors):
    result = read(text)
    assert [(e.code, e.line, e.column, e.detail) for e in result.errors] == errors


def test_recovery_keeps_reading_after_a_stray_paren():
    result = read("(a)) (defun c:B () (princ))")
    assert [f.head_name for f in result.forms] == ["a", "defun"]


def test_deep_nesting_needs_no_python_stack():
    depth = 100_000
    result = read("(" * depth + ")" * depth)
    assert result.errors == [] and len(list(result.forms[0].walk())) == depth


def test_stop_at_atom_ends_code_at_the_first_word_of_prose():
    text = "看这里 (defun c:A () (princ)) (princ) 然后输入 A"
    start = text.index("(")
    result = read(text, start, stop_at_atom=True)
    assert text[start : result.end].rstrip() == "(defun c:A () (princ)) (princ)"


LISPY = st.text(alphabet=st.sampled_from(list("()'\";|.\\ \n\tab1c:é字-_\r")), max_size=400)


@settings(max_examples=400, deadline=None)
@given(LISPY)
def test_fuzz_reader_never_raises_and_positions_are_sane(text):
    result = read(text)
    lines = text.count("\n") + 1
    for error in result.errors:
        assert 1 <= error.line <= lines and error.column >= 1
    for form in result.forms:
        for node in form.walk():
            assert 0 <= node.start <= len(text) and 1 <= node.line <= lines


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_unicode_text(text):
    result = read(text)
    assert result.end == len(text)
    tokens = list(tokenize(text))
    assert all(a.end <= b.start for a, b in itertools.pairwise(tokens))
