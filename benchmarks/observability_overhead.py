"""Cost of request metrics and the access log on POST /api/query, in one run.

    python benchmarks/observability_overhead.py [--rounds 8] [--duration 3] [--connections 50]
                                                [--log-format json|text] [--aa] [--no-pin]
                                                [--source DIR]

Starts two servers on loopback from the same library: one with request metrics and the access
log on (JSON lines by default, the costlier format; `--log-format text` for the service's
default; to a file), one with both off (`CADCHAT_REQUEST_METRICS=false`,
`CADCHAT_ACCESS_LOG=false`). Both are pinned to core 1 and loaded AT THE SAME TIME, each by a
wrk of its own on core 0 (`taskset`, unless `--no-pin`): the kernel's fair scheduler gives the
two server processes equal shares of core 1, so the ratio of their req/s is the inverse ratio
of their CPU per request, and whatever else the machine does in those seconds slows both alike.
(Loading them one after the other, the same server's req/s moved by ±10-30 % between rounds
on this VM, more than the cost measured.) After a warm-up round, each of `--rounds` rounds
prints both servers' req/s and CPU time per request (user + system, from /proc) and the cost:
1 - req/s(on) / req/s(off), and CPU(on) / CPU(off) - 1. The summary gives the median and the
quartiles of the rounds' costs. `--aa` starts the second server with both off as well: the
method's own noise (a cost near 0). Then, in-process, the CPU time the two add to one request
(the request middleware around a trivial handler with request metrics on, less the same with
them off; one access-log line recorded, then formatted as JSON and written to a file in one
batch, as the access log's writer thread does), best of 5 repeats (of this checkout).
`--source DIR` runs the servers from another checkout's `service/` (before/after). Needs `wrk`
(Debian package).
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
from concurrent.futures import ThreadPoolExecutor
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


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (the median thrice for one value)."""
    if len(values) < 2:
        return (values[0],) * 3
    low, middle, high = statistics.quantiles(values, n=4)
    return low, middle, high


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=int, default=3, help="seconds of load per round")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections per server")
    parser.add_argument("--log-format", choices=("json", "text"), default="json", help="CADCHAT_LOG_FORMAT")
    parser.add_argument("--aa", action="store_true", help="both servers with metrics and access log off")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to cores")
    parser.add_argument("--source", type=Path, help="run cadchat from DIR/service instead (before/after)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.duration < 1:
        print("--rounds and --duration must be at least 1", file=sys.stderr)
        return 2
    # Both servers share core 1, both wrk processes core 0: the servers split one core evenly.
    pinned = shutil.which("taskset") and (os.cpu_count() or 1) >= 2 and not args.no_pin
    server_core, load_core = (("taskset", "-c", "1"), ("taskset", "-c", "0")) if pinned else ((), ())
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    common = {"CADCHAT_WATCH": "false", "CADCHAT_LOG_LEVEL": "INFO", "CADCHAT_LOG_FORMAT": args.log_format}
    if args.source:
        common["PYTHONPATH"] = str(args.source.resolve() / "service")
    off = {**common, "CADCHAT_REQUEST_METRICS": "false", "CADCHAT_ACCESS_LOG": "false"}
    on = {**common, "CADCHAT_REQUEST_METRICS": "true", "CADCHAT_ACCESS_LOG": "true"}
    configs = {"off": off, "on": off if args.aa else on}
    label = "off (A/A)" if args.aa else "on"
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

        def load_both(duration: int) -> dict[str, tuple[dict, float]]:
            """Both servers under load at once: each one's wrk result and CPU µs a request."""
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = {
                    name: pool.submit(
                        wrkload.run,
                        url,
                        lua,
                        connections=args.connections,
                        duration=duration,
                        prefix=load_core,
                    )
                    for name, url in urls.items()
                }
                results = {name: future.result() for name, future in futures.items()}
            return {
                name: (result, (cpu_seconds(pids[name]) - before[name]) / max(1, result["requests"]) * 1e6)
                for name, result in results.items()
            }

        load_both(2)  # warm-up: imports, caches, the access log's first batches
        costs, cpu_costs, off_cpus = [], [], []
        for round_number in range(1, args.rounds + 1):
            measured = load_both(args.duration)
            (off_result, off_cpu), (on_result, on_cpu) = measured["off"], measured["on"]
            cost = (1 - on_result["rps"] / off_result["rps"]) * 100 if off_result["rps"] else float("nan")
            cpu_cost = (on_cpu / off_cpu - 1) * 100 if off_cpu else float("nan")
            costs.append(cost)
            cpu_costs.append(cpu_cost)
            off_cpus.append(off_cpu)
            print(
                f"round {round_number}: off {off_result['rps']:6.0f} req/s {off_cpu:4.0f} us CPU/request "
                f"p99 {off_result.get('p99_ms', 0):5.1f} ms | {label} {on_result['rps']:6.0f} req/s "
                f"{on_cpu:4.0f} us CPU/request p99 {on_result.get('p99_ms', 0):5.1f} ms | cost {cost:5.1f} % "
                f"req/s, {cpu_cost:5.1f} % CPU | non-2xx {off_result['non_2xx'] + on_result['non_2xx']}",
                flush=True,
            )
        low, middle, high = quartiles(costs)
        cpu_low, cpu_middle, cpu_high = quartiles(cpu_costs)
        print(
            f"POST /api/query, both servers loaded at once ({args.connections} connections each), "
            f"{args.rounds} x {args.duration} s, load average {os.getloadavg()[0]:.1f}: cost of metrics + "
            f"access log ({args.log_format}){' (A/A: both off)' if args.aa else ''} {middle:.1f} % req/s "
            f"(quartiles {low:.1f} .. {high:.1f}), {cpu_middle:.1f} % CPU per request "
            f"({cpu_low:.1f} .. {cpu_high:.1f})"
        )
    added = added_cpu_us()
    print(
        f"in-process, best of 5: request metrics {added['middleware']:.1f} us, access-log line (JSON, "
        f"to a file) {added['access_line']:.1f} us CPU a request; "
        f"{(added['middleware'] + added['access_line']) / statistics.median(off_cpus) * 100:.1f} % of "
        f"the median {statistics.median(off_cpus):.0f} us CPU/request without them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
