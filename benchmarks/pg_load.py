"""Load on loopback: 1 and 2 app processes sharing one PostgreSQL (fsync on).

    .venv/bin/python benchmarks/pg_load.py [--duration 5] [--connections 20] [--save-concurrency 10]

For N = 1 and N = 2 `cadchat serve` processes on one throwaway database (and, as the baseline
under the same conditions, one process on the file store):
1. `POST /api/query` under wrk (one wrk per process, `--connections` split between them):
   requests/s summed, p99 the worst of the processes;
2. durable saves (`POST /api/user_codes/save`, ~1 KB codes) for `--duration` seconds at
   `--save-concurrency` spread over the processes: saves/s and p99;
3. PostgreSQL's memory after the load: RSS of the postmaster and every backend summed (shared
   buffers counted in each: an upper bound) and PSS summed (shared pages split: the real
   footprint), and each app process's RSS;
4. at the end: every acknowledged save is in the database, and every process lists them all.
The machine's load average is printed: on 2 cores shared with other jobs, wrk, the app
processes and PostgreSQL compete for the same CPUs and req/s swings with the neighbours' load.
Requests per CPU-second of the app processes do not: equal for 1 and 2 processes means the
second process adds its full core's worth (queries are served from memory, the database is not
on their path), i.e. 2 hosts give 2x where each has its own core.
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
    bases: list[str], pids: list[int], script: Path, connections: int, duration: int
) -> dict[str, Any]:
    results: list[dict[str, Any]] = [{} for _ in bases]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)

    def drive(index: int) -> None:
        per = max(1, connections // len(bases))
        results[index] = wrkload.run(bases[index] + "/api/query", script, connections=per, duration=duration)

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(bases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    requests = sum(r["requests"] for r in results)
    return {
        "per_cpu_second": requests / cpu if cpu else 0.0,
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
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--save-concurrency", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared)")
    rows = []
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
            with ExitStack() as stack:
                servers = []
                for n in range(processes):
                    data = Path(tmp) / f"{store}{processes}-{n}" / "data"
                    data.mkdir(parents=True)
                    host_env = env if store == "postgresql" else {**env, "CADCHAT_DATABASE_URL": ""}
                    servers.append(stack.enter_context(running_server(data, host_env)))
                bases = [base for base, _ in servers]
                query = query_load(
                    bases, [pid for _, pid in servers], script, args.connections, args.duration
                )
                saves = asyncio.run(
                    save_load(bases, args.save_concurrency, args.duration, start=len(acknowledged) + 1)
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
    print(
        "| app processes (store) | /api/query req/s | req per app CPU-second | query p99 ms "
        "| saves/s | save p50 ms | save p99 ms | PostgreSQL RSS (PSS) MiB | app RSS MiB | listed by each |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for processes, query, saves, pg_rss, app_rss, counts in rows:
        print(
            f"| {processes} | {query['rps']:.0f} | {query['per_cpu_second']:.0f} | {query['p99_ms']:.1f} | "
            f"{saves['saves_per_s']:.0f} | "
            f"{saves['p50_ms']:.1f} | {saves['p99_ms']:.1f} | "
            f"{pg_rss[0] / 1024:.0f} ({pg_rss[1] / 1024:.0f}) | "
            f"{' + '.join(f'{r / 1024:.0f}' for r in app_rss)} | {', '.join(map(str, counts))} |"
        )
    ratio = rows[2][1]["rps"] / rows[1][1]["rps"] if rows[1][1]["rps"] else 0.0
    print(f"/api/query on PostgreSQL, 2 processes / 1: {ratio:.2f}x")
    print(
        f"acknowledged saves: {len(acknowledged)}, distinct ids {len(set(acknowledged))}, "
        f"live rows in the database {in_db}"
    )
    if len(set(acknowledged)) != len(acknowledged) or in_db != len(acknowledged):
        raise SystemExit("an acknowledged save is missing or an id was handed out twice")


if __name__ == "__main__":
    main()
