"""Cost of request metrics and the access log on POST /api/query, in one run.

    python benchmarks/observability_overhead.py [--rounds 3] [--duration 5] [--connections 50] [--no-pin]
                                                [--source DIR]

Starts two servers on loopback from the same library: one with request metrics and the access
log (JSON lines, to a file) on, one with both off (`CADCHAT_REQUEST_METRICS=false`,
`CADCHAT_ACCESS_LOG=false`), both pinned to core 1 and wrk to core 0 (`taskset`, unless
`--no-pin`). wrk drives them in alternating rounds (so a busy machine slows
both alike) and the script prints each round's req/s and the server's CPU time per request
(user + system, from /proc: unlike req/s it barely moves when other processes share the cores),
the medians and best rounds and the cost of each in percent (between medians, between best
rounds, and the median of each round's own cost: both servers run back to back in a round).
Then, in-process, the CPU time the
two add to one request (the request middleware around a trivial handler with request metrics
on, less the same with them off; one access-log line
recorded, then formatted as JSON and written to a file in one batch, as the access log's
writer thread does), best of 5 repeats (of this checkout). `--source DIR` runs the servers from
another checkout's `service/` (before/after). Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_eval
import wrkload
from serverproc import running_server


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def added_cpu_us(repeats: int = 5, calls: int = 20_000) -> dict[str, float]:
    """CPU µs one request spends in request metrics and in its access-log line."""
    import asyncio
    import logging

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request
    from cadchat.accesslog import AccessLog
    from cadchat.auth import AccessPolicy
    from cadchat.config import Settings
    from cadchat.keys import SETTINGS
    from cadchat.logsetup import JsonFormatter
    from cadchat.metrics import Metrics
    from cadchat.middlewares import observer

    response = web.Response(body=b"{}")

    async def handler(_request: web.Request) -> web.Response:
        return response

    class Routed(dict):
        """What the middleware and the access logger read of a routed request."""

        method = "POST"
        remote = "127.0.0.1"
        headers: dict[str, str] = {}  # noqa: RUF012 - read-only here

    async def routed_request() -> Routed:
        app = web.Application()
        app[SETTINGS] = Settings()
        app.router.add_post("/api/query", handler)
        request = Routed()
        request.app = app
        request.match_info = await app.router.resolve(make_mocked_request("POST", "/api/query"))
        return request

    request = asyncio.run(routed_request())
    policy = AccessPolicy(Settings())
    measured, unmeasured = observer(policy, Metrics()), observer(policy, None)

    async def middleware_loop() -> None:
        for _ in range(calls):
            await measured(request, handler)

    async def bare_loop() -> None:
        for _ in range(calls):
            await unmeasured(request, handler)

    def best(run) -> float:
        samples = []
        for _ in range(repeats):
            started = time.process_time()
            run()
            samples.append((time.process_time() - started) / calls * 1e6)
        return min(samples)

    middleware = best(lambda: asyncio.run(middleware_loop())) - best(lambda: asyncio.run(bare_loop()))
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "access.log", "w") as out:
        file_handler = logging.StreamHandler(out)
        file_handler.setFormatter(JsonFormatter())
        access = AccessLog(file_handler, interval=3600).start()  # one batch: flushed at the end
        hook = access.logger_class()(access.logger, "")

        async def log_lines() -> None:
            for _ in range(calls):
                hook.log(request, response, 0.0012)
            access.flush()

        def log_loop() -> None:
            asyncio.run(log_lines())

        line = best(log_loop)
        access.close()
    return {"middleware": middleware, "access_line": line}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per round and server")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to cores")
    parser.add_argument("--source", type=Path, help="run cadchat from DIR/service instead (before/after)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    # Both servers on core 1 (one loaded at a time), wrk on core 0: the scheduler does not
    # move them around, and wrk never competes with the server it drives.
    pinned = shutil.which("taskset") and (os.cpu_count() or 1) >= 2 and not args.no_pin
    server_core, load_core = (("taskset", "-c", "1"), ("taskset", "-c", "0")) if pinned else ((), ())
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    common = {"CADCHAT_WATCH": "false", "CADCHAT_LOG_LEVEL": "INFO", "CADCHAT_LOG_FORMAT": "json"}
    if args.source:
        common["PYTHONPATH"] = str(args.source.resolve() / "service")
    configs = {
        "on": {**common, "CADCHAT_REQUEST_METRICS": "true", "CADCHAT_ACCESS_LOG": "true"},
        "off": {**common, "CADCHAT_REQUEST_METRICS": "false", "CADCHAT_ACCESS_LOG": "false"},
    }
    with tempfile.TemporaryDirectory(prefix="cadchat-obs-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        lua = wrkload.write_script(work / "query.lua", ({"requirement": n} for n in needs))
        urls, pids = {}, {}
        for name, env in configs.items():
            (work / name).mkdir()
            base, pids[name] = stack.enter_context(
                running_server(work / name / "data", env, prefix=server_core)
            )
            urls[name] = base + "/api/query"
            wrkload.run(
                urls[name], lua, connections=args.connections, duration=2, prefix=load_core
            )  # warm-up
        results: dict[str, list[float]] = {name: [] for name in configs}
        cpu: dict[str, list[float]] = {name: [] for name in configs}
        for round_number in range(1, args.rounds + 1):
            for name in ("off", "on") if round_number % 2 else ("on", "off"):
                before = cpu_seconds(pids[name])
                result = wrkload.run(
                    urls[name], lua, connections=args.connections, duration=args.duration, prefix=load_core
                )
                per_request = (cpu_seconds(pids[name]) - before) / max(1, result["requests"]) * 1e6
                results[name].append(result["rps"])
                cpu[name].append(per_request)
                print(
                    f"round {round_number} metrics+access log {name:>3}: {result['rps']:8.0f} req/s, "
                    f"{per_request:6.0f} us CPU/request, p99 {result.get('p99_ms', 0):.2f} ms, "
                    f"non-2xx {result['non_2xx']}"
                )
        off, on = statistics.median(results["off"]), statistics.median(results["on"])
        cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
        print(
            f"POST /api/query, {args.connections} connections, {args.rounds} x {args.duration} s each, "
            f"medians: without {off:.0f} req/s, {cpu_off:.0f} us CPU/request; with metrics + access log "
            f"{on:.0f} req/s, {cpu_on:.0f} us CPU/request; cost {(off - on) / off * 100:.1f} % req/s, "
            f"{(cpu_on - cpu_off) / cpu_off * 100:.1f} % CPU"
        )
        best_off, best_on = max(results["off"]), max(results["on"])
        low_off, low_on = min(cpu["off"]), min(cpu["on"])
        print(
            f"best rounds: without {best_off:.0f} req/s, {low_off:.0f} us CPU/request; with {best_on:.0f} "
            f"req/s, {low_on:.0f} us CPU/request; cost {(best_off - best_on) / best_off * 100:.1f} % req/s, "
            f"{(low_on - low_off) / low_off * 100:.1f} % CPU"
        )
        # Each round runs both servers back to back: the cost within a round is less exposed to
        # a load that changes from one round to the next than the cost between medians.
        paired = [(o - n) / o * 100 for o, n in zip(results["off"], results["on"], strict=True)]
        paired_cpu = [(n - o) / o * 100 for o, n in zip(cpu["off"], cpu["on"], strict=True)]
        print(
            f"round by round: cost {statistics.median(paired):.1f} % req/s, "
            f"{statistics.median(paired_cpu):.1f} % CPU (medians of the {args.rounds} rounds' own costs)"
        )
    added = added_cpu_us()
    print(
        f"in-process, best of 5: request metrics {added['middleware']:.1f} us, access-log line (JSON, "
        f"to a file) {added['access_line']:.1f} us CPU a request; "
        f"{(added['middleware'] + added['access_line']) / low_off * 100:.1f} % of the best "
        f"{low_off:.0f} us CPU/request without them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
