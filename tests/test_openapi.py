"""The OpenAPI document: equal to the router, and true of the live service (schemathesis)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cadchat import openapi
from cadchat.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from serverproc import clean_env, running_server

# Every check about what the service answers; not the ones about what it should refuse or
# accept (those need the validation rules of every field in the schema).
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)


def tmpfs_mounts() -> list[Path]:
    """Writable tmpfs mount points of this machine (/proc/mounts), /dev/shm first."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    found = [
        Path(fields[1])
        for fields in (line.split() for line in lines)
        if len(fields) > 2 and fields[2] == "tmpfs"
    ]
    found.sort(key=lambda path: path != Path("/dev/shm"))
    return [path for path in found if os.access(path, os.W_OK | os.X_OK)]


@pytest.fixture
def memory_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory in memory (tmpfs) when the machine has one, else `tmp_path`: the service's
    durable writes then cost what the service costs, not what a busy disk's fsync costs."""
    mounts = tmpfs_mounts()
    if not mounts:
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(prefix="cadchat-openapi-", dir=mounts[0]) as where:
        yield Path(where)


def routed(app) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def test_every_route_is_documented_and_every_documented_route_exists(make_settings) -> None:
    app = create_app(make_settings(watch=False))
    documented = {
        (method.upper(), path) for path, item in openapi.document()["paths"].items() for method in item
    }
    missing = sorted(routed(app) - documented)
    assert not missing, f"routes missing from the OpenAPI document (cadchat/openapi.py): {missing}"
    stale = sorted(documented - routed(app))
    assert not stale, f"documented but not routed: {stale}"


async def test_the_document_is_served(client) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document == openapi.document()
    assert document["openapi"].startswith("3.")


@pytest.mark.slow
def test_schemathesis_finds_no_5xx_no_schema_violation_no_slow_response(
    tmp_path: Path, memory_dir: Path, small_library: Path
) -> None:
    """Fuzz every operation of the live service (a real process on loopback).

    The service's data directory is in memory (tmpfs): the 1 s bound is on the service, and a
    save's fsync on a disk shared with other jobs can take longer than that by itself."""
    env = {"CADCHAT_LIBRARY_PATHS": str(small_library), "CADCHAT_CHAT_RATE_LIMIT": "0"}
    (memory_dir / "data").mkdir()
    with running_server(memory_dir / "data", env) as (base, _pid):
        started = time.monotonic()
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "st"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                CHECKS,
                "--max-response-time",
                "1",
                "--max-examples",
                "8",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "20261129",
                "--workers",
                "1",
                "--no-color",
            ],
            cwd=tmp_path,
            env=clean_env({}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        elapsed = time.monotonic() - started
    report = run.stdout[-12000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    assert "28 passed" in report or "passed" in report, report
    print(f"schemathesis: {elapsed:.0f} s")
