"""The PostgreSQL backend beyond the shared contract tests: several hosts on one database
(codes, retrieval, counts, the token budget), byte-exact storage, timeouts, start-up errors,
passwords kept out of messages, and the versioned schema."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from cadchat.app import create_app
from cadchat.chat.shared_budget import SharedTokenBudget
from cadchat.config import ConfigError, load_settings, redact_url
from cadchat.database import SCHEMA_VERSION, DatabaseError, SchemaTooNew, create_pool
from cadchat.keys import CATALOG, CHAT, USER_CODES
from serverproc import clean_env, free_port


@pytest.fixture
def host_settings(make_settings, small_library, database_url):
    """Settings of an app host on the test's database; every host made from it shares it."""

    def make(**overrides: Any):
        base = {"database_url": database_url, "database_poll_interval": 0.1}
        return make_settings(library_paths=(small_library,), watch=False, **{**base, **overrides})

    return make


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not seen in time"
        await asyncio.sleep(0.05)


async def save(cli, command: str, code: str = "(princ)", description: str = "说明") -> int:
    resp = await cli.post(
        "/api/user_codes/save", json={"command": command, "code": code, "description": description}
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["code_id"]


async def test_a_code_saved_on_one_host_is_served_and_retrieved_by_the_other(aiohttp_client, host_settings):
    a = await aiohttp_client(create_app(host_settings()))
    b = await aiohttp_client(create_app(host_settings()))
    code_id = await save(a, "DRAWRING", "(defun c:DRAWRING () (princ))\r\n", "画一个圆环 ring")

    await eventually(lambda: b.app[USER_CODES].get(code_id) is not None)
    got = await (await b.get(f"/api/user_codes/get/{code_id}")).json()
    assert got["code"] == "(defun c:DRAWRING () (princ))\r\n"
    answer = await (await b.post("/api/query", json={"requirement": "DRAWRING"})).json()
    assert answer["matched"] is True and answer["result"]["code"]["id"] == code_id
    listed = await (await b.get("/api/user_codes/list")).json()
    assert [c["id"] for c in listed["codes"]] == [code_id]

    assert (await b.delete(f"/api/user_codes/delete/{code_id}")).status == 200
    await eventually(lambda: a.app[USER_CODES].get(code_id) is None)
    assert a.app[CATALOG].user_programs.get(code_id) is None
    assert (await a.get(f"/api/user_codes/get/{code_id}")).status == 404
    assert (await a.delete(f"/api/user_codes/delete/{code_id}")).status == 404


async def test_concurrent_saves_on_two_hosts_get_distinct_ids_and_all_land(aiohttp_client, host_settings):
    a = await aiohttp_client(create_app(host_settings()))
    b = await aiohttp_client(create_app(host_settings()))
    saves = [save(host, f"C{i}", f"(princ {i})") for i in range(25) for host in (a, b)]
    ids = await asyncio.gather(*saves)
    assert sorted(ids) == list(range(1, 51))
    for host in (a, b):
        await eventually(lambda host=host: len(host.app[USER_CODES]) == 50)
        codes = {c.id: c for c in host.app[USER_CODES].all()}
        assert {(c.command, c.code) for c in codes.values()} == {
            (f"C{i}", f"(princ {i})") for i in range(25)
        } | {(f"C{i}", f"(princ {i})") for i in range(25)}
    # Ids stay unique after a delete and a restart of every host: a sequence, not max()+1.
    await a.delete("/api/user_codes/delete/50")
    await a.close()
    await b.close()
    c = await aiohttp_client(create_app(host_settings()))
    assert await save(c, "NEXT") == 51


async def test_feedback_counts_from_two_hosts_add_up(aiohttp_client, host_settings):
    a = await aiohttp_client(create_app(host_settings()))
    b = await aiohttp_client(create_app(host_settings()))
    code_id = await save(a, "ALPHA")
    await eventually(lambda: b.app[USER_CODES].get(code_id) is not None)
    trim = a.app[CATALOG].library.by_key["TRIM"].id

    async def feedback(host, target: int, success: bool) -> None:
        resp = await host.post("/api/feedback", json={"code_id": target, "success": success})
        assert resp.status == 200, await resp.text()

    await asyncio.gather(
        *(feedback(host, code_id, i % 2 == 0) for i in range(10) for host in (a, b)),
        *(feedback(host, trim, True) for _ in range(5) for host in (a, b)),
    )
    for host in (a, b):
        store = host.app[USER_CODES]
        await eventually(lambda store=store: store.get(code_id).usage_count == 20)
        await eventually(lambda store=store: store.library_usage().get("TRIM", None) is not None)
        await eventually(lambda store=store: store.library_usage()["TRIM"].usage_count == 10)
        assert store.get(code_id).success_count == 10
        assert (await (await host.get("/api/stats")).json())["total_usage"] == 30


async def test_patches_of_different_fields_on_two_hosts_both_stick(aiohttp_client, host_settings):
    a = await aiohttp_client(create_app(host_settings()))
    b = await aiohttp_client(create_app(host_settings()))
    code_id = await save(a, "RING")
    await eventually(lambda: b.app[USER_CODES].get(code_id) is not None)
    first, second = await asyncio.gather(
        a.patch(f"/v1/codes/{code_id}", json={"description": "新的说明"}),
        b.patch(f"/v1/codes/{code_id}", json={"tags": ["圆"]}),
    )
    assert first.status == 200 and second.status == 200
    for host in (a, b):
        store = host.app[USER_CODES]
        await eventually(lambda store=store: store.get(code_id).tags == ("圆",))
        await eventually(lambda store=store: store.get(code_id).description == "新的说明")


TRICKY_CODES = [
    '(defun c:X ()\r\n  (princ "\\n圆心")\r\n)\r\n',
    "\t(princ)  \n\n\n",
    '(princ "\U0001f600 emoji, \u200b zero width, \u00e9 e-acute, \u0435 cyrillic")',
    "\r(princ)\r",
    '(setq s "\'; DROP TABLE user_codes; --")',
    "汉" * 80_000,  # 240,000 UTF-8 bytes: near the size limit
]


async def test_codes_are_stored_byte_for_byte_and_survive_a_restart(
    aiohttp_client, host_settings, database_url
):
    cli = await aiohttp_client(create_app(host_settings()))
    ids = [await save(cli, f"T{i}", code) for i, code in enumerate(TRICKY_CODES)]
    await cli.close()
    cli = await aiohttp_client(create_app(host_settings()))
    for code_id, code in zip(ids, TRICKY_CODES, strict=True):
        got = await (await cli.get(f"/api/user_codes/get/{code_id}")).json()
        assert got["code"].encode("utf-8") == code.encode("utf-8")
    conn = await asyncpg.connect(database_url)
    try:
        digests = await conn.fetch(
            "SELECT id, encode(sha256(convert_to(code, 'UTF8')), 'hex') = code_sha256 AS ok FROM user_codes"
        )
    finally:
        await conn.close()
    assert all(row["ok"] for row in digests) and len(digests) == len(TRICKY_CODES)


async def test_a_database_slower_than_the_statement_timeout_answers_503_and_saves_nothing(
    aiohttp_client, host_settings, database_url
):
    cli = await aiohttp_client(create_app(host_settings(database_statement_timeout=0.3)))
    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE user_codes IN EXCLUSIVE MODE")  # every write waits on it
            resp = await cli.post(
                "/api/user_codes/save", json={"command": "X", "code": "(princ)", "description": "d"}
            )
            assert resp.status == 503, await resp.text()
            body = await resp.json()
            assert body["success"] is False and "try again" in body["message"]
            assert resp.headers["Retry-After"] == "1"
    finally:
        await blocker.close()
    assert len(cli.app[USER_CODES]) == 0
    assert await save(cli, "X") == 2  # the database answers again; the refused save's id stays unused


async def test_a_schema_newer_than_the_code_is_refused(host_settings, database_url):
    settings = host_settings()
    pool = await create_pool(settings)
    await pool.execute("INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1)
    await pool.close()
    with pytest.raises(SchemaTooNew, match=f"version {SCHEMA_VERSION + 1}, newer than"):
        await create_pool(settings)


async def test_migrations_are_applied_once_and_recorded(host_settings):
    settings = host_settings()
    first, second = await asyncio.gather(create_pool(settings), create_pool(settings))
    try:
        versions = await first.fetch("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, SCHEMA_VERSION + 1))
    finally:
        await first.close()
        await second.close()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cadchat", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(env),
    )


@pytest.mark.slow
def test_serve_stops_with_one_line_when_the_database_is_unreachable_or_newer(
    tmp_path, pg_cluster, database_url
):
    base = {"CADCHAT_DATA_DIR": str(tmp_path / "data"), "CADCHAT_ENV_FILE": str(tmp_path / "none.env")}
    url = "postgresql://someone:s3cret-pass@127.0.0.1:1/db"
    down = run_cli(
        ["serve", "--port", str(free_port())],
        {**base, "CADCHAT_DATABASE_URL": url, "CADCHAT_DATABASE_CONNECT_TIMEOUT": "2"},
    )
    assert down.returncode == 2 and "Traceback" not in down.stderr
    [line] = [line for line in down.stderr.splitlines() if line.startswith("cadchat:")]
    assert line.startswith("cadchat: database postgresql://someone:***@127.0.0.1:1/db is unreachable")
    assert "s3cret-pass" not in down.stderr + down.stdout

    pg_cluster.psql(
        "CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz DEFAULT now());"
        f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION + 5})",
        database=database_url.split("/")[3].split("?")[0],
    )
    newer = run_cli(["serve", "--port", str(free_port())], {**base, "CADCHAT_DATABASE_URL": database_url})
    assert newer.returncode == 2 and "Traceback" not in newer.stderr
    [line] = [line for line in newer.stderr.splitlines() if line.startswith("cadchat:")]
    assert f"schema is version {SCHEMA_VERSION + 5}, newer than this cadchat's {SCHEMA_VERSION}" in line


