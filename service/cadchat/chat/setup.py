"""Chat's resources, created and closed in the app's cleanup_ctx: the provider chosen by settings
(with its aiohttp session or SDK client), the token budget (a file, or shared in PostgreSQL),
dense retrieval, the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from cadchat.chat.guards import TokenBudget
from cadchat.chat.metrics import ChatMetrics
from cadchat.chat.providers import BailianProvider, ConnectTimeoutConnector, DashScopeProvider, Provider
from cadchat.chat.service import ChatService
from cadchat.chat.shared_budget import SharedTokenBudget
from cadchat.config import Settings
from cadchat.keys import CATALOG, CHAT, DATABASE, EXECUTOR, LISP_TOOLS, METRICS, SETTINGS, USER_CODES
from cadchat.library.model import Command

log = logging.getLogger(__name__)
BUDGET_FILE = "chat_budget.json"
BUDGET_SAVE_INTERVAL = 10.0
READ_BUFFER = 4 * 1024  # upstream read buffer per connection (SSE chunks are ~0.5-2 KiB)


def stored_code(app: web.Application, command: Command) -> str | None:
    """The code behind a command: a bundled LISP tool's source, or what the user-code store holds
    for a user program (when the store is there)."""
    if command.type == "lisp":
        tools = app.get(LISP_TOOLS)
        source = tools.for_command(command) if tools is not None else None
        return source.code if source is not None else None
    store = app.get(USER_CODES)
    if store is None or not isinstance(command.id, int):
        return None
    code = store.get(command.id)
    return code.code if code is not None and code.command == command.name else None


def choose_provider(settings: Settings) -> tuple[str, str]:
    """(provider, why): `auto` is bailian with a key and an app id, dashscope with a key, else offline."""
    wanted = settings.llm_provider
    key = bool(settings.dashscope_api_key)
    if wanted == "offline":
        return "offline", "CADCHAT_LLM_PROVIDER=offline"
    if not key:
        why = "no DASHSCOPE_API_KEY configured"
        if wanted != "auto":
            log.error("CADCHAT_LLM_PROVIDER=%s but %s: answering offline", wanted, why)
        return "offline", why
    if wanted == "bailian" and not settings.bailian_app_id:
        log.error("CADCHAT_LLM_PROVIDER=bailian but BAILIAN_APP_ID is not set: answering offline")
        return "offline", "no BAILIAN_APP_ID configured"
    if wanted == "auto":
        wanted = "bailian" if settings.bailian_app_id else "dashscope"
    return wanted, ""


def base_url(settings: Settings) -> str:
    """CADCHAT_DASHSCOPE_BASE_URL, else the SDK's own (DASHSCOPE_HTTP_BASE_URL or its default)."""
    import dashscope

    return (settings.dashscope_base_url or dashscope.base_http_api_url).rstrip("/")


def env_proxy(url: str) -> tuple[Any, Any]:
    """The proxy (and its auth) the environment sets for `url` (HTTPS_PROXY, HTTP_PROXY, ...),
    honouring NO_PROXY; (None, None) when there is none."""
    from urllib.request import getproxies, proxy_bypass

    from yarl import URL

    target = URL(url)
    proxy = getproxies().get(target.scheme or "https")
    if not proxy or (target.host and proxy_bypass(target.host)):
        return None, None
    proxy_url = URL(proxy)
    auth = aiohttp.BasicAuth(proxy_url.user, proxy_url.password or "") if proxy_url.user else None
    return proxy_url.with_user(None), auth


