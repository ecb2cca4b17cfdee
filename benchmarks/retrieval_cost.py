"""In-process cost of offline retrieval: per-query latency and the memory the index takes.

    python benchmarks/retrieval_cost.py [--commands 10000] [--ties 50000] [--rounds 3]

1. Builds the generated N-command library (generate_library.py) and prints the process RSS
   before the build (imports done), after it and after querying, and per-query retrieval time
   (mean / p50 / p99, wall clock and thread CPU time) over every need of the bundled eval sets.
2. With --ties M (0 to skip): a library of M near-identical commands (one description, as a
   bulk import of a team's LISP folder produces) and the time of one query that matches all
   of them equally, i.e. the cost of ranking a huge tie.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cadchat.app  # noqa: F401  (the server's imports, so RSS growth is the index's own)
import generate_library
import retrieval_eval


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def timings(search, needs: list[str], rounds: int, clock=time.perf_counter) -> list[float]:
    samples = []
    for _ in range(rounds):
        for need in needs:
            started = clock()
            search(need, 5)
            samples.append((clock() - started) * 1000)
    samples.sort()
    return samples


def summary(samples: list[float]) -> str:
    p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    return f"mean {statistics.fmean(samples):.3f} ms, p50 {p50:.3f} ms, p99 {p99:.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--ties", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    needs = [
        c.need
        for _, path, kind in retrieval_eval.SETS
        if kind is None
        for c in retrieval_eval.read_cases(path)
    ]
    with tempfile.TemporaryDirectory(prefix="cadchat-bench-") as tmp:
        library = generate_library.write(Path(tmp) / "big.txt", args.commands)
        gc.collect()
        before = rss_mib()
        started = time.perf_counter()
        catalog = retrieval_eval.load_catalog([library])
        built = time.perf_counter() - started
        gc.collect()
        after_build = rss_mib()
        samples = timings(catalog.search, needs, args.rounds)
        cpu = timings(catalog.search, needs, args.rounds, time.thread_time)
        after_queries = rss_mib()
        print(
            f"{len(catalog.library.commands)} commands: build {built:.2f} s; RSS {before:.1f} MiB before, "
            f"{after_build:.1f} after build (+{after_build - before:.1f}), {after_queries:.1f} after "
            f"{len(samples)} queries (+{after_queries - before:.1f})"
        )
        print(f"retrieval per query ({len(needs)} needs x {args.rounds}), wall: {summary(samples)}")
        print(f"retrieval per query, CPU time of the thread (robust on a busy box): {summary(cpu)}")
        del catalog
        if args.ties:
            lines = ["# near-identical commands"]
            lines += [
                f"TIE{i:06d}|批量导入的同一段说明 通用工具 tool||tools.lsp||lisp" for i in range(args.ties)
            ]
            tied = Path(tmp) / "ties.txt"
            tied.write_text("\n".join(lines) + "\n", encoding="utf-8")
            catalog = retrieval_eval.load_catalog([tied])
            samples = timings(catalog.search, ["通用工具", "tool", "批量导入的说明"], 5)
            top = [h.entry.name for h in catalog.search("通用工具", 3)]
            print(f"{args.ties} tied commands, one query matching all: {summary(samples)}; top 3 {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