async def test_the_password_comes_from_a_file_and_never_reaches_a_message(
    host_settings, pg_cluster, tmp_path, caplog
):
    password = "Pw-" + "x7" * 10
    role = pg_cluster.create_role(password=password)
    database = pg_cluster.create_database("pw_test", owner=role)
    url = pg_cluster.url(database, user=role)
    secret = tmp_path / "db-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    caplog.set_level(logging.DEBUG)

    pool = await create_pool(host_settings(database_url=url, database_password_file=secret))
    assert await pool.fetchval("SELECT current_user") == role
    await pool.close()

    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    with pytest.raises(DatabaseError) as refused:
        await create_pool(host_settings(database_url=url, database_password_file=wrong))
    assert "password authentication failed" in str(refused.value)

    in_url = url.replace(f"{role}@", f"{role}:{password}@")
    bad = in_url.replace("pw_test", "no_such_db")
    with pytest.raises(DatabaseError) as missing:
        await create_pool(host_settings(database_url=bad))
    assert password not in str(missing.value) and f"{role}:***@" in str(missing.value)
    assert password not in caplog.text and "not-the-password" not in caplog.text


def test_database_settings_are_checked_and_redacted():
    with pytest.raises(ConfigError) as bad:
        load_settings(environ={"CADCHAT_DATABASE_URL": "mysql://u:hunter2hunter2@db/x"}, env_file=None)
    assert "hunter2" not in str(bad.value) and "postgresql://" in str(bad.value)
    assert (
        redact_url("postgresql://u:p%40ss@db:5432/x?sslmode=require")
        == "postgresql://u:***@db:5432/x?sslmode=require"
    )
    assert (
        redact_url("postgresql:///x?host=/run&password=abc&port=1")
        == "postgresql:///x?host=/run&password=***&port=1"
    )
    assert redact_url("postgresql://u@db/x") == "postgresql://u@db/x"
    settings = load_settings(
        environ={"CADCHAT_DATABASE_URL": "postgresql://u:secretsecret@db/x"}, env_file=None
    )
    assert "secretsecret" not in repr(settings)


