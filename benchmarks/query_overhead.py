"""`POST /api/query` throughput as a fraction of a bare aiohttp JSON handler, in one run.

    python benchmarks/query_overhead.py [--duration 5] [--connections 50] [--commands 10000]

Both servers run pinned to one core (`taskset -c 1`), wrk to the other (`taskset -c 0`), with
the same rotating bodies (the labelled needs of the retrieval eval set). Three runs:

  bare      a plain aiohttp app: `await request.json()`, `web.json_response({...})`
  cached    `cadchat serve`, bundled library, answer cache on (every need answered before)
  uncached  `cadchat serve`, a generated N-command library, CADCHAT_QUERY_CACHE_SIZE=0

Prints req/s and p50/p99 of each and cached/bare. Needs `wrk` and `taskset`. `--source DIR`
runs cadchat from another checkout's `service/` (e.g. `git archive main service | tar -x -C DIR`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_library
import retrieval_eval
import wrkload
from serverproc import running_server

BARE_SERVER = """
import sys
from aiohttp import web

async def query(request):
    body = await request.json()
    return web.json_response({"requirement": body["requirement"], "matched": False, "result": None})

async def health(request):
    return web.json_response({"status": "ok"})

app = web.Application()
app.router.add_post("/api/query", query)
app.router.add_get("/health", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[-1]), access_log=None, print=None)
"""
SERVER_CORE = ("taskset", "-c", "1")
LOAD_CORE = ("taskset", "-c", "0")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(base: str, pid: int, lua: Path, args: argparse.Namespace) -> dict[str, float]:
    """wrk's numbers, plus `cpu_rps`: requests per CPU-second of the server process, which a
    busy machine does not distort (wrk's req/s also counts time the server waited for a core)."""
    url = base + "/api/query"
    wrkload.run(url, lua, connections=args.connections, duration=2, prefix=LOAD_CORE)  # warm-up, fills caches
    before = cpu_seconds(pid)
    result = wrkload.run(url, lua, connections=args.connections, duration=args.duration, prefix=LOAD_CORE)
    result["cpu_rps"] = result["requests"] / max(cpu_seconds(pid) - before, 1e-9)
    return result


def show(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:9s} {result['rps']:8.0f} req/s  {result['cpu_rps']:8.0f} req per CPU-second  "
        f"p50 {result.get('p50_ms', 0):6.2f} ms  p99 {result.get('p99_ms', 0):6.2f} ms  "
        f"non-2xx {result['non_2xx']:.0f}",
        flush=True,
    )


def ratio(name: str, result: dict[str, float], bare: dict[str, float]) -> None:
    print(
        f"{name} / bare = {result['rps'] / bare['rps']:.1%} (wrk req/s), "
        f"{result['cpu_rps'] / bare['cpu_rps']:.1%} (req per CPU-second)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--skip-uncached", action="store_true")
    parser.add_argument("--source", type=Path, help="run cadchat from DIR/service instead (before/after)")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            print(f"{tool} not found", file=sys.stderr)
            return 2
    if (os.cpu_count() or 1) < 2:
        print("needs two cores (one for the server, one for wrk)", file=sys.stderr)
        return 2
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    env = {"CADCHAT_LOG_LEVEL": "WARNING", "CADCHAT_WATCH": "false"}
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve() / "service")
    with tempfile.TemporaryDirectory(prefix="cadchat-overhead-") as tmp:
        work = Path(tmp)
        lua = wrkload.write_script(work / "query.lua", ({"requirement": n} for n in needs))
        (work / "bare").mkdir()
        with running_server(work / "bare" / "data", env, prefix=SERVER_CORE, argv=("-c", BARE_SERVER)) as (
            base,
            pid,
        ):
            bare = load(base, pid, lua, args)
        show("bare", bare)
        with running_server(work / "data", env, prefix=SERVER_CORE) as (base, pid):
            cached = load(base, pid, lua, args)
        show("cached", cached)
        ratio("cached", cached, bare)
        if not args.skip_uncached:
            library = generate_library.write(work / "library" / "big.txt", args.commands)
            uncached_env = {**env, "CADCHAT_LIBRARY_PATHS": str(library), "CADCHAT_QUERY_CACHE_SIZE": "0"}
            (work / "big").mkdir()
            with running_server(work / "big" / "data", uncached_env, prefix=SERVER_CORE) as (base, pid):
                uncached = load(base, pid, lua, args)
            show("uncached", uncached)
            ratio(f"uncached ({args.commands} commands)", uncached, bare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
