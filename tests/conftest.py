"""Shared fixtures: settings in a temporary data dir, and an aiohttp test client on create_app."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cadchat.app import create_app
from cadchat.config import Settings, load_settings
from cadchat.web_json import SERVER_OPTIONS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from pgcluster import Cluster, bin_dir, running_cluster

# The user-code store's backends; tests of the store's contract run on each.
BACKENDS = ("files", "postgresql")
_databases = itertools.count(1)

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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (benchmarks/pgcluster.py), on a unix
    socket in a temp dir; skipped where the server binaries are not installed."""
    if bin_dir() is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def database_url(pg_cluster: Cluster) -> str:
    """A URL of a fresh, empty database of its own for this test."""
    return pg_cluster.url(pg_cluster.create_database(f"test_{next(_databases)}"))


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings overrides selecting one user-code backend: {} (files) or a fresh database."""
    if request.param == "files":
        return {}
    return {"database_url": request.getfixturevalue("database_url"), "database_poll_interval": 0.1}
