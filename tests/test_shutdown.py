"""Graceful shutdown of the real `python -m cadchat serve` process on SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from serverproc import clean_env, free_port

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.slow
API_KEY = "sk-test-fake-0123456789"


@contextlib.contextmanager
def fake_dashscope(token_delay: float, tokens: int) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "chat" / "fake_dashscope.py"),
            "--token-delay",
            str(token_delay),
            "--tokens",
            str(tokens),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env({}),
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def server(
    tmp_path: Path, fake_url: str, grace: float, extra: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    data = tmp_path / "data"
    env = clean_env(
        {
            "DASHSCOPE_API_KEY": API_KEY,
            "CADCHAT_DASHSCOPE_BASE_URL": fake_url,
            "CADCHAT_SHUTDOWN_GRACE": str(grace),
            "CADCHAT_WATCH": "false",
            "CADCHAT_ACCESS_LOG": "true",
            **(extra or {}),
        }
    )
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "cadchat", "serve", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2),
            ):
                break
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def open_stream(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    body = json.dumps({"message": "画一个半径 50 的圆", "stream": True})
    connection.request("POST", "/api/chat", body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    return response


def events(response: http.client.HTTPResponse) -> Iterator[tuple[str, dict]]:
    name = ""
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: ") :])


def refuses_connections(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.mark.parametrize(
    ("grace", "tokens", "cut"),
    [
        pytest.param(20.0, 8, False, id="stream-finishes-within-grace"),
        pytest.param(2.0, 200, True, id="stream-cut-at-grace"),
    ],
)
def test_sigterm_drains_streams_saves_the_budget_and_exits_0(tmp_path: Path, grace, tokens, cut) -> None:
    with fake_dashscope(token_delay=0.25, tokens=tokens) as url, server(tmp_path, url, grace) as (proc, port):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        response = open_stream(connection)
        stream = events(response)
        assert next(stream)[0] == "delta"
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert refuses_connections(port), "still accepting connections after SIGTERM"
        rest = list(stream)
        ended = time.monotonic() - signalled
        response.close()
        connection.close()
        names = [name for name, _ in rest]
        if cut:
            assert names[-1] == "error", names
            assert rest[-1][1]["kind"] == "shutdown"
            assert "final" not in names
            assert ended < grace + 2
        else:
            assert names[-1] == "final" and "error" not in names, names
            assert rest[-1][1]["degraded"] is False
        assert proc.wait(grace + 15) == 0
        stopped = time.monotonic() - signalled
        log = (tmp_path / "server.log").read_text()
        assert "cadchat stopped" in log
        assert "Traceback" not in log
        if not cut:
            assert stopped < grace, "a drained server must not wait out the whole grace period"
    if not cut:  # the finished answer's tokens were flushed at shutdown
        budget = json.loads((tmp_path / "data" / "state" / "chat_budget.json").read_text())
        assert budget["spent"] > 0


def test_sigterm_writes_the_access_lines_still_pending(tmp_path: Path) -> None:
    """Access lines are written in batches; the ones gathered when SIGTERM comes reach the log."""
    interval = 60.0  # longer than the test: no batch is due before the shutdown
    spawned = time.monotonic()
    settings = {"CADCHAT_ACCESS_LOG_INTERVAL": str(interval), "CADCHAT_LOG_FORMAT": "json"}
    with server(tmp_path, "http://127.0.0.1:9", 5.0, settings) as (proc, port):
        sent = [f"pending-{number}" for number in range(25)]
        for request_id in sent:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/query",
                data=json.dumps({"requirement": "画圆"}).encode(),
                headers={"Content-Type": "application/json", "X-Request-ID": request_id},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
        if time.monotonic() - spawned < interval - 5:  # a start-up slower than that had its batch
            assert "pending-" not in (tmp_path / "server.log").read_text(), "written before the shutdown"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    lines = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()]
    logged = [line["request_id"] for line in lines if line["logger"] == "cadchat.access"]
    assert [i for i in logged if i.startswith("pending-")] == sent
    assert lines[-1]["message"] == "cadchat stopped"