async def test_the_token_budget_is_spent_once_across_hosts(host_settings):
    settings = host_settings()
    pool_a, pool_b = await create_pool(settings), await create_pool(settings)
    day = ["2026-11-29"]
    a = SharedTokenBudget(1000, pool_a, sync_interval=0.05, today=lambda: day[0])
    b = SharedTokenBudget(1000, pool_b, sync_interval=0.05, today=lambda: day[0])
    try:
        await a.start()
        await b.start()
        for _ in range(20):
            a.spend(20)
            b.spend(20)
            await asyncio.sleep(0)
        await eventually(lambda: a.spent == 800 and b.spent == 800)
        total = await pool_a.fetchval("SELECT spent FROM chat_token_budget WHERE day = '2026-11-29'")
        assert total == 800 and not a.exhausted and a.remaining == 200
        b.spend(250)
        await eventually(lambda: a.exhausted)  # spent on b, seen by a
        day[0] = "2026-11-30"  # a new UTC day: a fresh budget for every host
        assert a.remaining == 1000
        a.spend(5)
        await eventually(lambda: b.spent == 5)
    finally:
        await a.stop()
        await b.stop()
        await pool_a.close()
        await pool_b.close()
    # Tokens spent while the database is away are kept and counted once it answers again.
    pool = await create_pool(settings)
    c = SharedTokenBudget(1000, pool, sync_interval=60, today=lambda: "2026-11-30")
    await c.start()
    await pool.close()
    c.spend(7)
    await asyncio.sleep(0.05)
    c.pool = await create_pool(settings)
    await c.sync()
    assert c.spent == 12
    await c.stop()
    await c.pool.close()


