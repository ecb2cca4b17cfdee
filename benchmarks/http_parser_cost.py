"""What answering raw UTF-8 in a URL costs: `cadchat serve` with aiohttp's C HTTP parser
(llhttp, the default) against aiohttp's pure-Python parser (`AIOHTTP_NO_EXTENSIONS=1`).

    python benchmarks/http_parser_cost.py [--duration 5] [--connections 50]

llhttp refuses bytes over 0x7F in a request target (`curl '…/api/search?q=炸开块'` gets a
plain-text 400 before the application runs); the pure-Python parser accepts them. For each
parser this prints whether the raw-UTF-8 request is answered, then `POST /api/query` (bundled
library, answer cache on) req/s and requests per CPU-second of the server, the server pinned to
core 1 and wrk to core 0 as in query_overhead.py. Needs `wrk` and `taskset`.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import retrieval_eval
import wrkload
from query_overhead import SERVER_CORE, load, show
from serverproc import running_server

RAW_TARGET = "/api/search?q=炸开块&limit=3".encode()
PARSERS = (("llhttp (C, default)", {}), ("pure Python", {"AIOHTTP_NO_EXTENSIONS": "1"}))


def raw_status(base: str) -> str:
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET " + RAW_TARGET + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = sock.recv(4096).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    content_type = next((h.split(": ", 1)[1] for h in head if h.lower().startswith("content-type:")), "")
    return f"{head[0].split(' ', 1)[1]} ({content_type.split(';')[0]})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    unavailable = wrkload.pinned_load_unavailable()
    if unavailable:
        print(unavailable, file=sys.stderr)
        return 2
    needs = [c.need for c in retrieval_eval.read_cases(retrieval_eval.DEFAULT_EVAL)]
    env = {"CADCHAT_LOG_LEVEL": "WARNING", "CADCHAT_WATCH": "false"}
    results = {}
    with tempfile.TemporaryDirectory(prefix="cadchat-parser-") as tmp:
        work = Path(tmp)
        lua = wrkload.write_script(work / "query.lua", ({"requirement": n} for n in needs))
        for number, (name, extra) in enumerate(PARSERS):
            (work / str(number)).mkdir()
            with running_server(work / str(number) / "data", {**env, **extra}, prefix=SERVER_CORE) as (
                base,
                pid,
            ):
                print(f"{name}: GET {RAW_TARGET.decode()} (raw UTF-8) -> {raw_status(base)}", flush=True)
                results[name] = load(base + "/api/query", pid, lua, args)
            show(name.split()[0], results[name])
    (c_name, c), (py_name, py) = results.items()
    print(
        f"{py_name} / {c_name}: {py['rps'] / c['rps']:.1%} (wrk req/s), "
        f"{py['cpu_rps'] / c['cpu_rps']:.1%} (req per CPU-second)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