def sdk_client(settings: Settings, *, max_connections: int) -> Any:
    """A `dashscope.AsyncClient` on an httpx client we configure: explicit base URL (no SDK
    workspace warning), connect/total timeouts, a pool as large as the upstream cap, and no SDK
    retries (the chat service retries, with its own metrics)."""
    import dashscope
    import httpx

    url = base_url(settings)
    http = httpx.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {settings.dashscope_api_key}"},
        timeout=httpx.Timeout(settings.chat_total_timeout, connect=settings.chat_connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
    return dashscope.AsyncClient(base_url=url, max_retries=0, http_client=http), http


async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    metrics = ChatMetrics(app[METRICS].registry)
    # The 1.x SDK logs every failed request with a traceback (`logger.exception("Request failed")`);
    # the chat service logs each failure once, without request headers, so the SDK's stay quiet.
    logging.getLogger("dashscope").setLevel(logging.CRITICAL)
    name, why = choose_provider(settings)
    remote: Provider | None = None
    session: aiohttp.ClientSession | None = None
    closers: list[Any] = []
    cap = settings.chat_max_concurrency
    if name == "dashscope":
        connector = ConnectTimeoutConnector(
            connect_timeout=settings.chat_connect_timeout, limit=cap, limit_per_host=cap
        )
        proxy, proxy_auth = env_proxy(base_url(settings))
        # trust_env=False: aiohttp would look the proxy up in a thread on every request; the
        # environment's proxy for the DashScope URL (HTTPS_PROXY/NO_PROXY) is resolved once here.
        # read_bufsize: a stream whose client reads slower than DashScope writes waits in the
        # kernel's socket buffer, not in ours (64 KiB by default, times every open stream).
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            proxy=proxy,
            proxy_auth=proxy_auth,
            read_bufsize=READ_BUFFER,
        )
        remote = DashScopeProvider(
            api_key=settings.dashscope_api_key,
            base_url=base_url(settings),
            model=settings.llm_model,
            session=session,
            request_timeout=settings.chat_total_timeout,
            max_output_tokens=settings.chat_max_output_tokens,
        )
    elif name == "bailian":
        client, http = sdk_client(settings, max_connections=cap)
        closers.append(http)
        remote = BailianProvider(client=client, app_id=settings.bailian_app_id)
    loop = asyncio.get_running_loop()
    budget: TokenBudget
    if DATABASE in app:  # several hosts spend one budget
        budget = SharedTokenBudget(
            settings.chat_daily_token_budget, app[DATABASE], sync_interval=settings.database_poll_interval
        )
        await budget.start()
    else:
        budget = TokenBudget(settings.chat_daily_token_budget, settings.data_dir / "state" / BUDGET_FILE)
        await loop.run_in_executor(app[EXECUTOR], budget.load)
    retriever = None
    if settings.chat_dense_retrieval and settings.dashscope_api_key:
        from cadchat.chat.dense import DenseRetriever

        embed_client, embed_http = sdk_client(settings, max_connections=4)
        closers.append(embed_http)
        retriever = DenseRetriever(settings, app[CATALOG], embed_client, app[EXECUTOR], metrics)
        await retriever.start()
    service = ChatService(
        settings,
        app[CATALOG],
        metrics,
        remote=remote,
        offline_reason=why,
        budget=budget,
        code_of=lambda command: stored_code(app, command),
        retriever=retriever,
        on_retrieval=lambda seconds: app[METRICS].observe_retrieval("chat", seconds),
    )
    app[CHAT] = service
    log.info(
        "chat provider %s%s%s",
        service.provider_name,
        f" ({remote.model})" if remote else "",
        f": {why}" if why else "",
    )

    async def keep_budget() -> None:
        while True:
            await asyncio.sleep(BUDGET_SAVE_INTERVAL)
            if budget.dirty:
                try:
                    await loop.run_in_executor(app[EXECUTOR], budget.save)
                except OSError as exc:
                    log.warning("chat token budget: cannot save (%s)", exc)

    saver = asyncio.create_task(keep_budget(), name="chat-budget-saver")
    try:
        yield
    finally:
        saver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saver
        if retriever is not None:
            await retriever.stop()
        if isinstance(budget, SharedTokenBudget):
            await budget.stop()
        try:
            budget.save()
        except OSError as exc:
            log.warning("chat token budget: cannot save (%s)", exc)
        if session is not None:
            await session.close()
        for closer in closers:
            await closer.aclose()
