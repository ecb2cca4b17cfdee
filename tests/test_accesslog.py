"""Access log lines: one a request, route templates only, safe request ids, JSON by config."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time

import pytest
from cadchat import accesslog
from cadchat.accesslog import AccessLine, AccessLog, Noted
from cadchat.app import create_app
from cadchat.keys import ACCESS_LOG
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
    app = create_app(make_settings(watch=False, access_log=True, access_log_interval=30))
    client = await aiohttp_client(app)

    def lines() -> list[dict]:
        app[ACCESS_LOG].flush()
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
    assert first["message"] == "POST /api/user_codes/save 200"
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


async def raw_exchange(client, request: bytes) -> bytes:
    """Send one raw HTTP/1.1 request on a connection of its own; everything the server sent."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()  # the server closes: Connection: close, or a refused request
    writer.close()
    return answer


@pytest.mark.parametrize(
    "request_text",
    [
        b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    ],
    ids=["answer", "error-answer"],
)
async def test_bytes_are_the_bytes_the_client_received(logged, request_text) -> None:
    client, lines = logged
    answer = await raw_exchange(client, request_text)
    assert lines()[-1]["bytes"] == len(answer)


async def test_a_streamed_answer_is_logged_once_it_has_ended(logged) -> None:
    client, lines = logged
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    streamed = await response.read()
    assert response.content_type == "text/event-stream" and streamed
    (line,) = lines()
    assert line["route"] == "/api/chat" and line["status"] == 200
    assert line["bytes"] > len(streamed)  # the headers and every event, as sent
    assert line["request_id"] == response.headers["X-Request-ID"]


