"""Load on loopback: 1 and 2 app processes sharing one PostgreSQL (fsync on), each app process
a "host" of its own fixed CPU allowance.

    .venv/bin/python benchmarks/pg_load.py [--app-cpus 0.5] [--duration 5] [--connections 20]
        [--save-concurrency 10]

Each `cadchat serve` process runs in its own cgroup with a CPU quota of `--app-cpus` CPUs
(cgroup v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`, or v2 `cpu.max`; see cpuquota.py), so 1 and
2 processes compare 1 and 2 hosts of equal size on a machine whose cores wrk, PostgreSQL and
the save clients (all outside the quotas) share with them. The groups are removed at the end,
also on Ctrl-C. Without root or a writable cgroup `cpu` controller (or with `--app-cpus 0`) the
processes run unconstrained and the output says so: req/s then measures the shared cores.

For N = 1 and N = 2 processes on one throwaway database (and, as the baseline under the same
conditions, one process on the file store):
1. `POST /api/query` under wrk (one wrk of `--connections` connections per process: each host
   has its own clients and is kept saturated, so the sum is the capacity of N hosts):
   requests/s summed, p99 the worst of the processes, each process's CPU use (CPU-s per second
   of load: at the quota when the allowance is what limits it) and the periods it was throttled;
2. durable saves (`POST /api/user_codes/save`, ~1 KB codes) for `--duration` seconds at
   `--save-concurrency` clients per process: saves/s and p99;
3. PostgreSQL's memory after the load: RSS of the postmaster and every backend summed (shared
   buffers counted in each: an upper bound) and PSS summed (shared pages split: the real
   footprint), and each app process's RSS;
4. at the end: every acknowledged save is in the database, and every process lists them all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import cpuquota
import wrkload
from pgcluster import running_cluster
from serverproc import rss_kib, running_server

LIBRARY = (
    "LINE|直线：绘制直线段 line|L|||basic\nCIRCLE|圆：画圆 circle|C|||basic\nTRIM|修剪 trim|TR|||basic\n"
)
REQUIREMENTS = [
    "画一条直线",
    "画圆",
    "修剪多余的线",
    "第12号程序",
    "drawing helper",
    "圆环",
    "BENCH7",
    "延伸",
]


def code_text(i: int) -> str:
    lines = [f'  (princ "第{i}号程序 第{k}行 drawing helper")' for k in range(16)]
    return f"(defun c:BENCH{i} (/ p)\r\n" + "\r\n".join(lines) + "\r\n  (princ)\r\n)\r\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def query_load(
    bases: list[str],
    pids: list[int],
    groups: list[cpuquota.QuotaGroup] | None,
    script: Path,
    connections: int,
    duration: int,
) -> dict[str, Any]:
    """wrk on every process at once (`connections` each): req/s summed, worst p99, each
    process's CPU use (CPU-s per second of load) and, under quotas, the share of periods in
    which it was throttled."""
    results: list[dict[str, Any]] = [{} for _ in bases]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    throttled_before = [g.throttled() for g in groups] if groups else []

    def drive(index: int) -> None:
        results[index] = wrkload.run(
            bases[index] + "/api/query", script, connections=connections, duration=duration
        )

    began = time.perf_counter()
    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(bases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    throttled = []
    for group, (periods0, throttled0) in zip(groups or [], throttled_before, strict=True):
        periods, hits = group.throttled()
        throttled.append((hits - throttled0) / max(1, periods - periods0))
    requests = sum(r["requests"] for r in results)
    return {
        "per_cpu_second": requests / sum(cpu) if sum(cpu) else 0.0,
        "cpu_use": [c / seconds for c in cpu],
        "throttled": throttled,
        "rps": sum(r["rps"] for r in results),
        "p99_ms": max(r.get("p99_ms", 0.0) for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
    }


async def save_load(bases: list[str], concurrency: int, duration: float, start: int) -> dict[str, Any]:
    latencies: list[float] = []
    saved: list[int] = []
    counter = iter(range(start, 10**9))
    deadline = time.perf_counter() + duration
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker(k: int) -> None:
            base = bases[k % len(bases)]
            while time.perf_counter() < deadline:
                i = next(counter)
                body = {"code": code_text(i), "command": f"BENCH{i}", "description": f"基准测试程序 {i}"}
                began = time.perf_counter()
                async with session.post(base + "/api/user_codes/save", json=body) as resp:
                    answer = await resp.json()
                    if resp.status != 200:
                        raise SystemExit(f"save failed: {resp.status} {answer}")
                latencies.append(time.perf_counter() - began)
                saved.append(answer["code_id"])

        began = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        seconds = time.perf_counter() - began
    latencies.sort()
    return {
        "saves_per_s": len(saved) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
        "ids": saved,
    }


def listed(base: str) -> int:
    with urllib.request.urlopen(base + "/api/user_codes/list", timeout=30) as resp:
        import json

        return len(json.loads(resp.read())["codes"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-cpus", type=float, default=0.5, help="CPU quota per app process (0: none)")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--save-concurrency", type=int, default=10)
    args = parser.parse_args()
    no_quota = "--app-cpus 0" if args.app_cpus <= 0 else cpuquota.unavailable()
    if no_quota:
        print(
            f"NO CPU QUOTA ({no_quota}): the app processes share the machine's cores with wrk and "
            "PostgreSQL; req/s below measures that machine, not 1 vs 2 hosts"
        )
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores, shared)")
    rows = []
    quotas: set[str] = set()
    acknowledged: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="cadchat-pgload-") as tmp,
        running_cluster(tcp=True, durable=True) as cluster,
    ):
        url = cluster.tcp_url(cluster.create_database("load"))
        library = Path(tmp) / "library.txt"
        library.write_text(LIBRARY, encoding="utf-8")
        script = wrkload.write_script(Path(tmp) / "query.lua", [{"requirement": r} for r in REQUIREMENTS])
        env = {
            "CADCHAT_DATABASE_URL": url,
            "CADCHAT_LIBRARY_PATHS": str(library),
            "CADCHAT_WATCH": "false",
            "CADCHAT_LOG_LEVEL": "WARNING",
        }
        for store, processes in (("files", 1), ("postgresql", 1), ("postgresql", 2)):
            with ExitStack() as stack:  # the groups are entered first: removed after the servers stop
                names = [f"app{n + 1}" for n in range(processes)]
                groups = None
                if not no_quota:
                    groups = stack.enter_context(cpuquota.cpu_quota_groups(names, args.app_cpus))
                servers = []
                for n in range(processes):
                    data = Path(tmp) / f"{store}{processes}-{n}" / "data"
                    data.mkdir(parents=True)
                    host_env = env if store == "postgresql" else {**env, "CADCHAT_DATABASE_URL": ""}
                    prefix = groups[n].prefix if groups else ()
                    servers.append(stack.enter_context(running_server(data, host_env, prefix=prefix)))
                quotas.update(g.describe().split(": ", 1)[1] for g in groups or [])
                bases = [base for base, _ in servers]
                query = query_load(
                    bases, [pid for _, pid in servers], groups, script, args.connections, args.duration
                )
                saves = asyncio.run(
                    save_load(
                        bases, args.save_concurrency * processes, args.duration, start=len(acknowledged) + 1
                    )
                )
                if store == "postgresql":
                    acknowledged += saves["ids"]
                time.sleep(1.5)  # the other host's poll
                counts = [listed(base) for base in bases]
                rows.append(
                    (
                        f"{processes} ({store})",
                        query,
                        saves,
                        (cluster.rss_kib(), cluster.rss_kib("Pss")),
                        [rss_kib(pid) for _, pid in servers],
                        counts,
                    )
                )
        in_db = int(cluster.psql("SELECT count(*) FROM user_codes WHERE NOT deleted", database="load"))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not no_quota:
        print(f"CPU quota per app process: {args.app_cpus:g} CPU ({'; '.join(sorted(quotas))})")
    print(
        "| app processes (store) | /api/query req/s | query p99 ms | app CPU use (CPU-s/s) "
        "| throttled periods | req per app CPU-second | saves/s | save p50 ms | save p99 ms "
        "| PostgreSQL RSS (PSS) MiB | app RSS MiB | listed by each |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for processes, query, saves, pg_rss, app_rss, counts in rows:
        throttled = " + ".join(f"{t:.0%}" for t in query["throttled"]) or "—"
        print(
            f"| {processes} | {query['rps']:.0f} | {query['p99_ms']:.1f} | "
            f"{' + '.join(f'{c:.2f}' for c in query['cpu_use'])} | {throttled} | "
            f"{query['per_cpu_second']:.0f} | {saves['saves_per_s']:.0f} | "
            f"{saves['p50_ms']:.1f} | {saves['p99_ms']:.1f} | "
            f"{pg_rss[0] / 1024:.0f} ({pg_rss[1] / 1024:.0f}) | "
            f"{' + '.join(f'{r / 1024:.0f}' for r in app_rss)} | {', '.join(map(str, counts))} |"
        )
    query_ratio = rows[2][1]["rps"] / rows[1][1]["rps"] if rows[1][1]["rps"] else 0.0
    save_ratio = rows[2][2]["saves_per_s"] / rows[1][2]["saves_per_s"] if rows[1][2]["saves_per_s"] else 0.0
    hosts = "hosts of equal CPU allowance" if not no_quota else "processes, NO quota"
    print(f"/api/query on PostgreSQL, 2 {hosts} / 1: {query_ratio:.2f}x (target >= 1.7x)")
    print(f"saves on PostgreSQL, 2 {hosts} / 1: {save_ratio:.2f}x")
    print(
        f"acknowledged saves: {len(acknowledged)}, distinct ids {len(set(acknowledged))}, "
        f"live rows in the database {in_db}"
    )
    if len(set(acknowledged)) != len(acknowledged) or in_db != len(acknowledged):
        raise SystemExit("an acknowledged save is missing or an id was handed out twice")


if __name__ == "__main__":
    main()
