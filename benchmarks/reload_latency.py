"""How long an edit to a library file takes to show up in /api/query on a running server.

    python benchmarks/reload_latency.py [--rounds 5] [--polling] [--commands 0]

Starts a real server on loopback with a library in a temporary folder (plus, optionally, a
generated library of N commands to make reloads heavier), appends a new command, and polls
/api/query until it answers with it. Prints each round and the worst time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate_library
from serverproc import running_server


def best_command(base: str, need: str) -> str | None:
    request = urllib.request.Request(
        base + "/api/query",
        data=json.dumps({"requirement": need}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        body = json.load(resp)
    return body["result"]["code"]["command"] if body["matched"] else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--polling", action="store_true", help="use the polling observer")
    parser.add_argument("--commands", type=int, default=0, help="size of an extra generated library")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cadchat-reload-") as tmp:
        work = Path(tmp)
        folder = work / "libs"
        folder.mkdir()
        edited = folder / "team.txt"
        edited.write_text("# team commands\n", encoding="utf-8")
        if args.commands:
            generate_library.write(folder / "big.txt", args.commands)
        env = {
            "CADCHAT_LIBRARY_PATHS": str(folder),
            "CADCHAT_WATCH_POLLING": "true" if args.polling else "false",
        }
        worst = 0.0
        with running_server(work / "data", env) as (base, _pid):
            for i in range(args.rounds):
                name = f"RELOADPROBE{i}"
                with edited.open("a", encoding="utf-8") as f:
                    f.write(f"{name}|探针命令{i}：重载测试|||basic\n")
                started = time.perf_counter()
                while best_command(base, name) != name:
                    if time.perf_counter() - started > 30:
                        print(f"round {i}: not visible after 30 s")
                        return 1
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
                worst = max(worst, elapsed)
                print(f"round {i}: visible after {elapsed * 1000:.0f} ms")
        mode = "polling" if args.polling else "inotify"
        print(f"worst of {args.rounds} ({mode}, {args.commands} extra commands): {worst * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
