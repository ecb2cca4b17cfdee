"""Access control: API tokens, admin routes, /metrics guard, CORS and cross-site writes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cadchat.app import create_app
from cadchat.auth import Tokens, access_class
from cadchat.config import ConfigError, load_settings

TOKEN = "tok-0123456789abcdef-client"
OTHER = "tok-0123456789abcdef-other!"
ADMIN = "adm-0123456789abcdef-admin"
CODE = {"code": "(defun c:HELLO () (princ))", "command": "HELLO", "description": "greets"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app_client(aiohttp_client, make_settings, tmp_path: Path):
    made = []

    async def make(**overrides):
        made.append(1)  # each app its own data dir: one store lock per directory
        settings = make_settings(watch=False, data_dir=tmp_path / f"data{len(made)}", **overrides)
        return await aiohttp_client(create_app(settings))

    return make


async def test_without_tokens_every_contract_route_stays_open(app_client) -> None:
    client = await app_client()
    assert (await client.post("/api/user_codes/save", json=CODE)).status == 200
    assert (await client.post("/api/chat", json={"message": "画圆"})).status == 200
    assert (await client.get("/api/user_codes/list")).status == 200


async def test_with_tokens_writes_and_chat_need_one_reads_stay_open(app_client) -> None:
    client = await app_client(api_tokens=(hashlib.sha256(TOKEN.encode()).hexdigest(),))
    refused = await client.post("/api/user_codes/save", json=CODE)
    assert refused.status == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    body = await refused.json()
    assert body["success"] is False and "token" in body["message"]
    assert (await client.post("/api/user_codes/save", json=CODE, headers=bearer(OTHER))).status == 401
    assert (await client.post("/api/user_codes/save", json=CODE, headers=bearer(TOKEN))).status == 200
    assert (await client.post("/api/chat", json={"message": "画圆"})).status == 401
    assert (await client.post("/api/feedback", json={"code_id": 1})).status == 401
    assert (await client.delete("/v1/codes/1")).status == 401
    assert (await client.post("/api/chat", json={"message": "画圆"}, headers=bearer(TOKEN))).status == 200
    # reads, and the POSTs that only read
    assert (await client.get("/api/user_codes/list")).status == 200
    assert (await client.post("/api/query", json={"requirement": "画圆"})).status == 200
    assert (await client.post("/api/user_codes/preview", json={"code": CODE["code"]})).status == 200


async def test_all_mode_guards_reads_but_not_health(app_client, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# clients\nsha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n", encoding="utf-8")
    settings = load_settings(
        environ={"CADCHAT_API_TOKENS_FILE": str(tokens), "CADCHAT_API_AUTH": "all"},
        env_file=tmp_path / "none",
    )
    client = await app_client(api_tokens_file=settings.api_tokens_file, api_auth="all")
    assert (await client.get("/api/stats")).status == 401
    assert (await client.get("/api/stats", headers=bearer(TOKEN))).status == 200
    assert (await client.get("/health")).status == 200
    assert (await client.get("/openapi.json")).status == 200


def test_all_mode_without_tokens_stops_start_up(make_settings) -> None:
    with pytest.raises(ConfigError, match="CADCHAT_API_AUTH"):
        create_app(make_settings(api_auth="all"))


def test_token_settings_are_checked_and_never_echoed(tmp_path: Path) -> None:
    absent = tmp_path / "none"
    with pytest.raises(ConfigError) as short:
        load_settings(environ={"CADCHAT_API_TOKENS": "short-secret"}, env_file=absent)
    assert "short-secret" not in str(short.value) and "16" in str(short.value)
    with pytest.raises(ConfigError, match="64 hex"):
        load_settings(environ={"CADCHAT_ADMIN_TOKENS": "sha256:abc"}, env_file=absent)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(environ={"CADCHAT_API_TOKENS_FILE": str(tmp_path / "missing")}, env_file=absent)
    settings = load_settings(environ={"CADCHAT_API_TOKENS": f"{TOKEN}, {OTHER}"}, env_file=absent)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.api_tokens)
    assert Tokens(settings.api_tokens).accepts(OTHER)
    assert not Tokens(settings.api_tokens).accepts(TOKEN[:-1])
    with pytest.raises(ConfigError, match="origins"):
        load_settings(environ={"CADCHAT_CORS_ORIGINS": "*"}, env_file=absent)
    with pytest.raises(ConfigError, match="CIDR"):
        load_settings(environ={"CADCHAT_METRICS_ALLOW": "10.0.0.0/33"}, env_file=absent)


async def test_admin_route_needs_the_host_or_an_admin_token(app_client) -> None:
    client = await app_client(admin_tokens=(hashlib.sha256(ADMIN.encode()).hexdigest(),))
    # straight from the host (the test client's peer is 127.0.0.1, no proxy header)
    assert (await client.post("/api/rebuild_embeddings")).status == 200
    # through the local Nginx for a remote client: X-Forwarded-For's last hop is that client,
    # whatever the client itself claimed in front of it
    remote = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}
    refused = await client.post("/api/rebuild_embeddings", headers=remote)
    assert refused.status == 403
    assert (await client.post("/api/rebuild_embeddings", headers={**remote, **bearer(TOKEN)})).status == 403
    allowed = await client.post("/api/rebuild_embeddings", headers={**remote, **bearer(ADMIN)})
    assert allowed.status == 200


async def test_admin_tokens_work_on_write_routes(app_client) -> None:
    client = await app_client(
        api_tokens=(hashlib.sha256(TOKEN.encode()).hexdigest(),),
        admin_tokens=(hashlib.sha256(ADMIN.encode()).hexdigest(),),
    )
    assert (await client.post("/api/user_codes/save", json=CODE, headers=bearer(ADMIN))).status == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]
)
async def test_json_sent_as_a_simple_cross_site_type_is_refused_on_writes(app_client, content_type) -> None:
    client = await app_client()
    body = json.dumps(CODE)
    response = await client.post("/api/user_codes/save", data=body, headers={"Content-Type": content_type})
    assert response.status == 415
    assert (await response.json())["success"] is False
    chat = await client.post("/api/chat", data='{"message": "画圆"}', headers={"Content-Type": content_type})
    assert chat.status == 415
    assert (await client.get("/api/user_codes/list")).status == 200


async def test_cors_allow_list(app_client) -> None:
    client = await app_client(cors_origins=("https://cad.example.com",))
    ok = {"Origin": "https://cad.example.com"}
    evil = {"Origin": "https://evil.example"}
    preflight = await client.options(
        "/api/user_codes/save",
        headers={
            **ok,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://cad.example.com"
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    denied = await client.options(
        "/api/user_codes/save", headers={**evil, "Access-Control-Request-Method": "POST"}
    )
    assert denied.status == 403
    assert "Access-Control-Allow-Origin" not in denied.headers

    saved = await client.post("/api/user_codes/save", json=CODE, headers=ok)
    assert saved.status == 200
    assert saved.headers["Access-Control-Allow-Origin"] == "https://cad.example.com"
    assert "X-Request-ID" in saved.headers["Access-Control-Expose-Headers"]
    assert (await client.post("/api/user_codes/save", json=CODE, headers=evil)).status == 403
    read = await client.get("/api/user_codes/list", headers=evil)
    assert read.status == 200 and "Access-Control-Allow-Origin" not in read.headers
    stream = await client.post("/api/chat", json={"message": "画圆", "stream": True}, headers=ok)
    assert stream.status == 200
    assert stream.headers["Access-Control-Allow-Origin"] == "https://cad.example.com"
    await stream.read()


async def test_no_cors_origin_by_default(app_client) -> None:
    client = await app_client()
    response = await client.post(
        "/api/user_codes/save", json=CODE, headers={"Origin": "https://cad.example.com"}
    )
    assert response.status == 403


async def test_metrics_bearer_token_or_allow_list(app_client) -> None:
    scrape = "scrape-0123456789abcdef"
    client = await app_client(metrics_token=(hashlib.sha256(scrape.encode()).hexdigest(),))
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers=bearer(scrape))).status == 200
    listed = await app_client(metrics_allow=("10.1.2.0/24",))
    assert (await listed.get("/metrics")).status == 403
    assert (await listed.get("/metrics", headers={"X-Forwarded-For": "10.1.2.7"})).status == 200
    loopback = await app_client(metrics_allow=("127.0.0.1/32",))
    assert (await loopback.get("/metrics")).status == 200


def test_access_classes() -> None:
    assert access_class("GET", "/health") == "open"
    assert access_class("POST", "/api/query") == "read"
    assert access_class("GET", "/v1/codes/{id}") == "read"
    assert access_class("PATCH", "/v1/codes/{id}") == "write"
    assert access_class("POST", "/api/feedback") == "write"
    assert access_class("POST", "/api/chat") == "chat"
    assert access_class("POST", "/api/rebuild_embeddings") == "admin"
    assert access_class("POST", "/api/some_new_route") == "write"  # unknown writes are guarded
