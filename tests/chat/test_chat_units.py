"""Plain-module tests: LISP extraction, prompts, guards, request parsing (no HTTP)."""

from __future__ import annotations

import pytest
from cadchat.chat.guards import (
    CircuitBreaker,
    RateLimiter,
    Slots,
    TokenBudget,
    TTLCache,
    backoff_delay,
    client_address,
)
from cadchat.chat.lisp import extract_lisp, paren_depth
from cadchat.chat.model import ContextItem, Turn
from cadchat.chat.prompt import OFFLINE_MARK, build_prompt, offline_answer
from cadchat.chat.service import parse_request
from cadchat.errors import InvalidInput
from cadchat.library.model import Command


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- LISP extraction -----------------------------------------------------------------------------


def test_extracts_the_fenced_block_that_defines_a_command():
    text = (
        '说明\n```lisp\n(setq a 1)\n```\n然后：\n```lisp\n(defun c:DL (/ p)\n  (princ "(")\n  (princ)\n)\n```'
    )
    code = extract_lisp(text)
    assert code is not None
    assert code.command == "c:DL"
    assert code.code.startswith("(defun c:DL")
    assert code.balanced  # the "(" inside the string does not count


def test_extracts_a_bare_defun_and_reports_unbalanced_code():
    code = extract_lisp('试试这个: (defun c:Foo () (command "_.LINE") (princ)) 就好')
    assert code is not None
    assert (code.command, code.code) == ("c:Foo", '(defun c:Foo () (command "_.LINE") (princ))')
    broken = extract_lisp("```lisp\n(defun c:X ()\n  (princ)\n```")
    assert broken is not None and not broken.balanced and broken.command == "c:X"


def test_no_code_means_none_and_other_languages_are_ignored():
    assert extract_lisp("用 TRIM 命令即可。") is None
    assert extract_lisp("```python\nprint(1)\n```") is None
    assert paren_depth('(a ; comment (\n "x)" )') == 0


# --- prompts -------------------------------------------------------------------------------------


def _items(with_code: bool = False) -> list[ContextItem]:
    circle = Command("CIRCLE", "圆：画圆", aliases=("C",), type="basic", source="/srv/lib/basic.txt", id=1)
    mine = Command("MYCIRC", "画两个同心圆", type="user_program", source="user_codes", id=7)
    return [
        ContextItem(circle, 0.8),
        ContextItem(mine, 0.6, "(defun c:MYCIRC () (princ))" if with_code else None),
    ]


def test_prompt_carries_context_history_and_the_lisp_instruction():
    prompt = build_prompt(
        "画同心圆", [Turn("user", "你好"), Turn("assistant", "你好！")], "lisp", _items(True)
    )
    roles = [m["role"] for m in prompt.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "AutoLISP" in prompt.messages[0]["content"] and "defun c:" in prompt.messages[0]["content"]
    last = prompt.messages[-1]["content"]
    assert "CIRCLE" in last and "(defun c:MYCIRC" in last and last.endswith("用户需求：画同心圆")
    assert "此前的对话" in prompt.text and "CIRCLE" in prompt.text  # the Bailian form
    assert _items()[0].reference()["source"] == "basic.txt"  # file name, never a server path


def test_offline_answer_lists_commands_and_the_stored_code():
    prompt = build_prompt("画同心圆", [], "lisp", _items(True))
    text = offline_answer(prompt)
    assert text.startswith(OFFLINE_MARK)
    assert "CIRCLE" in text and "别名 C" in text
    assert extract_lisp(text).command == "c:MYCIRC"
    empty = offline_answer(build_prompt("xyz", [], "answer", []))
    assert "没有找到" in empty and extract_lisp(empty) is None


# --- guards --------------------------------------------------------------------------------------


def test_breaker_opens_after_failures_probes_once_and_closes():
    clock = Clock()
    states = []
    breaker = CircuitBreaker(3, 10.0, clock=clock, on_change=states.append)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_after() == pytest.approx(10.0)
    clock.now += 10
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_failure()  # the probe failed: open again
    assert breaker.state == "open"
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()
    assert states == ["open", "half_open", "open", "half_open", "closed"]


def test_slots_never_queue():
    slots = Slots(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire()
    slots.release()
    assert slots.try_acquire() and slots.in_use == 2


def test_rate_limiter_buckets_per_client_and_forgets_old_ones():
    clock = Clock()
    limiter = RateLimiter(60, 2, max_clients=2, clock=clock)
    assert limiter.check("a") == 0 and limiter.check("a") == 0
    assert limiter.check("a") == pytest.approx(1.0)  # 1 a second
    assert limiter.check("b") == 0
    clock.now += 1.0
    assert limiter.check("a") == 0
    limiter.check("c")
    assert len(limiter._buckets) == 2
    assert RateLimiter(0, 1).check("x") == 0  # off


def test_client_address_trusts_forwarded_for_only_from_the_local_proxy():
    trusted = ("127.0.0.1", "::1")
    assert client_address("127.0.0.1", "1.2.3.4, 10.0.0.9", trusted) == "10.0.0.9"
    assert client_address("10.1.1.1", "1.2.3.4", trusted) == "10.1.1.1"  # spoofed header ignored
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address(None, None, trusted) == "unknown"


def test_ttl_cache_expires_and_evicts_least_recent():
    clock = Clock()
    cache: TTLCache[int] = TTLCache(2, 5.0, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") == 1
    clock.now += 6
    assert cache.get("a") is None and len(cache) == 1
    off: TTLCache[int] = TTLCache(0, 5.0)
    off.put("a", 1)
    assert off.get("a") is None


def test_budget_rolls_over_at_midnight_and_persists(tmp_path):
    day = ["2026-01-01"]
    path = tmp_path / "state" / "budget.json"
    budget = TokenBudget(100, path, today=lambda: day[0])
    budget.spend(60)
    assert budget.remaining == 40 and not budget.exhausted
    budget.spend(50)
    assert budget.exhausted and budget.remaining == 0
    budget.save()
    again = TokenBudget(100, path, today=lambda: day[0])
    again.load()
    assert again.spent == 110 and again.exhausted
    day[0] = "2026-01-02"
    assert again.remaining == 100 and not again.exhausted
    assert TokenBudget(0).remaining is None and not TokenBudget(0).exhausted


def test_backoff_is_jittered_capped_and_honours_retry_after():
    delays = {backoff_delay(3, 0.5) for _ in range(50)}
    assert len(delays) > 1 and all(0 <= d <= 4.0 for d in delays)
    assert backoff_delay(0, 0.5, retry_after=2.0) >= 2.0
    assert backoff_delay(0, 0.5, retry_after=60.0, cap=8.0) == 8.0


# --- request parsing -----------------------------------------------------------------------------


def test_parse_request_reads_mode_stream_history_and_accept():
    request = parse_request(
        {"message": " 画圆 ", "mode": "answer", "history": [{"role": "user", "content": "hi"}]},
        accept="text/event-stream",
    )
    assert (request.message, request.mode, request.stream) == ("画圆", "answer", True)
    assert request.history == (Turn("user", "hi"),)
    assert parse_request({"message": "x", "stream": False}, accept="text/event-stream").stream is False
    assert parse_request({"requirement": "x"}).mode == "lisp"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": "x", "mode": "poem"},
        {"message": "x", "stream": "yes"},
        {"message": "x", "history": "hi"},
        {"message": "x", "history": [{"role": "system", "content": "x"}]},
        {"message": "x", "history": [{"role": "user", "content": 1}]},
    ],
)
def test_parse_request_rejects_bad_input(body):
    with pytest.raises(InvalidInput):
        parse_request(body)
