"""Access log lines: one a request, route templates only, safe request ids, JSON by config."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time

import pytest
from aiohttp.test_utils import TestServer
from cadchat.accesslog import AccessLine, AccessLog
from cadchat.app import create_app
from cadchat.logsetup import JsonFormatter, TextFormatter

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
    access_log = AccessLog(handler, interval=30).start()
    server = TestServer(create_app(make_settings(watch=False)))
    await server.start_server(access_log_class=access_log.logger_class(), access_log=access_log.logger)
    client = await aiohttp_client(server)

    def lines() -> list[dict]:
        access_log.flush()
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield client, lines
    access_log.close()
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


async def test_each_request_through_the_proxy_names_its_own_client(logged) -> None:
    """One keep-alive connection from the trusted proxy carries many clients' requests."""
    client, lines = logged
    for last_hop in ("203.0.113.5", "203.0.113.6", None, "203.0.113.7"):
        headers = {"X-Forwarded-For": f"198.51.100.1, {last_hop}"} if last_hop else {}
        await client.get("/health", headers=headers)
    assert [line["client"] for line in lines()[-4:]] == [
        "203.0.113.5",
        "203.0.113.6",
        "127.0.0.1",
        "203.0.113.7",
    ]


def sample_line(created: float = 1764405990.125) -> AccessLine:
    return AccessLine(created, "POST", "/api/query", 200, 812, 1.93, "req-1", "203.0.113.7")


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
@pytest.mark.parametrize(
    "client", ["203.0.113.7", 'a"b\\c\n\u2028\x00 é 炸'], ids=["address", "quotes-controls-non-ascii"]
)
def test_a_batched_line_reads_like_the_same_record_through_logging(formatter, client) -> None:
    """The writer's fast path and logging's own formatting give the same line."""
    line = sample_line()._replace(client=client)
    record = logging.LogRecord("cadchat.access", logging.INFO, __file__, 1, line.message(), None, None)
    record.created, record.msecs = line.created, 125.0
    record.access = line.fields()
    fast = formatter.access_lines("cadchat.access", [line, line])
    assert fast == (formatter.format(record) + "\n") * 2


async def test_lines_wait_for_the_interval_and_close_writes_the_rest_in_order() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    access_log = AccessLog(handler, interval=60).start()
    for number in range(500):
        access_log.add(sample_line()._replace(request_id=f"req-{number}"))
    await asyncio.sleep(0.05)
    assert buffer.getvalue() == ""  # gathered, not yet written
    access_log.close()
    written = [json.loads(line)["request_id"] for line in buffer.getvalue().splitlines()]
    assert written == [f"req-{number}" for number in range(500)]


async def test_the_lines_of_an_interval_are_written_without_being_asked() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(TextFormatter())
    with AccessLog(handler, interval=0.01) as access_log:
        access_log.add(sample_line())
        deadline = time.monotonic() + 5
        while not buffer.getvalue() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert buffer.getvalue().endswith(
            "INFO cadchat.access: POST /api/query 200 812B 1.9ms id=req-1 client=203.0.113.7\n"
        )


async def test_a_foreign_formatter_gets_log_records() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s|%(levelname)s|%(message)s"))
    with AccessLog(handler, interval=60) as access_log:
        access_log.add(sample_line())
    assert (
        buffer.getvalue()
        == "cadchat.access|INFO|POST /api/query 200 812B 1.9ms id=req-1 client=203.0.113.7\n"
    )
