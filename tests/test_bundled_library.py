"""The bundled libraries: size, clean parse, coverage of the eval labels, and retrieval quality.

Quality thresholds guard against regressions of the method (the quality targets on the
development set; a slightly lower bar on the independent held-out set, see the numbers in
benchmarks/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir
from cadchat.library.parser import parse_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import retrieval_eval  # noqa: E402

DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def parsed():
    return {name: parse_file(bundled_library_dir() / name) for name in BUNDLED_LIBRARY_NAMES}


@pytest.fixture(scope="module")
def catalog():
    return retrieval_eval.load_catalog()


def test_bundled_files_parse_without_problems(parsed) -> None:
    for name, pf in parsed.items():
        assert not pf.rejected, name
        assert pf.problems == (), [str(p) for p in pf.problems]
        assert pf.encoding == "utf-8"


def test_sizes_and_types(parsed) -> None:
    basic = parsed["autocad_basic_commands.txt"].commands
    lisp = parsed["lisp_commands.txt"].commands
    assert len(basic) >= 200 and {c.type for c in basic} == {"basic"}
    assert len(lisp) >= 50 and {c.type for c in lisp} == {"lisp"}
    names = [c.key for c in (*basic, *lisp)]
    assert len(names) == len(set(names)), "a command name is defined twice"


def test_every_command_has_a_chinese_description(parsed) -> None:
    for pf in parsed.values():
        for c in pf.commands:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in c.description), c.name
            assert "|" not in c.description


def test_everyday_commands_carry_their_standard_alias(parsed) -> None:
    by_name = {c.name: c for c in parsed["autocad_basic_commands.txt"].commands}
    for name, alias in {"LINE": "L", "CIRCLE": "C", "TRIM": "TR", "OFFSET": "O", "MOVE": "M"}.items():
        assert alias in by_name[name].aliases


@pytest.mark.parametrize("eval_file", ["retrieval_eval.tsv", "retrieval_holdout.tsv"])
def test_every_eval_label_exists_in_the_library(catalog, eval_file: str) -> None:
    cases = retrieval_eval.read_cases(DATA / eval_file)
    missing = {label for case in cases for label in case.expected} - set(catalog.library.by_key)
    # A case may list alternatives from other products; each case needs one label we know.
    unanswerable = [c.need for c in cases if not c.expected & set(catalog.library.by_key)]
    assert unanswerable == [], missing


def test_eval_sets_are_big_enough() -> None:
    assert len(retrieval_eval.read_cases(DATA / "retrieval_eval.tsv")) >= 120
    assert len(retrieval_eval.read_cases(DATA / "retrieval_holdout.tsv")) >= 120


@pytest.mark.parametrize(
    ("eval_file", "min_hit1", "min_hit3"),
    [("retrieval_eval.tsv", 0.75, 0.90), ("retrieval_holdout.tsv", 0.70, 0.90)],
)
def test_retrieval_quality(catalog, eval_file: str, min_hit1: float, min_hit3: float) -> None:
    report = retrieval_eval.evaluate(catalog, retrieval_eval.read_cases(DATA / eval_file))
    assert report.hit1 >= min_hit1, f"hit@1 {report.hit1:.3f}"
    assert report.hit3 >= min_hit3, f"hit@3 {report.hit3:.3f}"


def test_eval_cli_reports_and_gates(capsys) -> None:
    assert retrieval_eval.main(["--min-hit1", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "hit@1" in out and all(label in out for label in ("dev", "holdout", "blind typo"))
    assert retrieval_eval.main(["--min-hit3", "1.01"]) == 1
