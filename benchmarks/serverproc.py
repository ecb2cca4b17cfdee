"""Run a real `cadchat serve` process on loopback for benchmarks and end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment without CADChat/DashScope settings and proxies, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CADCHAT_", "FLASK_", "DASHSCOPE_", "BAILIAN_")) and "proxy" not in k.lower()
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    env: Mapping[str, str],
    timeout: float = 60.0,
    *,
    prefix: Sequence[str] = (),
    argv: Sequence[str] | None = None,
) -> Iterator[tuple[str, int]]:
    """Yield (base URL, pid) of a server started with `env`; stop it (SIGTERM) afterwards.

    `prefix` goes before the command (e.g. `taskset -c 1`); `argv` replaces `cadchat serve` by
    another Python program that takes the port as its last argument."""
    port = free_port()
    full_env = clean_env({"CADCHAT_ACCESS_LOG": "false", **env})
    log = open(data_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            *prefix,
            sys.executable,
            *(argv or ("-m", "cadchat", "serve", "--data-dir", str(data_dir), "--port")),
            str(port),
        ],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir.parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy in time")
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
