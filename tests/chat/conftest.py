"""Chat fixtures: the fake DashScope gateway on 127.0.0.1 and app clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cadchat.app import create_app

# pytest puts this directory on sys.path (rootdir conftest, no __init__.py): the fake imports plainly.
from fake_dashscope import API_KEY, FakeDashScope


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests, aiohttp (trust_env) and httpx all honour proxy variables: keep loopback direct.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
async def fake():
    server = FakeDashScope()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def chat_settings(make_settings, fake) -> Callable[..., Any]:
    """Settings for a chat app on the fake: DashScope provider, fast retries, no rate limit."""

    def make(**overrides: Any):
        base: dict[str, Any] = {
            "llm_provider": "dashscope",
            "dashscope_api_key": API_KEY,
            "dashscope_base_url": fake.url,
            "watch": False,
            "chat_retry_backoff": 0.01,
            "chat_rate_limit": 0.0,
        }
        base.update(overrides)
        return make_settings(**base)

    return make


@pytest.fixture
def chat_client(aiohttp_client, chat_settings) -> Callable[..., Any]:
    async def make(**overrides: Any):
        return await aiohttp_client(create_app(chat_settings(**overrides)))

    return make
