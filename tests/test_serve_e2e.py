"""The real `python -m cadchat serve` process: starts, answers, reloads a library edit live."""

from __future__ import annotations

import json
import socket
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


def raw_get(base: str, target: bytes) -> tuple[int, str, bytes]:
    """One GET whose request target is sent byte for byte (clients percent-encode; curl does not)."""
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


RAW_QUERY = "/api/search?q=炸开块&limit=3".encode()
ENCODED_QUERY = b"/api/search?q=%E7%82%B8%E5%BC%80%E5%9D%97&limit=3"


def test_raw_utf8_in_a_request_target_is_refused_by_the_http_parser_by_default(tmp_path: Path) -> None:
    # aiohttp's C parser (llhttp) refuses bytes over 0x7F in a request target before the
    # application runs, in plain text (curl percent-encodes a path itself, not a query).
    with running_server(tmp_path / "data", {}) as (base, _pid):
        for target, where in ((RAW_QUERY, b"query"), ("/api/codes/炸开块".encode(), b"path")):
            status, content_type, body = raw_get(base, target)
            assert (status, content_type.split(";")[0]) == (400, "text/plain"), body[:200]
            assert b"Invalid char in url " + where in body
        status, _, body = raw_get(base, ENCODED_QUERY)
        assert status == 200 and json.loads(body)["codes"]


def test_the_pure_python_http_parser_answers_raw_utf8_in_a_query(tmp_path: Path) -> None:
    # The documented opt-in (AIOHTTP_NO_EXTENSIONS=1): the README's raw `curl '…?q=炸开块'` works.
    with running_server(tmp_path / "data", {"AIOHTTP_NO_EXTENSIONS": "1"}) as (base, _pid):
        raw_status, _, raw_body = raw_get(base, RAW_QUERY)
        status, _, body = raw_get(base, ENCODED_QUERY)
        assert raw_status == status == 200, raw_body[:200]
        assert json.loads(raw_body)["codes"] == json.loads(body)["codes"] != []
