"""The OpenAPI document: equal to the router, and true of the live service (schemathesis)."""

from __future__ import annotations

import subprocess
import sys
import time
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
    tmp_path: Path, small_library: Path
) -> None:
    """Fuzz every operation of the live service (a real process on loopback)."""
    env = {"CADCHAT_LIBRARY_PATHS": str(small_library), "CADCHAT_CHAT_RATE_LIMIT": "0"}
    (tmp_path / "data").mkdir()
    with running_server(tmp_path / "data", env) as (base, _pid):
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
