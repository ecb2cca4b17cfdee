"""The user-code routes of CONTRACT.md over HTTP, with hostile input, limits and persistence,
on each store backend (the file store and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from cadchat.app import create_app
from cadchat.keys import CATALOG, USER_CODES

CODE = (
    '(defun c:DRAWRING (/ p)\r\n  (setq p (getpoint "\\n圆心: "))\r\n'
    '  (command "_.CIRCLE" p 10)\r\n  (princ)\r\n)\r\n'
)


@pytest.fixture
def settings(make_settings, small_library, store_backend):
    return make_settings(library_paths=(small_library,), watch=False, **store_backend)


def on_files(settings) -> bool:
    return not settings.database_url


@pytest.fixture
async def cli(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


async def save(cli, code=CODE, command="DRAWRING", description="画一个圆环 ring", **extra):
    resp = await cli.post(
        "/api/user_codes/save", json={"code": code, "command": command, "description": description, **extra}
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["success"] is True and isinstance(body["code_id"], int) and body["message"]
    return body["code_id"]


async def test_save_list_get_delete_round_trip(cli, settings):
    code_id = await save(cli)
    assert code_id == 1

    listed = await (await cli.get("/api/user_codes/list")).json()
    assert listed["success"] is True
    [item] = listed["codes"]
    assert {"id", "command", "description", "filename", "timestamp", "lisp_code"} <= set(item)
    assert (
        item["lisp_code"] == CODE and item["command"] == "DRAWRING" and item["filename"] == "code-0000001.lsp"
    )

    got = await (await cli.get(f"/api/user_codes/get/{code_id}")).json()
    assert got["success"] is True
    assert (got["code"], got["command"], got["description"]) == (CODE, "DRAWRING", "画一个圆环 ring")

    # The .lsp a CAD user loads holds exactly these bytes, CRLF included.
    if on_files(settings):
        assert (settings.user_codes_dir / "code-0000001.lsp").read_bytes() == CODE.encode("utf-8")
    assert cli.app[USER_CODES].get(code_id).code.encode("utf-8") == CODE.encode("utf-8")

    deleted = await cli.delete(f"/api/user_codes/delete/{code_id}")
    assert deleted.status == 200 and (await deleted.json())["success"] is True
    gone = await cli.get(f"/api/user_codes/get/{code_id}")
    assert gone.status == 404
    assert (await gone.json())["success"] is False
    again = await cli.delete(f"/api/user_codes/delete/{code_id}")
    assert again.status == 404 and "message" in await again.json()
    assert (await (await cli.get("/api/user_codes/list")).json())["codes"] == []
    assert not (settings.user_codes_dir / "code-0000001.lsp").exists()
    assert cli.app[USER_CODES].get(code_id) is None


@pytest.mark.parametrize("missing", ["code", "command", "description"])
async def test_save_requires_each_field(cli, missing):
    body = {"code": CODE, "command": "X", "description": "d"}
    body[missing] = "   "
    resp = await cli.post("/api/user_codes/save", json=body)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["success"] is False and missing in answer["message"]
    del body[missing]
    assert (await cli.post("/api/user_codes/save", json=body)).status == 400


@pytest.mark.parametrize(
    "body, status",
    [
        ({"code": 5, "command": "X", "description": "d"}, 400),
        ({"code": CODE, "command": ["X"], "description": "d"}, 400),
        ({"code": "(a)\x00", "command": "X", "description": "d"}, 400),
        ({"code": CODE, "command": "X\x00Y", "description": "d"}, 400),
        ({"code": CODE, "command": "X\nY", "description": "d"}, 400),
        ({"code": CODE, "command": "X", "description": "d", "tags": "a,b"}, 200),
        ({"code": CODE, "command": "X", "description": "d", "tags": [1]}, 400),
        ({"code": CODE, "command": "X", "description": "d", "tags": {"a": 1}}, 400),
    ],
)
async def test_save_rejects_bad_types_and_control_characters(cli, body, status):
    resp = await cli.post("/api/user_codes/save", json=body)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["success"] is (status == 200)


async def test_lone_surrogate_is_400_not_500(cli):
    raw = '{"code": "(princ \\"\\ud800\\")", "command": "X", "description": "d"}'
    resp = await cli.post("/api/user_codes/save", data=raw, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert "surrogate" in (await resp.json())["message"]


@pytest.mark.parametrize("body", ["not json", "[1, 2]", "", "\xff\xfe"])
async def test_malformed_bodies_are_400_json(cli, body):
    resp = await cli.post("/api/user_codes/save", data=body.encode("latin-1"))
    assert resp.status == 400
    assert (await resp.json())["success"] is False


async def test_limits_are_configurable_and_answered_413_or_400(aiohttp_client, make_settings, store_backend):
    settings = make_settings(
        **store_backend,
        watch=False,
        user_codes_max_code_bytes=100,
        user_codes_max_command_chars=8,
        user_codes_max_description_chars=10,
        user_codes_max_tags=2,
        user_codes_max_count=2,
    )
    cli = await aiohttp_client(create_app(settings))
    ok = {"code": "(princ)", "command": "OK", "description": "d"}
    assert (await cli.post("/api/user_codes/save", json={**ok, "code": "汉" * 34})).status == 413  # 102 bytes
    assert (await cli.post("/api/user_codes/save", json={**ok, "code": "汉" * 33})).status == 200  # 99 bytes
    assert (await cli.post("/api/user_codes/save", json={**ok, "command": "C" * 9})).status == 413
    assert (await cli.post("/api/user_codes/save", json={**ok, "description": "d" * 11})).status == 413
    assert (await cli.post("/api/user_codes/save", json={**ok, "tags": ["a", "b", "c"]})).status == 413
    assert (await cli.post("/api/user_codes/save", json=ok)).status == 200
    full = await cli.post("/api/user_codes/save", json=ok)
    assert full.status == 400 and "full" in (await full.json())["message"]
    assert len(cli.app[USER_CODES]) == 2
    # A delete makes room again (the refused save used no id).
    await cli.delete("/api/user_codes/delete/1")
    again = await cli.post("/api/user_codes/save", json=ok)
    assert again.status == 200 and (await again.json())["code_id"] == 3


async def test_body_over_max_body_bytes_is_413(aiohttp_client, make_settings):
    cli = await aiohttp_client(create_app(make_settings(watch=False, max_body_bytes=2048)))
    resp = await cli.post(
        "/api/user_codes/save", json={"code": "x" * 5000, "command": "X", "description": "d"}
    )
    assert resp.status == 413 and (await resp.json())["success"] is False


HOSTILE_IDS = [
    "0",
    "01",
    "-1",
    "+1",
    "1.0",
    "1e3",
    "abc",
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "1%00",
    "%00",
    "9" * 40,
    "10000000",
    "١",  # ARABIC-INDIC DIGIT ONE: int() would accept it
    "%EF%BC%91",  # FULLWIDTH DIGIT ONE
    "1%20",
    "%201",
    "code-0000001",
]


@pytest.mark.parametrize("raw", HOSTILE_IDS)
async def test_hostile_ids_are_404_json_on_every_route(cli, raw):
    await save(cli)  # id 1 exists: none of these spellings may reach it
    for method, path in (
        ("GET", f"/api/user_codes/get/{raw}"),
        ("DELETE", f"/api/user_codes/delete/{raw}"),
        ("GET", f"/v1/codes/{raw}"),
        ("PATCH", f"/v1/codes/{raw}"),
        ("PUT", f"/v1/codes/{raw}"),
        ("DELETE", f"/v1/codes/{raw}"),
    ):
        resp = await cli.request(method, path, json={"description": "x"})
        assert resp.status == 404, (method, path, resp.status)
        assert resp.content_type == "application/json"
        assert (await resp.json())["success"] is False
    assert (await cli.get("/api/user_codes/get/1")).status == 200


async def test_path_traversal_never_reaches_the_file_system(cli, settings):
    await save(cli)
    secret = settings.data_dir / "secret.lsp"
    secret.write_text("secret")
    for path in ("/api/user_codes/get/../secret", "/api/user_codes/delete/..%2Fsecret"):
        resp = await cli.request("DELETE" if "delete" in path else "GET", path)
        assert resp.status in (404, 405)
    assert secret.read_text() == "secret"


async def test_saved_code_joins_retrieval_at_once_and_leaves_on_delete(cli):
    query = {"requirement": "DRAWRING"}
    before = await (await cli.post("/api/query", json=query)).json()
    assert not before["matched"] or before["result"]["code"]["command"] != "DRAWRING"
    code_id = await save(cli)
    after = await (await cli.post("/api/query", json=query)).json()
    assert after["matched"] is True
    assert after["result"]["code"]["id"] == code_id
    assert after["result"]["code"]["type"] == "user_program"
    assert after["result"]["code"]["category"] == "user_program"
    detail = await (await cli.get(f"/api/codes/{code_id}")).json()
    assert detail["code"]["command"] == "DRAWRING" and detail["code"]["source"] == "user_codes"
    await cli.delete(f"/api/user_codes/delete/{code_id}")
    gone = await (await cli.post("/api/query", json=query)).json()
    assert not gone["matched"] or gone["result"]["code"]["id"] != code_id
    assert (await cli.get(f"/api/codes/{code_id}")).status == 404


async def test_codes_survive_a_restart_and_ids_are_never_reused(aiohttp_client, settings):
    cli = await aiohttp_client(create_app(settings))
    first, second = await save(cli), await save(cli, command="OTHER")
    await cli.delete(f"/api/user_codes/delete/{second}")
    await cli.close()

    cli = await aiohttp_client(create_app(settings))
    got = await (await cli.get(f"/api/user_codes/get/{first}")).json()
    assert got["code"] == CODE
    assert cli.app[CATALOG].user_programs.get(first).name == "DRAWRING"  # loaded into retrieval
    assert await save(cli) == 3  # 2 was used once: a stale bookmark must not find someone else's code


async def test_preview_takes_command_from_defun_and_reports_balance(cli):
    resp = await cli.post("/api/user_codes/preview", json={"code": CODE})
    body = await resp.json()
    assert body["success"] is True and body["command"] == "DRAWRING" and body["description"] == ""
    preview = body["preview"]
    assert preview["command"] == "DRAWRING"
    assert preview["lines"] == 5 and preview["characters"] == len(CODE)
    assert preview["code_preview"].startswith("(defun c:DRAWRING")
    assert preview["balanced"] is True and preview["warnings"] == []

    broken = await (
        await cli.post(
            "/api/user_codes/preview", json={"code": '(defun c:X ()\n (princ "oops)\n', "command": "Y"}
        )
    ).json()
    assert broken["command"] == "Y"
    assert broken["preview"]["balanced"] is False
    assert any("string starting here is never closed" in w for w in broken["preview"]["warnings"])
    assert (await cli.post("/api/user_codes/preview", json={"code": ""})).status == 400
    assert len(cli.app[USER_CODES]) == 0  # preview never stores


async def test_submit_code_and_post_api_codes_store_user_codes(cli):
    resp = await cli.post(
        "/api/submit_code", json={"lisp_code": CODE, "description": "环", "tags": ["圆", "ring"]}
    )
    body = await resp.json()
    assert resp.status == 200 and body["success"] is True
    code = cli.app[USER_CODES].get(body["code_id"])
    assert code.command == "DRAWRING" and code.tags == ("圆", "ring") and code.code == CODE

    resp = await cli.post(
        "/api/codes", json={"code": "(princ)", "command": "HELLO", "description": "打招呼", "type": "lisp"}
    )
    body = await resp.json()
    assert resp.status == 200 and body["success"] is True and body["message"]
    assert cli.app[USER_CODES].get(body["id"]).command == "HELLO"
    listed = await (await cli.get("/api/codes")).json()
    assert any(c["id"] == body["id"] and c["type"] == "user_program" for c in listed["codes"])

    # No command and no defun: still stored, under a findable placeholder name.
    resp = await cli.post("/api/submit_code", json={"lisp_code": "(princ)", "description": ""})
    assert cli.app[USER_CODES].get((await resp.json())["code_id"]).command == "USERCODE"
    assert (await cli.post("/api/submit_code", json={"description": "x"})).status == 400
    assert (await cli.post("/api/codes", json={"code": "(princ)", "type": 3})).status == 400


async def test_feedback_counts_persist_and_rank_popular_lists(aiohttp_client, settings):
    cli = await aiohttp_client(create_app(settings))
    a = await save(cli, command="ALPHA", description="阿尔法 工具")
    b = await save(cli, command="BETA", description="贝塔 工具")
    c = await save(cli, command="GAMMA", description="伽马")
    for ok in (True, False):
        assert (await cli.post("/api/feedback", json={"code_id": a, "success": ok})).status == 200
    for ok in (True, True):
        resp = await cli.post(
            "/api/feedback", json={"code_id": str(b), "requirement": "画", "success": ok, "feedback": "好"}
        )
        assert (await resp.json())["success"] is True
    library = cli.app[CATALOG].library.by_key["TRIM"]
    for _ in range(3):
        resp = await cli.post("/api/feedback", json={"code_id": library.id, "success": True})
        assert resp.status == 200
    assert (await resp.json())["usage_count"] == 3

    popular = await (await cli.get("/api/popular_codes?limit=10")).json()
    assert popular["success"] is True
    names = [item["command"] for item in popular["codes"]]
    assert names == ["TRIM", "BETA", "ALPHA", "GAMMA"]  # 3 uses; 2 uses 2 ok; 2 uses 1 ok; unused
    first = popular["codes"][0]
    assert first["usage_count"] == 3 and first["success_rate"] == 1.0
    alpha = popular["codes"][2]
    assert (alpha["usage_count"], alpha["success_rate"]) == (2, 0.5)

    filtered = await (await cli.get("/api/popular_codes?keyword=工具&limit=1")).json()
    assert [i["command"] for i in filtered["codes"]] == ["BETA"]
    short = await (await cli.get("/api/popular?limit=2")).json()
    assert set(short) == {"codes"} and [i["command"] for i in short["codes"]] == ["TRIM", "BETA"]
    assert (await (await cli.get("/api/stats")).json())["total_usage"] == 7
    await cli.close()

    cli = await aiohttp_client(create_app(settings))  # counts are on disk, not only in memory
    again = await (await cli.get("/api/popular_codes")).json()
    assert [i["command"] for i in again["codes"]] == names
    assert (await (await cli.get("/api/stats")).json())["total_usage"] == 7
    assert c in [i["id"] for i in again["codes"]]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"success": True}, 400),
        ({"code_id": 1, "success": "yes"}, 400),
        ({"code_id": 999, "success": True}, 404),
        ({"code_id": "../1", "success": True}, 404),
        ({"code_id": 10**30, "success": True}, 404),
        ({"code_id": 12345678, "success": True}, 404),
        ({"code_id": True, "success": True}, 404),
        ({"code_id": 1, "success": True, "feedback": 5}, 400),
    ],
)
async def test_feedback_rejects_bad_input(cli, body, status):
    await save(cli)
    resp = await cli.post("/api/feedback", json=body)
    assert resp.status == status, await resp.text()
    assert (await resp.json())["success"] is False
    assert cli.app[USER_CODES].get(1).usage_count == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=101", "keyword=" + "k" * 201])
async def test_popular_rejects_bad_parameters(cli, query):
    resp = await cli.get(f"/api/popular_codes?{query}")
    assert resp.status in (400, 413) and (await resp.json())["success"] is False


async def test_concurrent_saves_get_distinct_ids_and_all_land(cli, settings):
    import asyncio

    ids = await asyncio.gather(*(save(cli, code=f"(princ {i})", command=f"C{i}") for i in range(40)))
    assert sorted(ids) == list(range(1, 41))
    for i, code_id in enumerate(ids):
        if on_files(settings):
            record = json.loads((settings.user_codes_dir / f"code-{code_id:07d}.json").read_text("utf-8"))
            assert record["code"] == f"(princ {i})" and record["command"] == f"C{i}"
        stored = cli.app[USER_CODES].get(code_id)
        assert stored.code == f"(princ {i})" and stored.command == f"C{i}"


async def test_list_reflects_changes_despite_caching(cli):
    await save(cli)
    assert len((await (await cli.get("/api/user_codes/list")).json())["codes"]) == 1
    await save(cli, command="SECOND")
    assert len((await (await cli.get("/api/user_codes/list")).json())["codes"]) == 2
    await cli.post("/api/feedback", json={"code_id": 2, "success": True})
    listed = (await (await cli.get("/api/user_codes/list")).json())["codes"]
    assert listed[1]["usage_count"] == 1
