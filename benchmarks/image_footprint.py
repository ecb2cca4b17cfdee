"""Footprint of service images: size, time to healthy and resident memory after a query load.

    python benchmarks/image_footprint.py IMAGE [IMAGE ...] [--queries 200]

Each image runs the way the Compose project runs it (read-only root, init, non-root, no
capabilities, a bind-mounted data directory), published on a free loopback port of the Docker engine in
$DOCKER_HOST. Prints per image: size in MB (as `docker image ls` counts), seconds from start to
healthy, and the service process's RSS idle and after the queries. Removes its containers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serverproc import free_port


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()


def service_rss_kib(container: str) -> int:
    """RSS of the `cadchat serve` process (not the init in front of it), from the host's ps."""
    for line in docker("top", container, "-o", "pid,rss,args").splitlines()[1:]:
        _pid, rss, args = line.split(None, 2)
        if "cadchat serve" in args and "docker-init" not in args:
            return int(rss)
    raise RuntimeError(f"no cadchat serve process in {container}")


def wait_healthy(port: int, timeout: float = 120) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no healthy answer on port {port} within {timeout} s")


def query_load(port: int, queries: int) -> None:
    for i in range(queries):
        body = json.dumps({"requirement": f"画一个半径 {i} 的圆"}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/query", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            reply.read()


def measure(image: str, queries: int) -> dict[str, object]:
    port = free_port()
    name = f"footprint-{port}"
    data = Path(tempfile.mkdtemp(prefix="cadchat-footprint-"))
    shutil.chown(data, 10001, 10001)  # the image's own user, as a host's data directory would be
    docker(
        "run", "-d", "--name", name, "--init", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges:true", "--user", "10001:10001",
        "--tmpfs", "/tmp:size=16m", "-v", f"{data}:/data",
        "-e", "CADCHAT_LLM_PROVIDER=offline", "-p", f"127.0.0.1:{port}:5000", image,
    )  # fmt: skip
    try:
        healthy_s = wait_healthy(port)
        idle = service_rss_kib(name)
        query_load(port, queries)
        loaded = service_rss_kib(name)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        shutil.rmtree(data, ignore_errors=True)
    size = int(docker("image", "inspect", "-f", "{{.Size}}", image))
    return {
        "image": image,
        "size_mb": round(size / 1e6, 1),
        "healthy_s": round(healthy_s, 1),
        "rss_idle_mib": round(idle / 1024, 1),
        f"rss_after_{queries}_queries_mib": round(loaded / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    for image in args.images:
        print(json.dumps(measure(image, args.queries), ensure_ascii=False))


if __name__ == "__main__":
    main()
