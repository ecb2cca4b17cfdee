"""The real `python -m cadchat serve` process: starts, answers, reloads a library edit live."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from serverproc import running_server


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.load(resp)


def test_server_process_answers_and_reloads_within_two_seconds(tmp_path: Path) -> None:
    folder = tmp_path / "libs"
    folder.mkdir()
    team = folder / "team.txt"
    team.write_text("WALLDRAW|画墙：按墙厚画双线墙 wall|WD|||lisp\n", encoding="utf-8")
    with running_server(tmp_path / "data", {"CADCHAT_LIBRARY_PATHS": str(folder)}) as (base, _pid):
        answer = post(base, "/api/query", {"requirement": "画墙"})
        assert answer["matched"] and answer["result"]["code"]["command"] == "WALLDRAW"

        with team.open("a", encoding="utf-8") as f:
            f.write("DOORDRAW|画门：在墙上开门洞并插入门 door|DD|||lisp\n")
        started = time.monotonic()
        while True:
            answer = post(base, "/api/query", {"requirement": "DOORDRAW"})
            if answer["matched"] and answer["result"]["code"]["command"] == "DOORDRAW":
                break
            assert time.monotonic() - started < 2.0, "library edit not visible within 2 s"
            time.sleep(0.02)