async def test_chat_spends_the_shared_budget(aiohttp_client, host_settings):
    cli = await aiohttp_client(create_app(host_settings(chat_daily_token_budget=100)))
    shared = cli.app[CHAT].budget
    assert isinstance(shared, SharedTokenBudget)
    shared.spend(60)
    await shared.sync()  # what the background sync does within one poll interval
    other = await aiohttp_client(create_app(host_settings(chat_daily_token_budget=100)))
    state = other.app[CHAT].state()
    assert state["tokens_spent_today"] == 60 and state["budget_remaining_tokens"] == 40


async def test_the_size_limit_holds_exactly_across_hosts(aiohttp_client, host_settings):
    a = await aiohttp_client(create_app(host_settings(user_codes_max_count=5)))
    b = await aiohttp_client(create_app(host_settings(user_codes_max_count=5)))

    async def attempt(host, i: int) -> int:
        body = {"command": f"C{i}", "code": "(princ)", "description": "d"}
        return (await host.post("/api/user_codes/save", json=body)).status

    statuses = await asyncio.gather(*(attempt(host, i) for i in range(8) for host in (a, b)))
    assert sorted(statuses) == [200] * 5 + [400] * 11
    await eventually(lambda: len(a.app[USER_CODES]) == len(b.app[USER_CODES]) == 5)


async def test_connections_the_database_drops_are_replaced(aiohttp_client, host_settings, pg_cluster):
    cli = await aiohttp_client(create_app(host_settings()))
    await save(cli, "BEFORE")
    pg_cluster.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'cadchat' AND pid <> pg_backend_pid()"
    )
    statuses = []
    for i in range(3):
        resp = await cli.post(
            "/api/user_codes/save", json={"command": f"A{i}", "code": "(princ)", "description": "d"}
        )
        assert (await resp.json())["success"] is (resp.status == 200)
        statuses.append(resp.status)
        if resp.status == 200:
            break
    assert statuses[-1] == 200 and set(statuses) <= {200, 503}
    assert (await cli.get("/api/user_codes/get/1")).status == 200  # reads never needed the database
