"""Checking the AutoLISP of an answer, and the one repair round asked of the model.

`check_answer` finds and checks the code of an answer (`cadchat.autolisp`); when it has errors,
`repair_prompt` continues the conversation with the answer and the checker's findings, asking for
the corrected code only. `better` picks what the user gets: the repaired code only when it has
fewer errors than the original.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from cadchat.autolisp.extract import LispCode, extract_lisp
from cadchat.chat.model import Prompt, Turn

MAX_PROBLEMS_SHOWN = 20


def check_answer(text: str, known_commands: Collection[str]) -> LispCode | None:
    """The checked AutoLISP of an answer, or None when it carries no code (linear in `text`)."""
    return extract_lisp(text, tuple(known_commands))


def repair_request(code: LispCode) -> str:
    """The user turn that asks for the repair: every error with its position, both languages."""
    lines = ["上面代码经 AutoLISP 静态检查，发现以下错误（The checker found these errors）："]
    for problem in code.report.errors[:MAX_PROBLEMS_SHOWN]:
        lines.append(
            f"- 第 {problem.line} 行第 {problem.column} 列 [{problem.code}]：{problem.message_zh}"
            f"（{problem.message}）"
        )
    lines.append(
        "请只修正这些错误，保持程序的功能和命令名不变；输出修正后的完整程序，"
        "只用一个 ```lisp 代码块，不要其它说明。"
    )
    return "\n".join(lines)


def repair_prompt(prompt: Prompt, answer: str, code: LispCode) -> Prompt:
    """The original conversation, the model's answer, then the repair request."""
    ask = repair_request(code)
    return Prompt(
        mode=prompt.mode,
        system=prompt.system,
        messages=(
            *prompt.messages,
            {"role": "assistant", "content": answer},
            {"role": "user", "content": ask},
        ),
        context=prompt.context,
        question=ask,
        history=(*prompt.history, Turn("user", prompt.question), Turn("assistant", answer)),
    )


def better(original: LispCode, repaired: LispCode | None) -> bool:
    """True when the repaired code should replace the original: strictly fewer errors."""
    return repaired is not None and len(repaired.report.errors) < len(original.report.errors)


def payload(code: LispCode | None, **extra: Any) -> dict[str, Any] | None:
    """The answer's `lisp` object: the code, its commands, the checker's problems, and `extra`
    (`repaired`, and `original_problems` when the repair replaced the code)."""
    if code is None:
        return None
    return {**code.as_dict(), "repaired": False, **extra}
