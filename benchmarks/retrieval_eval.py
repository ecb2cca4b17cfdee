"""Retrieval quality: hit@1 / hit@3 of the offline ranking on labelled sets of needs.

    python benchmarks/retrieval_eval.py [--eval FILE [--kind KIND]] [--library FILE ...]
                                        [--bm25] [--misses] [--min-hit1 0.75] [--min-hit3 0.90]

Without --eval every bundled set is measured: the development set, the hold-out set, the blind
set and its pinyin-typo subset. --bm25 adds the same numbers for a plain BM25 + jieba baseline
over the same library (benchmarks/bm25_baseline.py; needs the `bench` extra).

An eval file has `need<TAB>EXPECTED[;ALTERNATIVE...][<TAB>KIND]` lines (a header line and `#`
comments are skipped). The default library is the bundled one, as a fresh server loads it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cadchat.catalog import Catalog
from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir
from cadchat.library.store import LibrarySources, LibraryStore

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_EVAL = DATA / "retrieval_eval.tsv"
HOLDOUT = DATA / "retrieval_holdout.tsv"
BLIND = DATA / "retrieval_blind.tsv"
# (label, file, kind filter)
SETS: tuple[tuple[str, Path, str | None], ...] = (
    ("dev", DEFAULT_EVAL, None),
    ("holdout", HOLDOUT, None),
    ("blind", BLIND, None),
    ("blind typo", BLIND, "typo"),
)


@dataclass(frozen=True)
class Case:
    need: str
    expected: frozenset[str]
    line: int
    kind: str = ""


@dataclass(frozen=True)
class Report:
    cases: int
    hit1: float
    hit3: float
    unknown_labels: frozenset[str]
    misses: tuple[tuple[Case, tuple[str, ...]], ...]
    mean_ms: float


def read_cases(path: Path, kind: str | None = None) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.lower().startswith("need\t"):
            continue
        need, _, rest = line.partition("\t")
        expected, _, case_kind = rest.partition("\t")
        labels = frozenset(x.strip().upper() for x in expected.split(";") if x.strip())
        if not need.strip() or not labels:
            raise ValueError(f"{path}:{number}: expected 'need<TAB>COMMAND[;COMMAND][<TAB>KIND]'")
        if kind is None or case_kind.strip() == kind:
            cases.append(Case(need.strip(), labels, number, case_kind.strip()))
    return cases


def load_catalog(library_files: list[Path] | None = None) -> Catalog:
    files = library_files or [bundled_library_dir() / n for n in BUNDLED_LIBRARY_NAMES]
    store = LibraryStore(LibrarySources(files=tuple(files)))
    store.load_sync()
    return Catalog(store)


Ranker = Callable[[str, int], Sequence[str]]


def catalog_ranker(catalog: Catalog) -> Ranker:
    return lambda need, limit: [h.entry.key for h in catalog.search(need, limit)]


def evaluate(catalog: Catalog, cases: list[Case], ranker: Ranker | None = None) -> Report:
    rank = ranker or catalog_ranker(catalog)
    known = set(catalog.library.by_key)
    hit1 = hit3 = 0
    misses = []
    started = time.perf_counter()
    for case in cases:
        ranked = tuple(rank(case.need, 3))
        if ranked[:1] and ranked[0] in case.expected:
            hit1 += 1
        if case.expected.intersection(ranked):
            hit3 += 1
        if not (ranked[:1] and ranked[0] in case.expected):
            misses.append((case, ranked))
    elapsed = time.perf_counter() - started
    unknown = frozenset(label for c in cases for label in c.expected if label not in known)
    n = len(cases) or 1
    return Report(len(cases), hit1 / n, hit3 / n, unknown, tuple(misses), elapsed * 1000 / n)


def bm25_ranker(catalog: Catalog) -> Ranker:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bm25_baseline import Bm25Baseline

    baseline = Bm25Baseline(catalog.library.commands)
    return lambda need, limit: [c.key for c in baseline.search(need, limit)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", type=Path, help="one eval file (default: every bundled set)")
    parser.add_argument("--kind", help="only the cases of this kind (third column), e.g. typo")
    parser.add_argument("--library", type=Path, nargs="*")
    parser.add_argument("--bm25", action="store_true", help="also rank with the BM25 + jieba baseline")
    parser.add_argument("--misses", action="store_true", help="list every case missed at 1")
    parser.add_argument("--min-hit1", type=float, default=0.0)
    parser.add_argument("--min-hit3", type=float, default=0.0)
    args = parser.parse_args(argv)
    catalog = load_catalog(args.library)
    sets = [(args.eval.name, args.eval, args.kind)] if args.eval else list(SETS)
    rankers: list[tuple[str, Ranker]] = [("ours", catalog_ranker(catalog))]
    if args.bm25:
        rankers.append(("bm25", bm25_ranker(catalog)))
    print(f"library: {len(catalog.library.commands)} commands")
    header = "  ".join(f"{n + ' hit@1':>10} {n + ' hit@3':>10}" for n, _ in rankers)
    print(f"{'set':<12} {'cases':>5}  {header}")
    ok = True
    for label, path, kind in sets:
        cases = read_cases(path, kind)
        reports = [(name, evaluate(catalog, cases, ranker)) for name, ranker in rankers]
        cells = "  ".join(f"{r.hit1:>10.3f} {r.hit3:>10.3f}" for _, r in reports)
        ours = reports[0][1]
        print(f"{label:<12} {len(cases):>5}  {cells}   ({ours.mean_ms:.3f} ms/query)")
        if ours.unknown_labels:
            print(f"  labels not in the library: {', '.join(sorted(ours.unknown_labels))}")
        if args.misses:
            for name, report in reports:
                for case, ranked in report.misses:
                    expected = "/".join(sorted(case.expected))
                    where = f"{name} miss {label} line {case.line}"
                    print(f"  {where}: {case.need!r} expected {expected} got {ranked}")
        ok = ok and ours.hit1 >= args.min_hit1 and ours.hit3 >= args.min_hit3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
