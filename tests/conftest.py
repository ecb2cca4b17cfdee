"""Shared fixtures: settings in a temporary data dir, and an aiohttp test client on create_app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cadchat.app import create_app
from cadchat.config import Settings, load_settings
from cadchat.web_json import SERVER_OPTIONS

SMALL_LIBRARY = """\
# name|description|alias|file|date|type
LINE|直线：绘制直线段 line|L|||basic
CIRCLE|圆：画圆，按圆心和半径 circle|C|||basic
TRIM|修剪：以边界剪掉多余的线 trim|TR|||basic
EXTEND|延伸：把线延长到边界 extend|EX|||basic
BURST|炸开块并保留属性文字 burst|||acetutil.fas||lisp
"""


@pytest.fixture
def aiohttp_client(aiohttp_client):
    """pytest-aiohttp's client factory, its test server started with the service's own server
    options (it ignores `server_kwargs`). The test server always cancels the handler of a client
    that left, unlike production: tests of that behaviour use `served_app`."""

    async def make(app: Any, **kwargs: Any) -> Any:
        if isinstance(app, web.Application):
            server = TestServer(app)
            await server.start_server(**SERVER_OPTIONS)
            app = server
        return await aiohttp_client(app, **kwargs)

    return make


@pytest.fixture
async def served_app():
    """Start an app exactly as `cadchat serve` does (web.AppRunner with SERVER_OPTIONS) on a free
    loopback port; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def serve(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, **SERVER_OPTIONS)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated in tmp_path: no .env from the developer's tree, watcher on, fast debounce."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "watch_debounce": 0.05,
            "access_log": False,
        }
        base.update(overrides)
        return load_settings(environ={}, overrides=base, env_file=tmp_path / "absent.env")

    return make


@pytest.fixture
def small_library(tmp_path: Path) -> Path:
    path = tmp_path / "library" / "commands.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SMALL_LIBRARY, encoding="utf-8")
    return path


@pytest.fixture
async def client(aiohttp_client, make_settings):
    """A client on the app with the bundled libraries (the newcomer's default)."""
    return await aiohttp_client(create_app(make_settings()))
