"""Retrieval quality: hit@1 / hit@3 of the offline ranking on a labelled set of needs.

    python benchmarks/retrieval_eval.py [--eval tests/data/retrieval_eval.tsv] [--library FILE ...]
                                        [--misses] [--min-hit1 0.75] [--min-hit3 0.90]

The eval file is `need<TAB>EXPECTED[;ALTERNATIVE...]` lines (a header line and `#` comments are
skipped). The default library is the bundled one, as a fresh server loads it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cadchat.catalog import Catalog
from cadchat.config import BUNDLED_LIBRARY_NAMES, bundled_library_dir
from cadchat.library.store import LibrarySources, LibraryStore

DEFAULT_EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "retrieval_eval.tsv"


@dataclass(frozen=True)
class Case:
    need: str
    expected: frozenset[str]
    line: int


@dataclass(frozen=True)
class Report:
    cases: int
    hit1: float
    hit3: float
    unknown_labels: frozenset[str]
    misses: tuple[tuple[Case, tuple[str, ...]], ...]
    mean_ms: float


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.lower().startswith("need\t"):
            continue
        need, _, expected = line.partition("\t")
        labels = frozenset(x.strip().upper() for x in expected.split(";") if x.strip())
        if not need.strip() or not labels:
            raise ValueError(f"{path}:{number}: expected 'need<TAB>COMMAND[;COMMAND]'")
        cases.append(Case(need.strip(), labels, number))
    return cases


def load_catalog(library_files: list[Path] | None = None) -> Catalog:
    files = library_files or [bundled_library_dir() / n for n in BUNDLED_LIBRARY_NAMES]
    store = LibraryStore(LibrarySources(files=tuple(files)))
    store.load_sync()
    return Catalog(store)


def evaluate(catalog: Catalog, cases: list[Case]) -> Report:
    known = set(catalog.library.by_key)
    hit1 = hit3 = 0
    misses = []
    started = time.perf_counter()
    for case in cases:
        ranked = tuple(h.entry.key for h in catalog.search(case.need, 3))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--library", type=Path, nargs="*")
    parser.add_argument("--misses", action="store_true", help="list every case missed at 1")
    parser.add_argument("--min-hit1", type=float, default=0.0)
    parser.add_argument("--min-hit3", type=float, default=0.0)
    args = parser.parse_args(argv)
    catalog = load_catalog(args.library)
    report = evaluate(catalog, read_cases(args.eval))
    print(f"library: {len(catalog.library.commands)} commands; eval: {args.eval.name}, {report.cases} cases")
    print(f"hit@1 = {report.hit1:.3f}   hit@3 = {report.hit3:.3f}   ({report.mean_ms:.3f} ms/query)")
    if report.unknown_labels:
        print(f"labels not in the library: {', '.join(sorted(report.unknown_labels))}")
    if args.misses:
        for case, ranked in report.misses:
            expected = "/".join(sorted(case.expected))
            print(f"  miss line {case.line}: {case.need!r} expected {expected} got {ranked}")
    ok = report.hit1 >= args.min_hit1 and report.hit3 >= args.min_hit3
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
