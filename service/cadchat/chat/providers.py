"""Chat providers behind one interface.

    name, model, remote
    async complete(prompt) -> Completion          # one answer
    stream(prompt) -> AsyncIterator[Chunk]        # the same answer, piece by piece

`offline` answers from retrieval with no network. `dashscope` calls a Qwen model through the SDK's
native aiohttp client (`dashscope.AioGeneration`, on a session this service owns). `bailian` calls a
Bailian application through the SDK's `AsyncClient.apps` (httpx, natively async). Providers raise
`UpstreamError` for every failure; they never retry (the chat service decides) and never put the
API key in an error, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp

from cadchat.chat.aio import within
from cadchat.chat.model import Chunk, Completion, Prompt, UpstreamError, Usage, kind_for_status
from cadchat.chat.prompt import offline_answer

log = logging.getLogger(__name__)

_CODE_KINDS = {
    "InvalidApiKey": "auth",
    "AccessDenied": "auth",
    "AccessDenied.Unpurchased": "auth",
    "Arrearage": "auth",
    "InternalError": "server",
    "ServiceUnavailable": "server",
    "GatewayTimeout": "server",
    "RequestTimeOut": "server",
}


def error_kind(status: int | None, code: str | None) -> str:
    """By wire code first (the 1.x SDK reports every in-stream error as 400), then by status."""
    code = code or ""
    if code.startswith("Throttling"):
        return "rate_limited"
    if code in _CODE_KINDS:
        return _CODE_KINDS[code]
    return kind_for_status(status or 500)


def _safe(text: Any, limit: int = 300) -> str:
    return str(text or "")[:limit]


def transport_error(exc: BaseException) -> UpstreamError:
    """Map a transport exception to an UpstreamError that names the failure, not the request."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, UnicodeEncodeError):  # our request could not be encoded: not upstream's fault
        return UpstreamError("bad_request", "the request holds text that cannot be encoded")
    if isinstance(exc, TimeoutError):  # includes aiohttp's ServerTimeoutError / ConnectionTimeoutError
        return UpstreamError("timeout", f"upstream timed out ({type(exc).__name__})")
    if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError, OSError)):
        return UpstreamError("connection", f"cannot reach upstream ({type(exc).__name__})")
    try:
        from dashscope.v2.errors import APIConnectionError, APITimeoutError, DashScopeError
    except ImportError:  # pragma: no cover - the SDK is a dependency
        DashScopeError = APITimeoutError = APIConnectionError = ()  # type: ignore[assignment,misc]
    if isinstance(exc, APITimeoutError):
        return UpstreamError("timeout", "upstream timed out")
    if isinstance(exc, APIConnectionError):
        return UpstreamError("connection", "cannot reach upstream")
    if isinstance(exc, DashScopeError):
        status = exc.status_code if isinstance(exc.status_code, int) else None
        retry_after = _retry_after(getattr(exc, "headers", None))
        return UpstreamError(
            error_kind(status, exc.code),
            _safe(exc.message),
            status=status,
            code=exc.code or "",
            request_id=exc.request_id or "",
            retry_after=retry_after,
        )
    return UpstreamError("malformed", f"unexpected upstream reply ({type(exc).__name__})")


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after") if headers else None
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


class Provider(Protocol):
    name: str
    model: str | None
    remote: bool

    async def complete(self, prompt: Prompt) -> Completion: ...

    def stream(self, prompt: Prompt) -> AsyncIterator[Chunk]: ...


class OfflineProvider:
    """No network: the answer is built from the retrieved context."""

    name = "offline"
    model: str | None = None
    remote = False

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    async def complete(self, prompt: Prompt) -> Completion:
        return Completion(text=offline_answer(prompt, reason=self.reason), model=None)

    async def stream(self, prompt: Prompt) -> AsyncIterator[Chunk]:
        for line in offline_answer(prompt, reason=self.reason).splitlines(keepends=True):
            yield Chunk(delta=line)
        yield Chunk(delta="", finish_reason="stop", usage=Usage())


