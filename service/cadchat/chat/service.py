"""The chat service: retrieval -> prompt -> provider, behind the cost and resilience guards.

`plan()` decides, before any response is started, who answers: the remote provider (holding one
of the capped upstream slots), the answer cache, or the offline provider (by configuration, or
`degraded` because the budget is spent / the breaker is open). A full upstream cap raises a 503.
`answer()` then produces the JSON answer, `events()` the same answer as SSE events. The AutoLISP
of every answer is checked; code with errors from the model gets one repair round (`repair`):
the JSON answer carries the better code, a stream sends it after `final` as a `lisp` event. Upstream
failures before the first streamed byte are retried (429/5xx, jittered backoff) and then answered
offline, flagged `degraded`; a failure after it ends the stream with an `error` event.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cadchat.autolisp.extract import LispCode
from cadchat.catalog import Catalog
from cadchat.chat import repair
from cadchat.chat.aio import within
from cadchat.chat.guards import CircuitBreaker, RateLimiter, Slots, TokenBudget, TTLCache, backoff_delay
from cadchat.chat.metrics import BREAKER_VALUES, ChatMetrics
from cadchat.chat.model import (
    MODES,
    ROLES,
    ChatRequest,
    Chunk,
    Completion,
    ContextItem,
    Prompt,
    Turn,
    UpstreamError,
    Usage,
)
from cadchat.chat.prompt import build_prompt
from cadchat.chat.providers import OfflineProvider, Provider
from cadchat.config import Settings
from cadchat.errors import Busy, InvalidInput, RateLimited
from cadchat.inputs import text_field
from cadchat.library.model import Command

log = logging.getLogger(__name__)

CodeLookup = Callable[[Command], "str | None"]
Event = tuple[str, dict[str, Any]]  # (SSE event name, JSON data)


@dataclass
class Plan:
    request: ChatRequest
    prompt: Prompt
    provider: Provider
    degraded_reason: str | None = None
    cache_key: str | None = None
    cached: dict[str, Any] | None = None
    holds_slot: bool = False
    probe: bool = False  # admitted as the half-open breaker's probe
    upstream_seconds: float = 0.0  # time spent waiting on the provider, retries included
    started: float = field(default_factory=time.perf_counter)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        metrics: ChatMetrics,
        *,
        remote: Provider | None = None,
        offline_reason: str = "",
        budget: TokenBudget | None = None,
        code_of: CodeLookup = lambda command: None,
        retriever: Any = None,
        on_retrieval: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.metrics = metrics
        self.remote = remote
        self.offline = OfflineProvider()
        self.offline_reason = offline_reason  # why there is no remote provider (for /api/stats)
        self.budget = budget or TokenBudget(settings.chat_daily_token_budget)
        self.code_of = code_of  # a user program's stored code (from the user-code store), or None
        self.retriever = retriever  # dense retrieval (chat.dense.DenseRetriever) or None
        self.on_retrieval = on_retrieval  # observes the seconds each context retrieval took
        self.breaker = CircuitBreaker(
            settings.chat_breaker_failures,
            settings.chat_breaker_cooldown,
            on_change=lambda state: metrics.breaker.set(BREAKER_VALUES[state]),
        )
        self.slots = Slots(settings.chat_max_concurrency)
        self.rate = RateLimiter(settings.chat_rate_limit, settings.chat_rate_burst)
        self.cache: TTLCache[dict[str, Any]] = TTLCache(settings.chat_cache_size, settings.chat_cache_ttl)
        self.last_upstream_ok: bool | None = None  # None until the first upstream call
        self.last_error: dict[str, Any] | None = None
        metrics.capacity.set(self.slots.capacity)
        metrics.breaker.set(0)
        metrics.budget.set(settings.chat_daily_token_budget)
        metrics.in_flight.set_function(lambda: self.slots.in_use)
        metrics.budget_remaining.set_function(
            lambda: -1 if self.budget.remaining is None else self.budget.remaining
        )

    # --- state for /api/stats ------------------------------------------------------------------

    @property
    def provider_name(self) -> str:
        return self.remote.name if self.remote else "offline"

    def state(self) -> dict[str, Any]:
        breaker = self.breaker.state
        budget_left = self.budget.remaining
        available = bool(self.remote) and breaker != CircuitBreaker.OPEN and not self.budget.exhausted
        return {
            "provider": self.provider_name,
            "model": self.remote.model if self.remote else None,
            "available": available,
            "reachable": self.last_upstream_ok,
            "breaker": breaker,
            "budget_remaining_tokens": budget_left,
            "tokens_spent_today": self.budget.spent,
            "in_flight": self.slots.in_use,
            "max_concurrency": self.slots.capacity,
            "offline_reason": None if self.remote else self.offline_reason,
            "last_error": self.last_error,
        }

    # --- admission -----------------------------------------------------------------------------

    def check_rate(self, client: str, request: ChatRequest) -> None:
        wait = self.rate.check(client)
        if wait > 0:
            self._count(self.provider_name, request, "rate_limited")
            log.info("chat rate limit for %s: 429, retry in %.1f s", client, wait)
            retry = max(1, int(wait + 0.999))
            raise RateLimited(f"too many chat requests; retry in {retry} s", retry_after=retry)

    async def context(self, message: str) -> list[ContextItem]:
        settings = self.settings
        limit = settings.chat_context_commands
        started = time.perf_counter()
        hits = None
        if self.retriever is not None:
            hits = await self.retriever.search(message, limit)
        if hits is None:
            hits = self.catalog.search(message, limit)
        if self.on_retrieval is not None:
            self.on_retrieval(time.perf_counter() - started)
        floor = settings.match_threshold / 2
        items = []
        for hit in hits:
            if hit.similarity < floor:
                continue
            code = None
            if hit.entry.type in ("user_program", "lisp") and hit.similarity >= settings.match_threshold:
                code = self.code_of(hit.entry)
            items.append(ContextItem(hit.entry, hit.similarity, code))
        return items

    async def plan(self, request: ChatRequest) -> Plan:
        items = await self.context(request.message)
        prompt = build_prompt(request.message, request.history, request.mode, items)
        plan = Plan(request, prompt, self.offline)
        remote = self.remote
        if remote is None:
            return plan
        if self.budget.exhausted:
            plan.degraded_reason = "daily token budget spent"
            return plan
        if not request.stream and request.use_cache and self.cache.enabled:
            plan.cache_key = self._cache_key(remote, prompt)
            cached = self.cache.get(plan.cache_key)
            self.metrics.cache.labels("hit" if cached else "miss").inc()
            if cached is not None:
                plan.provider, plan.cached = remote, cached
                return plan
        if self.breaker.state == CircuitBreaker.OPEN:
            plan.degraded_reason = "upstream failing (circuit open)"
            return plan
        if not self.slots.try_acquire():
            self._count(remote.name, request, "busy")
            log.info("chat at capacity (%d upstream calls): 503", self.slots.capacity)
            raise Busy("chat is at capacity; retry shortly", retry_after=1)
        probe = self.breaker.state == CircuitBreaker.HALF_OPEN
        if not self.breaker.allow():  # half-open and another call is already probing
            self.slots.release()
            plan.degraded_reason = "upstream failing (circuit half-open)"
            return plan
        plan.provider, plan.holds_slot, plan.probe = remote, True, probe
        return plan

    def release(self, plan: Plan) -> None:
        """Give back the upstream slot (and an unfinished probe); safe to call more than once."""
        if plan.holds_slot:
            plan.holds_slot = False
            self.slots.release()
        if plan.probe:
            plan.probe = False
            self.breaker.release_probe()

    @staticmethod
    def _cache_key(provider: Provider, prompt: Prompt) -> str:
        raw = json.dumps([provider.name, provider.model, prompt.messages], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()

    # --- answers -------------------------------------------------------------------------------

    def _result(
        self,
        plan: Plan,
        request_id: str,
        completion: Completion,
        *,
        provider: Provider,
        degraded_reason: str | None,
        error: UpstreamError | None = None,
        lisp: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "success": True,
            "request_id": request_id,
            "provider": provider.name,
            "model": completion.model or provider.model,
            "mode": plan.request.mode,
            "offline": provider.name == "offline",
            "degraded": degraded_reason is not None,
            "degraded_reason": degraded_reason,
            "cached": False,
            "text": completion.text,
            "lisp": lisp,
            "references": [item.reference() for item in plan.prompt.context],
            "usage": completion.usage.as_dict(),
            "upstream_request_id": completion.request_id or None,
            "finish_reason": completion.finish_reason,
            "error": error.as_dict() if error else None,
            "elapsed_ms": round((time.perf_counter() - plan.started) * 1000, 1),
            "upstream_ms": round(plan.upstream_seconds * 1000, 1),
        }

    # --- the AutoLISP of an answer: checked, and repaired once when it has errors ----------------

    async def _check(self, text: str) -> LispCode | None:
        """The answer's code, checked off the event loop (answers are up to max_tokens long and
        offline answers carry users' stored code)."""
        known = self.catalog.command_names()
        code = await asyncio.to_thread(repair.check_answer, text, known)
        if code is not None:
            self.metrics.lisp_checked.inc()
            if not code.ok:
                self.metrics.lisp_errors.inc()
        return code

    def _wants_repair(self, provider: Provider, code: LispCode | None) -> bool:
        return (
            code is not None
            and not code.ok
            and provider.remote
            and self.settings.chat_lisp_repair
            and not self.budget.exhausted
        )

    async def _repair(
        self, plan: Plan, provider: Provider, text: str, code: LispCode, request_id: str
    ) -> tuple[dict[str, Any], str, Usage]:
        """One repair round (own timeout, tokens counted in the budget). Returns the `lisp`
        payload of the better code, the answer text with the code replaced when the repair won,
        and the tokens the round spent."""
        self.metrics.lisp_repairs.labels("tried").inc()
        started = time.perf_counter()
        try:
            completion = await within(
                provider.complete(repair.repair_prompt(plan.prompt, text, code)),
                self.settings.chat_lisp_repair_timeout,
            )
        except (TimeoutError, UpstreamError) as exc:
            kind = exc.kind if isinstance(exc, UpstreamError) else "timeout"
            self.metrics.upstream.labels(provider.name, kind).inc()
            log.info(
                "chat %s: AutoLISP repair round failed (%s); answering the original code", request_id, kind
            )
            return repair.payload(code, repair_failed=kind), text, Usage()
        finally:
            plan.upstream_seconds += time.perf_counter() - started
        self.metrics.upstream.labels(provider.name, "ok").inc()
        self._spend(provider, completion.usage)
        fixed = await asyncio.to_thread(repair.check_answer, completion.text, self.catalog.command_names())
        if not repair.better(code, fixed):
            return repair.payload(code), text, completion.usage
        assert fixed is not None
        if fixed.ok:
            self.metrics.lisp_repairs.labels("succeeded").inc()
        original = [p.as_dict() for p in code.report.problems]
        return (
            repair.payload(fixed, repaired=True, original_problems=original),
            text.replace(code.code, fixed.code, 1),
            completion.usage,
        )

    def _count(self, provider: str, request: ChatRequest, outcome: str) -> None:
        self.metrics.requests.labels(provider, request.mode, str(request.stream).lower(), outcome).inc()

    def _succeeded(self, provider: Provider, usage: Usage, seconds: float) -> None:
        self.breaker.record_success()
        self.last_upstream_ok, self.last_error = True, None
        self.metrics.upstream.labels(provider.name, "ok").inc()
        self.metrics.upstream_seconds.labels(provider.name).observe(seconds)
        self._spend(provider, usage)

    def _spend(self, provider: Provider, usage: Usage | None) -> None:
        if usage is None:
            return
        self.budget.spend(usage.total_tokens)
        self.metrics.tokens.labels(provider.name, "input").inc(usage.input_tokens)
        self.metrics.tokens.labels(provider.name, "output").inc(usage.output_tokens)

    def _failed(self, provider: Provider, error: UpstreamError, request_id: str) -> None:
        self.metrics.upstream.labels(provider.name, error.kind).inc()
        if error.breaker_failure:
            self.breaker.record_failure()
            self.last_upstream_ok = False
        else:
            self.breaker.release_probe()
        self.last_error = {**error.as_dict(), "at": time.time()}
        log.warning(
            "chat %s upstream %s failed: %s (status %s, code %s, upstream request %s)",
            request_id,
            provider.name,
            error.kind,
            error.status,
            error.code or "-",
            error.request_id or "-",
        )

    def _deadline(self) -> float:
        return time.monotonic() + self.settings.chat_total_timeout

    async def _backoff(
        self, provider: Provider, error: UpstreamError, attempt: int, deadline: float, request_id: str
    ) -> bool:
        """Sleep before retry `attempt` when allowed and time remains; False means give up."""
        if not error.retryable or attempt >= self.settings.chat_retries:
            return False
        delay = backoff_delay(attempt, self.settings.chat_retry_backoff, retry_after=error.retry_after)
        if time.monotonic() + delay >= deadline:
            return False
        self.metrics.retries.labels(provider.name).inc()
        self.metrics.upstream.labels(provider.name, error.kind).inc()
        log.info(
            "chat %s: upstream %s %s, retry %d in %.2f s",
            request_id,
            provider.name,
            error.kind,
            attempt + 1,
            delay,
        )
        await asyncio.sleep(delay)
        return True

    async def answer(self, plan: Plan, request_id: str) -> dict[str, Any]:
        """The JSON answer (non-streamed). Cancelling it (the client left) closes the upstream
        call at once and counts the request as `disconnected`, not as an upstream failure."""
        request = plan.request
        try:
            if plan.cached is not None:
                self._count(plan.provider.name, request, "cached")
                elapsed = round((time.perf_counter() - plan.started) * 1000, 1)
                return {
                    **plan.cached,
                    "request_id": request_id,
                    "cached": True,
                    "elapsed_ms": elapsed,
                    "upstream_ms": 0.0,
                }
            if not plan.provider.remote:
                completion = await self.offline.complete(plan.prompt)
                self._count("offline", request, "degraded" if plan.degraded_reason else "offline")
                return self._result(
                    plan,
                    request_id,
                    completion,
                    provider=self.offline,
                    degraded_reason=plan.degraded_reason,
                    lisp=repair.payload(await self._check(completion.text)),
                )
            provider = plan.provider
            deadline = self._deadline()
            attempt = 0
            while True:
                started = time.perf_counter()
                try:
                    completion = await within(provider.complete(plan.prompt), deadline - time.monotonic())
                except TimeoutError:
                    error = UpstreamError("timeout", f"no answer within {self.settings.chat_total_timeout} s")
                except UpstreamError as exc:
                    error = exc
                else:
                    plan.upstream_seconds += time.perf_counter() - started
                    self._succeeded(provider, completion.usage, time.perf_counter() - started)
                    code = await self._check(completion.text)
                    lisp = repair.payload(code)
                    if self._wants_repair(provider, code):
                        assert code is not None
                        lisp, text, extra = await self._repair(
                            plan, provider, completion.text, code, request_id
                        )
                        usage = Usage(
                            completion.usage.input_tokens + extra.input_tokens,
                            completion.usage.output_tokens + extra.output_tokens,
                        )
                        completion = Completion(
                            text, usage, completion.request_id, completion.finish_reason, completion.model
                        )
                    result = self._result(
                        plan, request_id, completion, provider=provider, degraded_reason=None, lisp=lisp
                    )
                    if plan.cache_key:
                        self.cache.put(plan.cache_key, result)
                    self._count(provider.name, request, "ok")
                    return result
                plan.upstream_seconds += time.perf_counter() - started
                if await self._backoff(provider, error, attempt, deadline, request_id):
                    attempt += 1
                    continue
                self._failed(provider, error, request_id)
                completion = await self.offline.complete(plan.prompt)
                self._count("offline", request, "degraded")
                return self._result(
                    plan,
                    request_id,
                    completion,
                    provider=self.offline,
                    degraded_reason=f"upstream {error.kind}",
                    error=error,
                    lisp=repair.payload(await self._check(completion.text)),
                )
        except asyncio.CancelledError:
            self.metrics.disconnects.inc()
            self._count(plan.provider.name, request, "disconnected")
            raise
        finally:
            self.release(plan)

    async def events(self, plan: Plan, request_id: str) -> AsyncIterator[Event]:
        """The streamed answer: `delta` events ({"text"}), then one `final` event (the JSON answer,
        its text included). A failure after text went out adds an `error` event before `final`.
        Closing this generator (client gone) closes the upstream stream at once."""
        try:
            if not plan.provider.remote:
                async for event in self._counted_offline_events(plan, request_id):
                    yield event
                return
            async for event in self._remote_events(plan, request_id):
                yield event
        finally:
            self.release(plan)

    async def _counted_offline_events(self, plan: Plan, request_id: str) -> AsyncIterator[Event]:
        """An offline stream, counted like an upstream one: its outcome once the final event is
        ready, or `disconnected` when the client left before it."""
        finished = False
        try:
            async for event in self._offline_events(plan, request_id, plan.degraded_reason, None):
                if event[0] == "final":
                    finished = True
                    self._count("offline", plan.request, "degraded" if plan.degraded_reason else "offline")
                yield event
        finally:
            if not finished:
                self.metrics.disconnects.inc()
                self._count("offline", plan.request, "disconnected")

    async def _offline_events(
        self, plan: Plan, request_id: str, reason: str | None, error: UpstreamError | None
    ) -> AsyncIterator[Event]:
        parts: list[str] = []
        async for chunk in self.offline.stream(plan.prompt):
            if chunk.delta:
                parts.append(chunk.delta)
                yield "delta", {"text": chunk.delta}
        completion = Completion(text="".join(parts))
        lisp = repair.payload(await self._check(completion.text))
        yield (
            "final",
            self._result(
                plan,
                request_id,
                completion,
                provider=self.offline,
                degraded_reason=reason,
                error=error,
                lisp=lisp,
            ),
        )

    async def _remote_events(self, plan: Plan, request_id: str) -> AsyncIterator[Event]:
        provider, request = plan.provider, plan.request
        settings = self.settings
        deadline = self._deadline()
        attempt = 0
        while True:
            parts: list[str] = []
            last = Chunk(delta="")
            usage: Usage | None = None
            finish: str | None = None
            sent = False  # has any text reached the client?
            started = time.perf_counter()
            upstream = provider.stream(plan.prompt).__aiter__()
            verdict = False
            try:
                while True:
                    remaining = deadline - time.monotonic()
                    limit = remaining if sent else min(remaining, settings.chat_first_token_timeout)
                    try:
                        chunk = await within(upstream.__anext__(), limit)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        what = "first token" if not sent else "the whole answer"
                        raise UpstreamError("timeout", f"upstream too slow: no {what} in time") from None
                    last = chunk
                    usage = chunk.usage or usage
                    finish = chunk.finish_reason or finish
                    if chunk.delta:
                        if not sent:
                            self.metrics.first_token.labels(provider.name).observe(
                                time.perf_counter() - started
                            )
                        sent = True
                        parts.append(chunk.delta)
                        yield "delta", {"text": chunk.delta}
                if finish is None:
                    raise UpstreamError("malformed", "upstream stream ended without a finish_reason")
                verdict = True
                plan.upstream_seconds += time.perf_counter() - started
                self._succeeded(provider, usage or Usage(), time.perf_counter() - started)
                self._count(provider.name, request, "ok")
                completion = Completion(
                    "".join(parts), usage or Usage(), last.request_id, finish, last.model or provider.model
                )
                code = await self._check(completion.text)
                wants_repair = self._wants_repair(provider, code)
                lisp = repair.payload(code, repair_pending=True) if wants_repair else repair.payload(code)
                yield (
                    "final",
                    self._result(
                        plan, request_id, completion, provider=provider, degraded_reason=None, lisp=lisp
                    ),
                )
                if wants_repair:  # after the stream: the better code as a last `lisp` event
                    assert code is not None
                    lisp, _, extra = await self._repair(plan, provider, completion.text, code, request_id)
                    yield "lisp", {"request_id": request_id, "lisp": lisp, "usage": extra.as_dict()}
                return
            except UpstreamError as error:
                verdict = True
                if not sent and await self._backoff(provider, error, attempt, deadline, request_id):
                    attempt += 1
                    continue
                self._failed(provider, error, request_id)
                self._spend(provider, usage)
                self._count(provider.name if sent else "offline", request, "degraded")
                if not sent:
                    async for event in self._offline_events(
                        plan, request_id, f"upstream {error.kind}", error
                    ):
                        yield event
                    return
                yield "error", {"request_id": request_id, **error.as_dict()}
                completion = Completion(
                    "".join(parts), usage or Usage(), last.request_id, "error", last.model or provider.model
                )
                yield (
                    "final",
                    self._result(
                        plan,
                        request_id,
                        completion,
                        provider=provider,
                        degraded_reason=f"upstream {error.kind} mid-stream",
                        error=error,
                        lisp=repair.payload(await self._check(completion.text)),
                    ),
                )
                return
            finally:
                if not verdict:  # the client left (GeneratorExit) or we were cancelled
                    self.metrics.disconnects.inc()
                    self._spend(provider, usage)
                    self._count(provider.name, request, "disconnected")
                await upstream.aclose()


