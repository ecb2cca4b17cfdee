"""Cost of request metrics and the access log on POST /api/query, in one run.

    python benchmarks/observability_overhead.py [--rounds 8] [--duration 3] [--connections 50]
                                                [--log-format json|text] [--aa] [--no-pin]
                                                [--source DIR]

Starts four servers on loopback from the same library, two with request metrics and the access
log on (JSON lines by default, the costlier format; `--log-format text` for the service's
default; to a file) and two with both off (`CADCHAT_REQUEST_METRICS=false`,
`CADCHAT_ACCESS_LOG=false`), as two off/on pairs started in opposite orders (off, on, on, off):
whatever favours the first or the last server started cancels out. All four are pinned to core 1
and loaded AT THE SAME TIME, each by a wrk of its own on core 0 (`taskset`, unless `--no-pin`):
the kernel's fair scheduler gives the server processes equal shares of core 1, so the ratio of
their req/s is the inverse ratio of their CPU per request, and whatever else the machine does in
those seconds slows all alike. (Loading them one after the other, the same server's req/s moved
by ±10-30 % between rounds on this VM, more than the cost measured.) After a warm-up round, each
of `--rounds` rounds prints the req/s and the CPU time per request (user + system, from /proc)
of each pair's servers and the round's cost, the mean of the two pairs' costs:
1 - req/s(on) / req/s(off), and CPU(on) / CPU(off) - 1. The summary gives the median and the
quartiles of the rounds' costs. `--aa` starts every server with both off: the method's own noise
(a cost near 0). `--source DIR` runs the servers from another checkout's `service/`
(before/after). Needs `wrk` (Debian package).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
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
    # Two off/on pairs, started in opposite orders.
    pairs = (("off", "on"), ("off2", "on2"))
    configs = {"off": off, "on": off if args.aa else on, "on2": off if args.aa else on, "off2": off}
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

        def load_all(duration: int) -> dict[str, tuple[dict, float]]:
            """Every server under load at once: each one's wrk result and CPU µs a request."""
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            with ThreadPoolExecutor(max_workers=len(urls)) as pool:
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

        load_all(2)  # warm-up: imports, caches, the access log's first batches
        costs, cpu_costs, off_cpus = [], [], []
        for round_number in range(1, args.rounds + 1):
            measured = load_all(args.duration)
            pair_costs, pair_cpu_costs, parts = [], [], []
            for off_name, on_name in pairs:
                (off_result, off_cpu), (on_result, on_cpu) = measured[off_name], measured[on_name]
                pair_costs.append(
                    (1 - on_result["rps"] / off_result["rps"]) * 100 if off_result["rps"] else float("nan")
                )
                pair_cpu_costs.append((on_cpu / off_cpu - 1) * 100 if off_cpu else float("nan"))
                off_cpus.append(off_cpu)
                parts.append(
                    f"off {off_result['rps']:5.0f} req/s {off_cpu:4.0f} us CPU/req, {label} "
                    f"{on_result['rps']:5.0f} req/s {on_cpu:4.0f} us CPU/req"
                )
            cost, cpu_cost = statistics.fmean(pair_costs), statistics.fmean(pair_cpu_costs)
            costs.append(cost)
            cpu_costs.append(cpu_cost)
            non_2xx = sum(result["non_2xx"] for result, _ in measured.values())
            print(
                f"round {round_number}: {' | '.join(parts)} | cost {cost:5.1f} % req/s, {cpu_cost:5.1f} % CPU"
                f" | non-2xx {non_2xx}",
                flush=True,
            )
        low, middle, high = quartiles(costs)
        cpu_low, cpu_middle, cpu_high = quartiles(cpu_costs)
        print(
            f"POST /api/query, two off/on pairs loaded at once ({args.connections} connections each), "
            f"{args.rounds} x {args.duration} s, load average {os.getloadavg()[0]:.1f}: cost of metrics + "
            f"access log ({args.log_format}){' (A/A: all off)' if args.aa else ''} {middle:.1f} % req/s "
            f"(quartiles {low:.1f} .. {high:.1f}), {cpu_middle:.1f} % CPU per request "
            f"({cpu_low:.1f} .. {cpu_high:.1f}); {statistics.median(off_cpus):.0f} us CPU per request with "
            "both off"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
