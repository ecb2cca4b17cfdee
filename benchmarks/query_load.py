"""Load benchmark of POST /api/query: one server process on loopback, a generated library.

    python benchmarks/query_load.py [--commands 10000] [--connections 50] [--duration 10]

Prints: per-query retrieval time in-process (mean/p50/p99 over the eval needs), server RSS
idle and after load, and wrk's requests/s and latency percentiles. Needs `wrk` (Debian
package). Everything targets 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_library
import retrieval_eval
import wrkload
from serverproc import rss_kib, running_server


def retrieval_timing(library: Path, needs: list[str], rounds: int = 5) -> dict[str, float]:
    catalog = retrieval_eval.load_catalog([library])
    samples = []
    for _ in range(rounds):
        for need in needs:
            started = time.perf_counter()
            catalog.search(need, 5)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "commands": len(catalog.library.commands),
        "mean_ms": statistics.fmean(samples),
        "p50_ms": samples[len(samples) // 2],
        "p99_ms": samples[int(len(samples) * 0.99)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the box has 2 cores)")
    parser.add_argument(
        "--no-cache", action="store_true", help="CADCHAT_QUERY_CACHE_SIZE=0: every request runs retrieval"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    with tempfile.TemporaryDirectory(prefix="cadchat-bench-") as tmp:
        work = Path(tmp)
        library = generate_library.write(work / "library" / "big.txt", args.commands)
        timing = retrieval_timing(library, needs)
        print(
            f"retrieval in-process, {timing['commands']} commands: mean {timing['mean_ms']:.3f} ms, "
            f"p50 {timing['p50_ms']:.3f} ms, p99 {timing['p99_ms']:.3f} ms"
        )
        lua = wrkload.write_script(work / "query.lua", ({"requirement": n} for n in needs))
        env = {"CADCHAT_LIBRARY_PATHS": str(library), "CADCHAT_LOG_LEVEL": "WARNING"}
        if args.no_cache:
            env["CADCHAT_QUERY_CACHE_SIZE"] = "0"
        with running_server(work / "data", env) as (base, pid):
            time.sleep(1.0)
            idle = rss_kib(pid)
            print(f"server pid {pid}: idle RSS {idle / 1024:.1f} MiB")
            url = base + "/api/query"
            wrkload.run(url, lua, connections=args.connections, duration=2, threads=args.threads)  # warm-up
            result = wrkload.run(
                url, lua, connections=args.connections, duration=args.duration, threads=args.threads
            )
            loaded = rss_kib(pid)
        print(
            f"POST /api/query ({'no answer cache' if args.no_cache else 'answer cache on'}, "
            f"{len(needs)} distinct needs), {args.connections} connections, {args.duration} s: "
            f"{result['rps']:.0f} req/s, p50 {result.get('p50_ms', 0):.2f} ms, "
            f"p90 {result.get('p90_ms', 0):.2f} ms, p99 {result.get('p99_ms', 0):.2f} ms, "
            f"non-2xx {result['non_2xx']:.0f}"
        )
        print(f"server RSS after load {loaded / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