def parse_history(raw: Any, *, max_turns: int = 20, max_chars: int = 4000) -> Sequence[Turn]:
    """Prior turns from a request body: a list of {"role": "user"|"assistant", "content": str}."""

    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput("'history' must be a list of {role, content} objects")
    turns = []
    for number, item in enumerate(raw[-max_turns:]):
        if not isinstance(item, dict):
            raise InvalidInput(f"history[{number}] must be an object")
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            raise InvalidInput(f"history[{number}].role must be 'user' or 'assistant'")
        if not isinstance(content, str):
            raise InvalidInput(f"history[{number}].content must be a string")
        if content.strip():
            turns.append(Turn(role, content.strip()[:max_chars]))
    return tuple(turns)


def parse_request(body: dict[str, Any], *, accept: str = "", max_chars: int = 4000) -> ChatRequest:
    """A ChatRequest from the JSON body of POST /api/chat (400 on bad input)."""

    message = text_field(body, "message", "requirement", "query", max_length=max_chars)
    mode = body.get("mode") or "lisp"
    if mode not in MODES:
        raise InvalidInput(f"'mode' must be one of {', '.join(MODES)}")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidInput("'stream' must be true or false")
    if stream is None:
        stream = "text/event-stream" in accept
    use_cache = body.get("cache", True)
    if not isinstance(use_cache, bool):
        raise InvalidInput("'cache' must be true or false")
    history = parse_history(body.get("history"))
    return ChatRequest(message=message, history=tuple(history), mode=mode, stream=stream, use_cache=use_cache)