async def test_a_request_the_http_parser_refuses_has_no_line_and_breaks_nothing(logged) -> None:
    client, lines = logged
    answer = await raw_exchange(client, b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n")
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert lines() == []
    assert (await client.get("/health")).status == 200
    assert [line["route"] for line in lines()] == ["/health"]


def test_access_log_of_the_logging_configuration() -> None:
    """Where logging would send cadchat.access's INFO records, or None when nowhere."""
    root, parent, logger = (
        logging.getLogger(),
        logging.getLogger("cadchat"),
        logging.getLogger("cadchat.access"),
    )
    saved = (root.handlers[:], root.level, parent.propagate, logger.level)
    stream_handler = logging.StreamHandler(io.StringIO())
    try:
        root.handlers[:] = [logging.NullHandler(), stream_handler]
        root.setLevel(logging.INFO)
        logger.setLevel(logging.NOTSET)
        found = AccessLog.for_logger(interval=2)
        assert found is not None and found.handler is stream_handler and found.interval == 2
        root.setLevel(logging.WARNING)
        assert AccessLog.for_logger() is None  # INFO lines are not wanted
        root.setLevel(logging.INFO)
        parent.propagate = False
        assert AccessLog.for_logger() is None  # they never reach the root's handler
        parent.propagate = True
        stream_handler.setLevel(logging.WARNING)
        assert AccessLog.for_logger() is None  # the only stream handler drops them
    finally:
        root.handlers[:], _, parent.propagate, _ = saved
        root.setLevel(saved[1])
        logger.setLevel(saved[3])


def noted(request_id: str = "req-1", **fields: object) -> Noted:
    """What the request middleware notes of a request; its line is sample_line's."""
    request = Noted(time.time(), "POST", "/api/query", 200, 812, 0.0019251, request_id, "203.0.113.7", None)
    return request._replace(**fields)


def test_lines_round_the_duration_and_name_the_client_as_the_trusted_proxy_says() -> None:
    access_log = AccessLog(logging.StreamHandler(io.StringIO()), trusted=("127.0.0.1",))
    long_hop = "203.0.113.9" + "x" * 200
    direct, proxied, long, spoofed, unknown = access_log.lines(
        [
            noted(seconds=0.0123456),
            noted(peer="127.0.0.1", forwarded_for="198.51.100.1, 203.0.113.5"),
            noted(peer="127.0.0.1", forwarded_for=f"198.51.100.1, {long_hop}"),
            noted(peer="192.0.2.8", forwarded_for="203.0.113.5"),  # not a trusted proxy
            noted(peer=None),
        ]
    )
    assert direct.duration_ms == 12.35 and direct.client == "203.0.113.7"
    assert (direct.method, direct.route, direct.status, direct.bytes, direct.request_id) == (
        "POST",
        "/api/query",
        200,
        812,
        "req-1",
    )
    assert proxied.client == "203.0.113.5"
    assert long.client == long_hop[:64]
    assert spoofed.client == "192.0.2.8"
    assert unknown.client == "unknown"


def sample_line(created: float = 1764405990.125) -> AccessLine:
    return AccessLine(created, "POST", "/api/query", 200, 812, 1.93, "req-1", "203.0.113.7")


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
@pytest.mark.parametrize(
    "client", ["203.0.113.7", 'a"b\\c\n\u2028\x00 é 炸'], ids=["address", "quotes-controls-non-ascii"]
)
@pytest.mark.parametrize(
    "route", ["/api/query", '/odd/"%s%%"/\\\u2028'], ids=["route", "route-with-percent-quotes"]
)
def test_batched_lines_read_like_the_same_records_through_logging(formatter, client, route) -> None:
    """The writer's fast path and logging's own formatting give the same lines, across seconds
    and for every (method, route, status)."""
    first = sample_line()._replace(client=client, route=route)
    lines = [
        first,
        first._replace(created=first.created + 0.5),  # the same second
        first._replace(created=first.created + 1.25, status=404),  # the next second, another status
        first._replace(created=first.created + 1.5),
    ]
    expected = ""
    for line in lines:
        record = logging.LogRecord("cadchat.access", logging.INFO, __file__, 1, line.message(), None, None)
        record.created = line.created
        record.msecs = int((line.created - int(line.created)) * 1000) + 0.0
        record.access = line.fields()
        expected += formatter.format(record) + "\n"
    assert formatter.access_lines("cadchat.access", lines) == expected
    assert formatter.access_lines("cadchat.access", lines) == expected  # from the templates made


async def test_lines_wait_for_the_interval_and_close_writes_the_rest_in_order() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    access_log = AccessLog(handler, interval=60).start()
    for number in range(500):
        access_log.note(noted(f"req-{number}"))
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
        access_log.note(noted())
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
        access_log.note(noted())
    assert (
        buffer.getvalue()
        == "cadchat.access|INFO|POST /api/query 200 812B 1.9ms id=req-1 client=203.0.113.7\n"
    )


async def test_lines_past_the_waiting_batches_are_dropped_and_counted_not_held(monkeypatch, caplog) -> None:
    """A stream that takes nothing (a stalled pipe) costs at most MAX_WAITING_BATCHES batches of
    memory; the lines past them are counted in a warning once the stream takes lines again."""
    monkeypatch.setattr(accesslog, "MAX_WAITING_BATCHES", 2)
    writing, release = threading.Event(), threading.Event()

    class StalledStream(io.StringIO):
        def write(self, text: str) -> int:
            writing.set()
            release.wait(30)
            return super().write(text)

    stream = StalledStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    access_log = AccessLog(handler, interval=0.01).start()
    access_log.note(noted("req-0"))
    assert await asyncio.to_thread(writing.wait, 10)  # the writer is stuck on the first batch
    for number in range(1, 7):  # one batch each: two wait, the four after them are dropped
        access_log.note(noted(f"req-{number}"))
        await asyncio.sleep(0.05)
    release.set()
    with caplog.at_level(logging.WARNING, logger="cadchat.access"):
        access_log.note(noted("req-7"))
        access_log.close()
    written = [line.split("id=")[1].split()[0] for line in stream.getvalue().splitlines()]
    assert written == ["req-0", "req-1", "req-2", "req-7"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "4 access lines dropped: the log's stream took them too slowly"
    ]
