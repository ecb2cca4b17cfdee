"""User-code store benchmark: a real server process on loopback, stops by itself.

    .venv/bin/python benchmarks/user_codes_bench.py [--saves 2000] [--concurrency 20] [--codes 10000]

1. saves/s: `--saves` POST /api/user_codes/save at `--concurrency` (every save fsyncs its two
   files and the directory: this measures the durable path, not a cache);
2. tops the store up to `--codes` codes (written through the same HTTP route);
3. restarts the server on that store (open + recovery scan time);
4. GET /api/user_codes/list latency (the old client fetches the whole list): p50/p99 over
   `--list-requests` sequential requests, plus the first request after a change (cache cold).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from serverproc import running_server

LIBRARY = "LINE|直线：绘制直线段 line|L|||basic\nCIRCLE|圆：画圆 circle|C|||basic\n"


def code_text(i: int) -> str:
    # ~1 KB, multi-line, Chinese: the size of a typical saved routine.
    lines = [f'  (princ "第{i}号程序 第{k}行 drawing helper")' for k in range(16)]
    return f"(defun c:BENCH{i} (/ p)\r\n" + "\r\n".join(lines) + "\r\n  (princ)\r\n)\r\n"


async def save_many(url: str, start: int, count: int, concurrency: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(start, start + count):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {"code": code_text(i), "command": f"BENCH{i}", "description": f"基准测试程序 {i}"}
                async with session.post(url + "/api/user_codes/save", json=body) as resp:
                    if resp.status != 200:
                        raise SystemExit(f"save failed: {resp.status} {await resp.text()}")
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def list_latency(url: str, requests: int) -> tuple[list[float], int, int]:
    timings: list[float] = []
    size = count = 0
    async with aiohttp.ClientSession() as session:
        for _ in range(requests):
            started = time.perf_counter()
            async with session.get(url + "/api/user_codes/list") as resp:
                body = await resp.read()
            timings.append(time.perf_counter() - started)
            size = len(body)
        async with session.get(url + "/api/user_codes/list") as resp:
            count = len((await resp.json())["codes"])
    return timings, size, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--codes", type=int, default=10_000)
    parser.add_argument("--list-requests", type=int, default=200)
    args = parser.parse_args()
    total = max(args.codes, args.saves)

    with tempfile.TemporaryDirectory(prefix="cadchat-bench-") as tmp:
        root = Path(tmp)
        library = root / "lib.txt"
        library.write_text(LIBRARY, encoding="utf-8")
        data_dir = root / "data"
        env = {
            "CADCHAT_LIBRARY_PATHS": str(library),
            "CADCHAT_WATCH": "false",
            "CADCHAT_LOG_LEVEL": "WARNING",
            "CADCHAT_LLM_PROVIDER": "offline",
        }
        with running_server(data_dir, env) as (url, _pid):
            elapsed = asyncio.run(save_many(url, 0, args.saves, args.concurrency))
            print(
                f"saves: {args.saves} at concurrency {args.concurrency} in {elapsed:.2f} s "
                f"= {args.saves / elapsed:.0f} saves/s (each: 2 fsynced files + 1 directory fsync; "
                "saves of different codes overlap)"
            )
            if args.codes > args.saves:
                fill = asyncio.run(save_many(url, args.saves, args.codes - args.saves, args.concurrency))
                print(f"filled to {args.codes} codes in {fill:.1f} s")

        started = time.perf_counter()
        with running_server(data_dir, env) as (url, _pid):
            startup = time.perf_counter() - started
            print(f"restart with {total} codes: healthy after {startup:.2f} s (open + recovery scan)")
            cold, _, _ = asyncio.run(list_latency(url, 1))
            timings, size, count = asyncio.run(list_latency(url, args.list_requests))
            assert count == total, count
            ms = [t * 1000 for t in timings]
            print(
                f"/api/user_codes/list with {count} codes ({size / 1e6:.1f} MB): "
                f"first {cold[0] * 1000:.1f} ms, "
                f"then p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
                f"mean {statistics.fmean(ms):.1f} ms over {len(ms)} requests"
            )


if __name__ == "__main__":
    main()
