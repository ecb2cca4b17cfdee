"""Saves user codes through a URL with several concurrent clients for a while; prints a JSON report.

    save_load.py BASE_URL SECONDS CLIENTS [UNTIL_FILE]

Without UNTIL_FILE the clients save for SECONDS; with it, until UNTIL_FILE exists and then SECONDS
more (at most 300 s in all), so a step of the caller that takes long on a busy machine still has
load running after it.

Every request: POST BASE_URL/api/user_codes/save with a unique command and code. The report holds
each acknowledged save (HTTP 200 with success and a code_id: id, command, SHA-256 of the code,
time) and each failed request (time, status or error), times in seconds since `started_at` (Unix
time).
Standard library only, so the Molecule controller's Python runs it as is.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path


def main() -> int:
    base, seconds, clients = sys.argv[1].rstrip("/"), float(sys.argv[2]), int(sys.argv[3])
    until_file = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    start = time.monotonic()
    started_at = time.time()
    end = [None if until_file else start + seconds]  # set once UNTIL_FILE appears

    def running() -> bool:
        now = time.monotonic()
        if end[0] is None and (until_file.exists() or now - start > 300 - seconds):
            end[0] = now + seconds
        return end[0] is None or now < end[0]

    acked: list[dict] = []
    failed: list[dict] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        i = 0
        while running():
            i += 1
            command = f"LOAD{n}X{i}"
            code = f'(defun c:{command} ()\r\n  (princ "负载 {n}/{i}")\r\n  (princ))\r\n'
            body = json.dumps({"command": command, "description": f"load {n} {i}", "code": code}).encode()
            request = urllib.request.Request(
                f"{base}/api/user_codes/save", body, {"Content-Type": "application/json"}, method="POST"
            )
            sent = time.monotonic() - start
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.load(response)
                digest = hashlib.sha256(code.encode()).hexdigest()
                entry = {"id": answer["code_id"], "command": command, "sha256": digest}
                with lock:
                    acked.append({**entry, "t": round(sent, 3)})
            except urllib.error.HTTPError as exc:
                with lock:
                    failed.append({"t": round(sent, 3), "status": exc.code})
            except (OSError, ValueError, KeyError) as exc:
                with lock:
                    failed.append({"t": round(sent, 3), "error": repr(exc)})

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"started_at": started_at, "seconds": seconds, "acked": acked, "failed": failed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
