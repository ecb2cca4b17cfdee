"""Chat checks the AutoLISP it returns and asks the model once to repair code with errors, end to
end through the real SDK against the fake gateway's replies with typical model mistakes."""

from __future__ import annotations

import pytest
from cadchat.keys import METRICS
from fake_dashscope import FIXED, FIXED_CODE, MISTAKES
from sse import parse_sse


async def chat(client, **body):
    response = await client.post("/api/chat", json={"message": "画一个圆并标注半径", "cache": False, **body})
    assert response.status == 200, await response.text()
    return await response.json()


def metric(client, name: str, labels: dict[str, str] | None = None) -> float:
    return client.app[METRICS].registry.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.parametrize(
    "mistake, code",
    [("let", "common-lisp"), ("unbalanced", "unclosed-paren"), ("typo", "misspelled-builtin")],
)
async def test_code_with_errors_is_repaired_once(chat_client, fake, mistake, code):
    client = await chat_client()
    fake.say(MISTAKES[mistake], FIXED)
    answer = await chat(client)
    lisp = answer["lisp"]
    assert lisp["repaired"] is True and lisp["ok"] is True and lisp["problems"] == []
    assert lisp["code"] == FIXED_CODE and lisp["command"] == "c:QCIRCLE"
    assert code in {p["code"] for p in lisp["original_problems"]}
    assert FIXED_CODE in answer["text"]  # the answer's text carries the repaired code
    assert fake.hits("generation") == 2
    repair_messages = fake.requests[-1]["body"]["input"]["messages"]
    assert [m["role"] for m in repair_messages][-3:] == ["user", "assistant", "user"]
    assert repair_messages[-2]["content"] == MISTAKES[mistake]
    assert f"[{code}]" in repair_messages[-1]["content"]
    # both calls count: in the answer's usage and in the day's budget
    assert answer["usage"]["output_tokens"] == 2 * fake.tokens
    service_spent = client.app[METRICS].registry.get_sample_value(
        "cadchat_chat_tokens_total", {"provider": "dashscope", "kind": "output"}
    )
    assert service_spent == 2 * fake.tokens
    assert metric(client, "cadchat_chat_lisp_checked_total") == 1
    assert metric(client, "cadchat_chat_lisp_errors_total") == 1
    assert metric(client, "cadchat_chat_lisp_repairs_total", {"result": "tried"}) == 1
    assert metric(client, "cadchat_chat_lisp_repairs_total", {"result": "succeeded"}) == 1


async def test_a_repair_that_is_no_better_keeps_the_original(chat_client, fake):
    client = await chat_client()
    fake.say(MISTAKES["activex"], MISTAKES["typo"] + MISTAKES["activex"])
    answer = await chat(client)
    lisp = answer["lisp"]
    assert lisp["repaired"] is False and lisp["ok"] is False
    assert [p["code"] for p in lisp["problems"] if p["severity"] == "error"] == ["missing-vl-load-com"]
    assert answer["text"] == MISTAKES["activex"] and fake.hits("generation") == 2
    assert metric(client, "cadchat_chat_lisp_repairs_total", {"result": "tried"}) == 1
    assert metric(client, "cadchat_chat_lisp_repairs_total", {"result": "succeeded"}) == 0


async def test_correct_code_is_not_sent_back(chat_client, fake):
    client = await chat_client()
    answer = await chat(client)
    assert answer["lisp"]["ok"] is True and answer["lisp"]["repaired"] is False
    assert fake.hits("generation") == 1
    assert metric(client, "cadchat_chat_lisp_checked_total") == 1
    assert metric(client, "cadchat_chat_lisp_errors_total") == 0


async def test_repair_can_be_switched_off(chat_client, fake):
    client = await chat_client(chat_lisp_repair=False)
    fake.say(MISTAKES["typo"])
    answer = await chat(client)
    assert answer["lisp"]["ok"] is False and answer["lisp"]["repaired"] is False
    assert fake.hits("generation") == 1


async def test_a_failed_repair_round_answers_the_original(chat_client, fake):
    client = await chat_client(chat_lisp_repair_timeout=0.3)
    fake.say(MISTAKES["typo"])
    answer_now = fake._answer

    async def answer_then_hang(*args, **kwargs):
        response = await answer_now(*args, **kwargs)
        fake.latency = 30.0  # the repair call hangs past its own timeout
        return response

    fake._answer = answer_then_hang
    answer = await chat(client)
    assert answer["lisp"]["repaired"] is False and answer["lisp"]["repair_failed"] == "timeout"
    assert answer["text"] == MISTAKES["typo"] and not answer["degraded"]
    assert metric(client, "cadchat_chat_lisp_repairs_total", {"result": "tried"}) == 1


async def test_stream_sends_the_repair_as_a_last_lisp_event(chat_client, fake):
    client = await chat_client()
    fake.say(MISTAKES["unbalanced"], FIXED)
    response = await client.post("/api/chat", json={"message": "画一个圆", "stream": True})
    events = parse_sse(await response.text())
    names = [name for name, _ in events]
    assert names[-2:] == ["final", "lisp"] and "delta" in names
    final, last = events[-2][1], events[-1][1]
    assert final["lisp"]["ok"] is False and final["lisp"]["repair_pending"] is True
    assert final["text"] == MISTAKES["unbalanced"]
    assert last["request_id"] == final["request_id"]
    assert last["lisp"]["repaired"] is True and last["lisp"]["code"] == FIXED_CODE
    assert last["usage"]["output_tokens"] > 0


async def test_old_defun_in_a_block_comment_and_upper_case_defun(chat_client, fake):
    client = await chat_client()
    fake.say(MISTAKES["block_comment_upper"])
    answer = await chat(client)
    lisp = answer["lisp"]
    assert lisp["commands"] == ["c:QCIRCLE"] and lisp["balanced"] and lisp["ok"]
    assert fake.hits("generation") == 1
