"""How long one hostile request blocks the server's event loop, by kind.

    python benchmarks/loop_stalls.py [--kinds gzip_bomb,deep_nesting,...] [--source DIR]

For each kind, a real `cadchat serve` process on loopback gets the hostile request while a
probe sends `GET /health` back to back on its own connection; the longest `/health` round trip
during the hostile request, minus the idle round trip, is the time the loop was blocked (ms).
The target is < 50 ms for every kind. The hostile request is sent by `curl`.

`--source DIR` runs the server from another checkout's `service/` (e.g. an export of an older
commit: `git archive main service | tar -x -C /tmp/before`), for before/after numbers.

Kinds:
  gzip_bomb      400 KiB of gzip that inflates to 400 MiB, POST /api/query
  deep_nesting   100,000 `[` as a JSON body
  lone_surrogate `{"requirement": "\\ud800"}` on /api/query
  lisp_unfenced  a chat (offline) whose need pulls in a saved code that opens a code fence and
                 an unbalanced `(defun c:` (LISP extraction)
  search_ties    /api/search on a library of 50,000 near-identical lines (ranking ties)
  control        a harmless `GET /health` sent the same way: the machine's noise floor
  control_big_library  the same on the 50,000-line library (the noise floor of search_ties)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serverproc import running_server

JSON = {"Content-Type": "application/json"}
Request = tuple[str, str, bytes, dict[str, str]]  # method, path, body, headers


def gzip_bomb(_work: Path) -> Request:
    raw = gzip.compress(b" " * (400 << 20), 9)
    return "POST", "/api/query", raw, {**JSON, "Content-Encoding": "gzip"}


def deep_nesting(_work: Path) -> Request:
    return "POST", "/api/query", b"[" * 100_000, JSON


def lone_surrogate(_work: Path) -> Request:
    return "POST", "/api/query", b'{"requirement": "\\ud800"}', JSON


LISP_NEED = "画炸开块的工具 burstall"


def lisp_unfenced(_work: Path) -> Request:
    body = {"message": LISP_NEED, "stream": False}
    return "POST", "/api/chat", json.dumps(body, ensure_ascii=False).encode(), JSON


async def lisp_unfenced_setup(session: aiohttp.ClientSession, base: str) -> None:
    code = "```lisp\n(defun c:BURSTALL (/ ss)\n" + "  (setq ss (ssget))\n" * 250  # ~5 KB, unbalanced
    body = {"command": "BURSTALL", "description": LISP_NEED, "code": code}
    async with session.post(base + "/api/user_codes/save", json=body) as resp:
        await resp.read()


def search_ties_library(work: Path) -> dict[str, str]:
    path = work / "ties.txt"
    lines = ["# name|description|alias|file|date|type"]
    lines += [f"TIE{n}|炸开块 tie 命令 {n}||||basic" for n in range(50_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"CADCHAT_LIBRARY_PATHS": str(path)}


def control(_work: Path) -> Request:
    return "GET", "/health", b"", {}


def search_ties(_work: Path) -> Request:
    return "POST", "/api/search", json.dumps({"query": "炸开块 命令", "limit": 5}).encode(), JSON


KINDS: dict[str, dict[str, Any]] = {
    "gzip_bomb": {"request": gzip_bomb},
    "deep_nesting": {"request": deep_nesting},
    "lone_surrogate": {"request": lone_surrogate},
    "lisp_unfenced": {"request": lisp_unfenced, "setup": lisp_unfenced_setup},
    "search_ties": {"request": search_ties, "env": search_ties_library},
    "control": {"request": control},
    "control_big_library": {"request": control, "env": search_ties_library},
}


async def health_probe(session: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> list[float]:
    samples = []
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(url) as resp:
            await resp.read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(base: str, request: Request, setup: Callable[..., Any] | None) -> dict[str, Any]:
    method, path, body, headers = request
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        aiohttp.ClientSession(timeout=timeout) as probe,
        aiohttp.ClientSession(timeout=timeout) as client,
    ):
        if setup is not None:
            await setup(client, base)
        idle = []
        for _ in range(50):
            started = time.perf_counter()
            async with probe.get(base + "/health") as resp:
                await resp.read()
            idle.append((time.perf_counter() - started) * 1000)
        idle.sort()
        stop = asyncio.Event()
        watcher = asyncio.create_task(health_probe(probe, base + "/health", stop))
        await asyncio.sleep(0.05)
        # The hostile request goes from another process (curl), so that sending it costs this
        # process's loop nothing: every ms the probe waits is the server's.
        with tempfile.NamedTemporaryFile(suffix=".body") as file:
            file.write(body)
            file.flush()
            command = [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                method,
                "--max-time",
                "600",
            ]
            for name, value in headers.items():
                command += ["-H", f"{name}: {value}"]
            if body:
                command += ["--data-binary", f"@{file.name}"]
            command.append(base + path)
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            out, _ = await proc.communicate()
            elapsed = (time.perf_counter() - started) * 1000
        status = out.decode() or f"curl exit {proc.returncode}"
        await asyncio.sleep(0.5)  # work the server goes on doing after the answer counts too
        stop.set()
        samples = await watcher
    median_idle = idle[len(idle) // 2]
    return {
        "status": status,
        "request_ms": elapsed,
        "idle_health_ms": median_idle,
        "blocked_ms": max(0.0, max(samples) - median_idle),
        "probes": len(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", default="gzip_bomb,deep_nesting,lone_surrogate", help=", ".join(KINDS))
    parser.add_argument("--source", type=Path, help="run the server from DIR/service instead")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        print(f"unknown kind(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    for kind in kinds:
        spec = KINDS[kind]
        with tempfile.TemporaryDirectory(prefix="cadchat-stall-") as tmp:
            work = Path(tmp)
            env = {"CADCHAT_LOG_LEVEL": "ERROR", "CADCHAT_WATCH": "false"}
            if args.source:
                env["PYTHONPATH"] = (
                    str(args.source.resolve() / "service") + os.pathsep + os.environ.get("PYTHONPATH", "")
                )
            if "env" in spec:
                env.update(spec["env"](work))
            request = spec["request"](work)
            with running_server(work / "data", env, timeout=300) as (base, _pid):
                # The probe's own pauses would count as the server's: no collection while it runs.
                gc.collect()
                gc.disable()
                try:
                    result = asyncio.run(measure(base, request, spec.get("setup")))
                finally:
                    gc.enable()
        print(
            f"{kind:15s} status {result['status']}  loop blocked {result['blocked_ms']:8.1f} ms  "
            f"(request {result['request_ms']:.0f} ms, idle /health {result['idle_health_ms']:.2f} ms, "
            f"{result['probes']} probes)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
