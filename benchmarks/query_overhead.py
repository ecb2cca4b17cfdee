"""`POST /api/query` throughput as a fraction of a bare aiohttp JSON handler, in one run.

    python benchmarks/query_overhead.py [--rounds 3] [--duration 4] [--connections 50]
                                        [--commands 10000] [--skip-uncached] [--access-log]

Every server runs pinned to one core (`taskset -c 1`), wrk to the other (`taskset -c 0`), with
the same rotating bodies (the labelled needs of the retrieval eval set):

  bare      a plain aiohttp app: `await request.json()`, `web.json_response({...})`
  cached    `cadchat serve`, bundled library, answer cache on (every need answered before)
  uncached  `cadchat serve`, a generated N-command library, CADCHAT_QUERY_CACHE_SIZE=0

bare and cached run side by side and take turns (`--rounds`, alternating order), so a machine
whose load changes during the run slows both alike; uncached runs after them. Prints each
round's req/s (wrk) and requests per CPU-second of the server (from /proc: the time the
server waited for its core does not count), the medians, cached/bare (of the medians, and the
median of each round's own ratio) and uncached/bare.
The cadchat servers run with request metrics on and, with `--access-log`, the access log too
(JSON lines at INFO, as deployed), otherwise at log level WARNING. Needs `wrk` and `taskset`.
`--source DIR` runs cadchat from another checkout's `service/` (e.g.
`git archive main service | tar -x -C DIR`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
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


def load(url: str, pid: int, lua: Path, args: argparse.Namespace) -> dict[str, float]:
    """wrk's numbers, plus `cpu_rps`: requests per CPU-second of the server process, which a
    busy machine does not distort (wrk's req/s also counts time the server waited for a core)."""
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


def median(results: list[dict[str, float]]) -> dict[str, float]:
    keys = ("rps", "cpu_rps", "p50_ms", "p99_ms", "non_2xx")
    return {key: statistics.median(r.get(key, 0.0) for r in results) for key in keys}


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
    parser.add_argument("--rounds", type=int, default=3, help="turns of bare and cached each")
    parser.add_argument("--duration", type=int, default=4, help="seconds of load per round")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--skip-uncached", action="store_true")
    parser.add_argument("--access-log", action="store_true", help="cadchat servers write access lines (JSON)")
    parser.add_argument("--source", type=Path, help="run cadchat from DIR/service instead (before/after)")
    args = parser.parse_args()
    unavailable = wrkload.pinned_load_unavailable()
    if unavailable:
        print(unavailable, file=sys.stderr)
        return 2
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    env = {"CADCHAT_LOG_LEVEL": "WARNING", "CADCHAT_WATCH": "false"}
    if args.access_log:
        env.update({"CADCHAT_LOG_LEVEL": "INFO", "CADCHAT_LOG_FORMAT": "json", "CADCHAT_ACCESS_LOG": "true"})
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve() / "service")
    with tempfile.TemporaryDirectory(prefix="cadchat-overhead-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        lua = wrkload.write_script(work / "query.lua", ({"requirement": n} for n in needs))
        servers = {}
        for name, argv in (("bare", ("-c", BARE_SERVER)), ("cached", None)):
            (work / name).mkdir()
            base, pid = stack.enter_context(
                running_server(work / name / "data", env, prefix=SERVER_CORE, argv=argv)
            )
            servers[name] = (base + "/api/query", pid)
            # Warm-up: fills the answer cache, and lets the interpreter settle.
            wrkload.run(servers[name][0], lua, connections=args.connections, duration=2, prefix=LOAD_CORE)
        results: dict[str, list[dict[str, float]]] = {"bare": [], "cached": []}
        for round_number in range(1, args.rounds + 1):
            for name in ("bare", "cached") if round_number % 2 else ("cached", "bare"):
                results[name].append(load(*servers[name], lua, args))
                show(f"{name} {round_number}", results[name][-1])
        stack.close()
        bare, cached = median(results["bare"]), median(results["cached"])
        print(f"medians of {args.rounds} rounds of {args.duration} s:")
        show("bare", bare)
        show("cached", cached)
        ratio("cached", cached, bare)
        # Bare and cached run back to back in each round: the ratio within a round is less
        # exposed to a load that changes from one round to the next.
        pairs = list(zip(results["cached"], results["bare"], strict=True))
        print(
            "cached / bare round by round (medians): "
            f"{statistics.median(c['rps'] / b['rps'] for c, b in pairs):.1%} (wrk req/s), "
            f"{statistics.median(c['cpu_rps'] / b['cpu_rps'] for c, b in pairs):.1%} (req per CPU-second)",
            flush=True,
        )
        if not args.skip_uncached:
            library = generate_library.write(work / "library" / "big.txt", args.commands)
            uncached_env = {**env, "CADCHAT_LIBRARY_PATHS": str(library), "CADCHAT_QUERY_CACHE_SIZE": "0"}
            (work / "big").mkdir()
            with running_server(work / "big" / "data", uncached_env, prefix=SERVER_CORE) as (base, pid):
                url = base + "/api/query"
                wrkload.run(url, lua, connections=args.connections, duration=2, prefix=LOAD_CORE)
                uncached = load(url, pid, lua, args)
            show("uncached", uncached)
            ratio(f"uncached ({args.commands} commands)", uncached, bare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