class ConnectTimeoutConnector(aiohttp.TCPConnector):
    """Bounds the connection phase (pool wait, DNS, TCP, TLS) on its own: the SDK passes a
    per-request ClientTimeout that replaces the session's, so sock_connect cannot be set there."""

    def __init__(self, *, connect_timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._connect_timeout = connect_timeout

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        try:
            return await within(super().connect(req, traces, timeout), self._connect_timeout)
        except TimeoutError:
            raise aiohttp.ConnectionTimeoutError(
                f"connect timed out after {self._connect_timeout}s"
            ) from None


class DashScopeProvider:
    """A Qwen model via `dashscope.AioGeneration` (1.x native async, aiohttp)."""

    name = "dashscope"
    remote = True

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        session: aiohttp.ClientSession,
        request_timeout: float,
        max_output_tokens: int,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.model = model
        self._session = session
        self._request_timeout = request_timeout
        self._max_tokens = max_output_tokens

    def __repr__(self) -> str:
        return f"DashScopeProvider(model={self.model!r}, base_url={self.base_url!r})"

    def _call(self, prompt: Prompt, stream: bool):
        import dashscope

        return dashscope.AioGeneration.call(
            model=self.model,
            messages=[dict(m) for m in prompt.messages],
            api_key=self._api_key,
            base_address=self.base_url,
            session=self._session,
            request_timeout=self._request_timeout,
            result_format="message",
            max_tokens=self._max_tokens,
            stream=stream,
            incremental_output=True if stream else None,
        )

    @staticmethod
    def _check(rsp: Any, *, mid_stream: bool = False) -> None:
        status = int(getattr(rsp, "status_code", 0) or 0)
        if status != 200:
            code = getattr(rsp, "code", "") or ""
            # After good chunks, the 1.x SDK reports a frame it cannot parse as 500 "Unknown".
            kind = "malformed" if mid_stream and code == "Unknown" else error_kind(status, code)
            raise UpstreamError(
                kind,
                _safe(getattr(rsp, "message", "")) or f"HTTP {status}",
                status=status,
                code=code,
                request_id=getattr(rsp, "request_id", "") or "",
                retry_after=_retry_after(getattr(rsp, "headers", None)),
            )
        if getattr(rsp, "output", None) is None:
            raise UpstreamError("malformed", "upstream reply has no output", status=status)

    @staticmethod
    def _content(rsp: Any) -> tuple[str, str | None]:
        output = rsp.output
        choices = output.get("choices") if isinstance(output, dict) else None
        if choices:
            choice = choices[0]
            message = choice.get("message") or {}
            return str(message.get("content") or ""), choice.get("finish_reason")
        return str(output.get("text") or ""), output.get("finish_reason")

    @staticmethod
    def _usage(rsp: Any) -> Usage:
        usage = getattr(rsp, "usage", None) or {}
        return Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))

    async def complete(self, prompt: Prompt) -> Completion:
        try:
            rsp = await self._call(prompt, stream=False)
        except Exception as exc:
            raise transport_error(exc) from None
        self._check(rsp)
        try:
            text, finish = self._content(rsp)
        except Exception as exc:
            raise transport_error(exc) from None
        return Completion(
            text=text,
            usage=self._usage(rsp),
            request_id=rsp.request_id or "",
            finish_reason=finish or "stop",
            model=self.model,
        )

    async def stream(self, prompt: Prompt) -> AsyncIterator[Chunk]:
        generator = None
        try:
            generator = await self._call(prompt, stream=True)
            chunks = 0
            async for rsp in generator:
                self._check(rsp, mid_stream=chunks > 0)
                chunks += 1
                delta, finish = self._content(rsp)
                yield Chunk(
                    delta=delta,
                    usage=self._usage(rsp),
                    request_id=rsp.request_id or "",
                    finish_reason=None if finish in (None, "null", "") else finish,
                    model=self.model,
                )
        except (UpstreamError, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise transport_error(exc) from None
        finally:
            if generator is not None:
                await generator.aclose()


class BailianProvider:
    """A Bailian application by id via `dashscope.AsyncClient.apps.completions` (httpx, async)."""

    name = "bailian"
    remote = True

    def __init__(self, *, client: Any, app_id: str) -> None:
        self._client = client
        self.app_id = app_id
        self.model = f"bailian-app:{app_id}"

    def __repr__(self) -> str:
        return f"BailianProvider(app_id={self.app_id!r})"

    @staticmethod
    def _usage(event: Any) -> tuple[Usage, str | None]:
        usage = getattr(event, "usage", None)
        if usage is None:
            return Usage(), None
        models = list(getattr(usage, "models", None) or [])
        inp = int(getattr(usage, "input_tokens", 0) or 0) or sum(m.input_tokens for m in models)
        out = int(getattr(usage, "output_tokens", 0) or 0) or sum(m.output_tokens for m in models)
        return Usage(inp, out), (models[0].model_id if models and models[0].model_id else None)

    async def complete(self, prompt: Prompt) -> Completion:
        try:
            rsp = await self._client.apps.completions.create(app_id=self.app_id, prompt=prompt.text)
        except Exception as exc:
            raise transport_error(exc) from None
        if rsp.text is None:
            raise UpstreamError("malformed", "application reply has no text")
        usage, model = self._usage(rsp)
        return Completion(
            text=rsp.text,
            usage=usage,
            request_id=rsp.request_id or "",
            finish_reason=rsp.finish_reason or "stop",
            model=model or self.model,
        )

    async def stream(self, prompt: Prompt) -> AsyncIterator[Chunk]:
        stream = None
        try:
            stream = await self._client.apps.completions.create(
                app_id=self.app_id, prompt=prompt.text, stream=True, incremental_output=True
            )
            async for event in stream:
                usage, model = self._usage(event)
                finish = event.finish_reason
                yield Chunk(
                    delta=event.text or "",
                    usage=usage if usage.total_tokens else None,
                    request_id=event.request_id or "",
                    finish_reason=None if finish in (None, "null", "") else finish,
                    model=model or self.model,
                )
        except (UpstreamError, GeneratorExit, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise transport_error(exc) from None
        finally:
            if stream is not None:
                await stream.aclose()
