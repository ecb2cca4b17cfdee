"""Load benchmark of POST /api/query: one server process on loopback, a generated library.

    python benchmarks/query_load.py [--commands 10000] [--connections 50] [--duration 10]

Prints: per-query retrieval time in-process (mean/p50/p99 over the eval needs), server RSS
idle and after load, and wrk's requests/s and latency percentiles. Needs `wrk` (Debian
package). Everything targets 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_library
import retrieval_eval
from serverproc import rss_kib, running_server

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {
%s
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/api/query", nil, bodies[(i %% #bodies) + 1])
end
"""


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


def wrk(base: str, lua: Path, connections: int, duration: int, threads: int) -> dict[str, float | str]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(lua), base],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    result: dict[str, float | str] = {"raw": out}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result["rps"] = float(match.group(1)) if match else 0.0
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if m:
            value, unit = float(m.group(1)), m.group(2)
            result[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


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
        lua = work / "query.lua"
        bodies = ",\n".join(
            "[==[" + json.dumps({"requirement": n}, ensure_ascii=False) + "]==]" for n in needs
        )
        lua.write_text(LUA % bodies, encoding="utf-8")
        env = {"CADCHAT_LIBRARY_PATHS": str(library), "CADCHAT_LOG_LEVEL": "WARNING"}
        if args.no_cache:
            env["CADCHAT_QUERY_CACHE_SIZE"] = "0"
        with running_server(work / "data", env) as (base, pid):
            time.sleep(1.0)
            idle = rss_kib(pid)
            print(f"server pid {pid}: idle RSS {idle / 1024:.1f} MiB")
            wrk(base, lua, args.connections, 2, args.threads)  # warm-up
            result = wrk(base, lua, args.connections, args.duration, args.threads)
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
