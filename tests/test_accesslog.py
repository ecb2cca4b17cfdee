"""Access log lines: one a request, route templates only, safe request ids, JSON by config."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aiohttp.test_utils import TestServer
from cadchat.accesslog import AccessLogger
from cadchat.app import create_app
from cadchat.logsetup import JsonFormatter

SECRET = "tok-0123456789abcdef-secret"


@pytest.fixture
async def logged(aiohttp_client, make_settings):
    """A client whose server writes access lines, as JSON, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cadchat.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    server = TestServer(create_app(make_settings(watch=False)))
    await server.start_server(access_log_class=AccessLogger, access_log=logger)
    client = await aiohttp_client(server)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield client, lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


async def test_one_json_line_a_request_with_the_route_template(logged) -> None:
    client, lines = logged
    saved = await client.post(
        f"/api/user_codes/save?token={SECRET}",
        json={"code": "(defun c:SECRETCODE () (princ))", "command": "HELLO", "description": "d"},
        headers={"X-Request-ID": "client-req.42", "Authorization": f"Bearer {SECRET}"},
    )
    code_id = (await saved.json())["code_id"]
    await client.get(f"/v1/codes/{code_id}")
    await client.get("/no/such/thing/../../etc/passwd")
    first, second, third = lines()
    assert first["method"] == "POST"
    assert first["route"] == "/api/user_codes/save"
    assert first["status"] == 200
    assert first["request_id"] == "client-req.42"
    assert first["client"] == "127.0.0.1"
    assert first["bytes"] > len(await saved.read())  # headers and body, as sent
    assert first["duration_ms"] >= 0
    assert first["logger"] == "cadchat.access"
    assert second["route"] == "/v1/codes/{id}" and second["status"] == 200
    assert third["route"] == "unmatched" and third["status"] == 404
    text = json.dumps(lines())
    assert SECRET not in text and "SECRETCODE" not in text and "passwd" not in text


@pytest.mark.parametrize(
    "given",
    ["a" * 65, "id with spaces", "x\u00e9", "id:with:colons", "../etc", ""],
)
async def test_unsafe_request_ids_are_replaced(logged, given) -> None:
    client, lines = logged
    response = await client.get("/health", headers={"X-Request-ID": given})
    echoed = response.headers["X-Request-ID"]
    assert echoed != given
    assert len(echoed) == 32 and echoed.isalnum()
    assert lines()[-1]["request_id"] == echoed


async def test_safe_request_ids_are_kept(logged) -> None:
    client, lines = logged
    given = "A-z_0.9" + "x" * 57  # 64 characters
    response = await client.get("/health", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    assert lines()[-1]["request_id"] == given


async def test_forwarded_client_from_the_local_proxy(logged) -> None:
    client, lines = logged
    await client.get("/health", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.5"})
    assert lines()[-1]["client"] == "203.0.113.5"
