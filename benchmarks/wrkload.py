"""Drive `wrk` with a rotating set of JSON bodies and read its report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {
%s
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end
"""
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def pinned_load_unavailable() -> str | None:
    """Why a server pinned to core 1 and wrk to core 0 cannot run here, or None when it can."""
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            return f"{tool} not found"
    if (os.cpu_count() or 1) < 2:
        return "needs two cores (one for the server, one for wrk)"
    return None


def write_script(path: Path, bodies: Iterable[dict[str, Any]]) -> Path:
    """A wrk Lua script that POSTs the bodies in turn (one per request)."""
    quoted = ",\n".join("[==[" + json.dumps(b, ensure_ascii=False) + "]==]" for b in bodies)
    path.write_text(_LUA % quoted, encoding="utf-8")
    return path


def run(
    url: str, script: Path, *, connections: int, duration: int, threads: int = 1, prefix: Sequence[str] = ()
) -> dict[str, Any]:
    """Run wrk against `url` (`prefix` before it, e.g. `taskset -c 0`); requests/s, total,
    latency percentiles (ms) and errors."""
    out = subprocess.run(
        [
            *prefix,
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    latency = {
        f"p{pct}_ms": float(value) * _UNITS_MS[unit]
        for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    }
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
        **latency,
        "raw": out,
    }
