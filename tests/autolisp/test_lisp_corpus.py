"""The checker on a labelled corpus of AutoLISP programs (tests/data/autolisp).

good/: programs of the kinds CAD users write; the checker must report no error on any of them.
bad/: each file's first line is `;; expect: code[, code]`, the problems it must report.
Precision is file-level (of the files with at least one error, how many are faulty), recall is
label-level (of the labelled problems, how many are reported); both are printed (`pytest -s`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cadchat.autolisp.checker import check
from cadchat.cli import _library_commands, read_lisp_file

CORPUS = Path(__file__).parent.parent / "data" / "autolisp"
GOOD = sorted((CORPUS / "good").glob("*.lsp"))
BAD = sorted((CORPUS / "bad").glob("*.lsp"))
KNOWN = _library_commands(())  # the bundled library's command names


def expected(path: Path) -> set[str]:
    text, _ = read_lisp_file(path)
    first = text.splitlines()[0]
    assert first.startswith(";; expect: "), path
    return {code.strip() for code in first.removeprefix(";; expect: ").split(",")}


def test_corpus_is_big_enough():
    assert len(GOOD) >= 60 and len(BAD) >= 60


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_correct_programs_have_no_errors(path):
    text, _ = read_lisp_file(path)
    report = check(text, known_commands=KNOWN)
    assert report.errors == [], [str(p) for p in report.errors]
    assert report.functions, "every corpus program defines a function"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_faulty_programs_report_their_problem(path):
    text, _ = read_lisp_file(path)
    found = {p.code for p in check(text, known_commands=KNOWN).problems}
    assert expected(path) <= found, found


def test_precision_and_recall():
    flagged_good = [p.name for p in GOOD if not check(read_lisp_file(p)[0], known_commands=KNOWN).ok]
    hits = labels = flagged_bad = 0
    for path in BAD:
        report = check(read_lisp_file(path)[0], known_commands=KNOWN)
        want = expected(path)
        labels += len(want)
        hits += len(want & {p.code for p in report.problems})
        flagged_bad += not report.ok
    precision = flagged_bad / ((flagged_bad + len(flagged_good)) or 1)
    recall = hits / labels
    print(
        f"\nAutoLISP checker on {len(GOOD)} correct and {len(BAD)} faulty programs: "
        f"precision {precision:.3f} (correct programs with errors: {len(flagged_good)}), "
        f"recall {recall:.3f} ({hits}/{labels} labelled problems reported)"
    )
    assert flagged_good == [] and recall >= 0.95
