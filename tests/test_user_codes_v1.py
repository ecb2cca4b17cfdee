"""`/v1/codes`: the versioned REST resource over the same store, on each store backend."""

from __future__ import annotations

import pytest
from cadchat.app import create_app


@pytest.fixture
async def cli(aiohttp_client, make_settings, small_library, store_backend):
    settings = make_settings(library_paths=(small_library,), watch=False, **store_backend)
    return await aiohttp_client(create_app(settings))


async def create(cli, **body):
    payload = {"command": "RING", "description": "圆环", "code": "(defun c:RING () (princ))\n", **body}
    resp = await cli.post("/v1/codes", json=payload)
    assert resp.status == 201, await resp.text()
    return resp, await resp.json()


async def test_create_returns_201_location_and_the_resource(cli):
    resp, body = await create(cli, tags=["圆"])
    assert resp.headers["Location"] == f"/v1/codes/{body['id']}"
    assert body["code"] == "(defun c:RING () (princ))\n" and body["tags"] == ["圆"]
    assert (
        body["usage_count"] == 0 and body["success_rate"] == 0.0 and body["created_at"] == body["updated_at"]
    )
    fetched = await (await cli.get(resp.headers["Location"])).json()
    assert fetched == body
    # Same store as the contract routes.
    contract = await (await cli.get(f"/api/user_codes/get/{body['id']}")).json()
    assert contract["code"] == body["code"]


async def test_create_takes_command_from_defun_or_refuses(cli):
    _, body = await create(cli, command=None, code="(defun c:FromCode () 1)")
    assert body["command"] == "FromCode"
    resp = await cli.post("/v1/codes", json={"code": "(princ)"})
    assert resp.status == 400 and "command" in (await resp.json())["message"]


async def test_list_pages_and_searches(cli):
    for i in range(7):
        await create(cli, command=f"CMD{i}", description="偶数" if i % 2 == 0 else "odd one", tags=[f"t{i}"])
    page = await (await cli.get("/v1/codes?offset=2&limit=3")).json()
    assert [c["command"] for c in page["codes"]] == ["CMD2", "CMD3", "CMD4"]
    assert (page["total"], page["offset"], page["limit"]) == (7, 2, 3)
    found = await (await cli.get("/v1/codes?q=ODD")).json()
    assert [c["command"] for c in found["codes"]] == ["CMD1", "CMD3", "CMD5"] and found["total"] == 3
    by_tag = await (await cli.get("/v1/codes?q=t6")).json()
    assert [c["command"] for c in by_tag["codes"]] == ["CMD6"]
    beyond = await (await cli.get("/v1/codes?offset=100")).json()
    assert beyond["codes"] == [] and beyond["total"] == 7
    for bad in ("limit=0", "limit=1001", "offset=-1", "offset=x"):
        resp = await cli.get(f"/v1/codes?{bad}")
        assert resp.status == 400, bad


async def test_put_replaces_and_patch_changes_given_fields(cli):
    _, body = await create(cli, tags=["a"])
    url = body["url"]
    patched = await cli.patch(url, json={"description": "新的描述"})
    assert patched.status == 200
    p = await patched.json()
    assert (p["description"], p["command"], p["code"], p["tags"]) == ("新的描述", "RING", body["code"], ["a"])

    put = await cli.put(url, json={"command": "RING2", "code": "(princ 2)"})
    assert put.status == 200
    r = await put.json()
    assert (r["command"], r["code"], r["description"], r["tags"]) == ("RING2", "(princ 2)", "", [])
    assert r["created_at"] == body["created_at"] and r["id"] == body["id"]
    assert (await cli.put(url, json={"command": "X"})).status == 400  # PUT needs the code

    # A GET-modify-PUT round trip echoes read-only fields: accepted, ignored.
    echoed = {**r, "id": 999, "usage_count": 50, "description": "echo"}
    again = await (await cli.put(url, json=echoed)).json()
    assert again["id"] == body["id"] and again["usage_count"] == 0 and again["description"] == "echo"
    unknown = await cli.patch(url, json={"descripton": "typo"})
    assert unknown.status == 400 and "descripton" in (await unknown.json())["message"]


async def test_update_changes_retrieval(cli):
    _, body = await create(cli)
    await cli.patch(body["url"], json={"command": "ZIGZAG"})
    hit = await (await cli.post("/api/query", json={"requirement": "ZIGZAG"})).json()
    assert hit["matched"] and hit["result"]["code"]["id"] == body["id"]


async def test_delete_is_204_then_404(cli):
    _, body = await create(cli)
    resp = await cli.delete(body["url"])
    assert resp.status == 204 and await resp.read() == b""
    for method in ("GET", "DELETE", "PATCH", "PUT"):
        resp = await cli.request(method, body["url"], json={"description": "x"})
        assert resp.status == 404 and (await resp.json())["success"] is False


async def test_limits_and_bad_bodies(aiohttp_client, make_settings):
    cli = await aiohttp_client(create_app(make_settings(watch=False, user_codes_max_code_bytes=64)))
    resp = await cli.post("/v1/codes", json={"command": "X", "code": "x" * 65})
    assert resp.status == 413
    resp = await cli.post("/v1/codes", data=b"{nope")
    assert resp.status == 400
    resp = await cli.post("/v1/codes", json=["command"])
    assert resp.status == 400
    _, body = await create(cli, code="(princ)")
    assert (await cli.patch(body["url"], json={"code": "y" * 65})).status == 413
    assert (await cli.patch(body["url"], json={"command": ""})).status == 400
    assert (await cli.get(body["url"])).status == 200
    assert (await (await cli.get(body["url"])).json())["command"] == "RING"  # failed updates changed nothing
