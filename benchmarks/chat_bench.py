"""Load benchmark of POST /api/chat through the real dashscope SDK against the fake gateway.

    python benchmarks/chat_bench.py [--connections 64] [--duration 10] [--streams 1000]

One `cadchat serve` process on loopback (provider dashscope, rate limit off, budget off, upstream
cap above the stream count) and the fake DashScope gateway (tests/chat/fake_dashscope.py) in its
own process. Three parts, all numbers printed:

1. Non-streamed throughput: `wrk` POSTs /api/chat with `"cache": false` (the answer cache would
   otherwise measure itself); fake at zero latency. Requests/s and wrk's latency percentiles.
2. Latency the service adds: one request at a time, end-to-end time at the client minus the
   upstream time the service measured (`upstream_ms`): p50/p99 of the difference.
3. Streams: N concurrent streamed chats, the fake emitting 50 tokens 20 ms apart; every stream
   must end with a `final` event and no `error`; the server's peak RSS is sampled meanwhile.

Everything targets 127.0.0.1 and stops by itself. Needs `wrk` for part 1 (skipped without it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "chat"))

import wrkload  # noqa: E402
from fake_dashscope import API_KEY  # noqa: E402
from serverproc import clean_env, rss_kib, running_server  # noqa: E402

BODY = {"message": "画一个半径 50 的圆", "mode": "lisp", "cache": False}
# wrk rotates through these needs, so neither retrieval nor anything else sees one repeated text.
NEEDS = [
    "画一个半径 50 的圆",
    "把多余的线剪掉",
    "炸开块并保留属性",
    "批量修改文字高度",
    "两条线倒圆角",
    "把线延伸到边界",
    "偏移复制平行线",
    "测量两点距离",
    "标注直径",
    "阵列复制十个圆",
    "删除所有空图层",
    "统计选中对象数量",
    "画一个矩形",
    "镜像对象",
    "旋转 90 度",
    "缩放到一半",
    "合并多段线",
    "打断一条线",
    "填充图案",
    "插入块",
]


class Fake:
    """The fake gateway in its own process (so it does not share a core's event loop with us)."""

    def __enter__(self) -> Fake:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE.parent / "tests" / "chat" / "fake_dashscope.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            env=clean_env({}),
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError("fake gateway did not start")
        self.root = self.url.rsplit("/api/v1", 1)[0]
        return self

    def control(self, **changes: float) -> dict:
        request = urllib.request.Request(
            self.root + "/_control",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def run_wrk(base: str, connections: int, duration: int, workdir: Path, pid: int) -> dict[str, object]:
    script = wrkload.write_script(workdir / "chat.lua", ({**BODY, "message": need} for need in NEEDS))
    cpu_before = cpu_seconds(pid)
    result = wrkload.run(base + "/api/chat", script, connections=connections, duration=duration)
    cpu = cpu_seconds(pid) - cpu_before
    total = result["requests"]
    return {
        "requests_per_s": result["rps"],
        "requests": total,
        # The box is shared by wrk, the fake and the server: the server's own CPU time per request
        # says what one core would sustain for it alone.
        "server_cpu_ms_per_request": round(cpu / total * 1000, 3) if total else None,
        "server_only_capacity_per_core_rps": round(total / cpu) if cpu else None,
        "latency": {k: v for k, v in result.items() if k.startswith("p")},
        "non_2xx": result["non_2xx"],
        "socket_errors": result["socket_errors"],
    }


async def added_latency(base: str, count: int) -> dict[str, float]:
    added, e2e = [], []
    async with aiohttp.ClientSession() as session:
        for number in range(count + 50):
            started = time.perf_counter()
            body = {**BODY, "message": NEEDS[number % len(NEEDS)]}
            async with session.post(base + "/api/chat", json=body) as response:
                answer = await response.json()
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status == 200 and answer["provider"] == "dashscope", answer
            if number >= 50:  # warm-up excluded
                e2e.append(elapsed)
                added.append(elapsed - answer["upstream_ms"])
    return {
        "requests": count,
        "e2e_p50_ms": percentile(e2e, 0.5),
        "e2e_p99_ms": percentile(e2e, 0.99),
        "added_p50_ms": percentile(added, 0.5),
        "added_p99_ms": percentile(added, 0.99),
    }


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)


async def streams(base: str, count: int) -> dict[str, object]:
    results = {"complete": 0, "errors": 0, "deltas": 0, "failures": [], "open": 0, "max_concurrent": 0}

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        # Connections open in waves of 100 every 50 ms (all 1,000 within 0.5 s, each stream lasting
        # >= 1 s), so the listen backlog (aiohttp's default 128) is not what is measured.
        await asyncio.sleep(index // 100 * 0.05)
        body = {**BODY, "stream": True, "message": f"画一个圆 #{index}"}
        try:
            async with session.post(base + "/api/chat", json=body) as response:
                results["open"] += 1  # type: ignore[operator]
                results["max_concurrent"] = max(results["max_concurrent"], results["open"])  # type: ignore[type-var]
                try:
                    text = await response.text()
                finally:
                    results["open"] -= 1  # type: ignore[operator]
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {text[:200]}")
            events = re.findall(r"^event: (\w+)", text, re.M)
            if events[-1] != "final" or "error" in events:
                raise RuntimeError(f"bad event sequence ending {events[-3:]}")
            final = json.loads(text.rsplit("data: ", 1)[1])
            if final["provider"] != "dashscope" or final["degraded"]:
                raise RuntimeError(f"degraded answer: {final['degraded_reason']}")
            results["deltas"] += events.count("delta")  # type: ignore[operator]
            results["complete"] += 1  # type: ignore[operator]
        except Exception as exc:
            results["errors"] += 1  # type: ignore[operator]
            results["failures"].append(str(exc)[:200])  # type: ignore[union-attr]

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session, i) for i in range(count)))
        results["seconds"] = round(time.perf_counter() - started, 2)
    results["failures"] = results["failures"][:5]  # type: ignore[index]
    del results["open"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (non-streamed part)")
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds")
    parser.add_argument("--sequential", type=int, default=2000, help="requests for the added-latency part")
    parser.add_argument("--streams", type=int, default=1000, help="concurrent streamed chats")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="extra server environment, e.g. --set CADCHAT_CHAT_FIRST_TOKEN_TIMEOUT=60",
    )
    parser.add_argument(
        "--parts", default="throughput,latency,streams", help="comma-separated subset of the three parts"
    )
    args = parser.parse_args()
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="chat-bench-") as tmp, Fake() as fake:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        env = {
            "CADCHAT_LLM_PROVIDER": "dashscope",
            "DASHSCOPE_API_KEY": API_KEY,
            "CADCHAT_DASHSCOPE_BASE_URL": fake.url,
            "CADCHAT_CHAT_RATE_LIMIT": "0",
            "CADCHAT_CHAT_DAILY_TOKEN_BUDGET": "0",
            "CADCHAT_CHAT_MAX_CONCURRENCY": str(max(args.streams + 64, args.connections)),
            "CADCHAT_WATCH": "false",
            "CADCHAT_LOG_LEVEL": "WARNING",
            **dict(item.split("=", 1) for item in args.set),
        }
        report["server_settings"] = {k: v for k, v in env.items() if k != "DASHSCOPE_API_KEY"}
        with running_server(data_dir, env) as (base, pid):
            report["server_rss_idle_mib"] = round(rss_kib(pid) / 1024, 1)
            fake.control(tokens=12, token_delay=0.0, latency=0.0)
            parts = set(args.parts.split(","))
            if "throughput" not in parts:
                report["non_streamed"] = "skipped"
            elif shutil.which("wrk"):
                run_wrk(base, args.connections, 2, Path(tmp), pid)  # warm-up
                report["non_streamed"] = run_wrk(base, args.connections, args.duration, Path(tmp), pid)
            else:
                report["non_streamed"] = "skipped: wrk not installed"
            if "latency" in parts:
                report["added_latency"] = asyncio.run(added_latency(base, args.sequential))
            if "streams" not in parts:
                report["streams"] = {"errors": 0, "complete": args.streams, "skipped": True}
                print(json.dumps(report, indent=2, ensure_ascii=False))
                return 0
            fake.control(tokens=50, token_delay=0.02)
            sampler = RssSampler(pid)
            sampler.start()
            report["rss_before_streams_mib"] = round(rss_kib(pid) / 1024, 1)
            cpu_server, cpu_fake = cpu_seconds(pid), cpu_seconds(fake.proc.pid)
            report["streams"] = asyncio.run(streams(base, args.streams))
            report["streams_cpu_seconds"] = {
                "server": round(cpu_seconds(pid) - cpu_server, 2),
                "fake": round(cpu_seconds(fake.proc.pid) - cpu_fake, 2),
            }
            sampler.running = False
            sampler.join()
            report["server_rss_peak_during_streams_mib"] = round(sampler.peak / 1024, 1)
            report["fake_stream_counters"] = fake.control()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    ok = (
        isinstance(report["streams"], dict)
        and report["streams"]["errors"] == 0
        and report["streams"]["complete"] == args.streams
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
