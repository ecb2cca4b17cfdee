"""Prompts for the model, and the offline answer, both built from the retrieved context."""

from __future__ import annotations

import re
from collections.abc import Sequence

from cadchat.chat.model import ContextItem, Prompt, Turn

_BACKTICKS = re.compile(r"`{3,}")
MAX_CODE_CHARS = 4000  # one user program's code in the context
MAX_CONTEXT_CHARS = 12000
OFFLINE_MARK = "【离线模式：未调用大模型，以下内容来自命令库检索】"

SYSTEM = (
    "你是 CADChat，精通 AutoCAD / ZWCAD 命令和 AutoLISP 的助手。回答用户的绘图或自动化需求时，"
    "优先使用下面“命令库参考”里列出的命令和用户已有程序；不要编造不存在的命令。"
)
INSTRUCTIONS = {
    "lisp": (
        "请先用几句中文说明思路和要用到的命令，然后给出且只给出一个完整、可直接加载运行的 AutoLISP 代码块"
        "（用 ```lisp 包围），用 (defun c:命令名 ...) 定义一个新命令，局部变量写在 / 之后，以 (princ) 结尾；"
        "最后一句说明加载后输入什么命令运行。"
    ),
    "answer": (
        "请用中文解释如何完成这个需求：要用哪些命令、按什么步骤操作。"
        "如果用一个 AutoLISP 程序能明显省事，再附上一个完整的代码块"
        "（用 ```lisp 包围，用 (defun c:命令名 ...) 定义）。"
    ),
}


def _how_to_run(item: ContextItem) -> str:
    command = item.command
    if command.type == "lisp" and item.code:
        name = command.name
        return f"加载随附的 LISP 源代码 {command.file}（服务器 /api/lisp/{name} 可取）后输入 {name}"
    if command.type == "lisp" and command.file:
        return f'先加载 {command.file}（(load "{command.file}")），再输入 {command.name}'
    if command.type == "user_program":
        return f"加载你保存的程序后输入 {command.name}"
    alias = f"（别名 {command.alias}）" if command.aliases else ""
    return f"在命令行输入 {command.name}{alias}"


def fenced_lisp(code: str) -> str:
    """Code as a ```lisp block whose fence is longer than any run of backticks inside it, so a
    stored code that itself holds a fence cannot end the block early."""
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}lisp\n{code.rstrip()}\n{fence}"


def context_block(items: Sequence[ContextItem]) -> str:
    """The retrieved commands and user programs as a numbered list, codes as fenced blocks."""
    lines = ["命令库参考（按相关度排序）："]
    used = 0
    for number, item in enumerate(items, start=1):
        c = item.command
        kind = {"basic": "基础命令", "lisp": "LISP 扩展", "user_program": "用户程序"}.get(c.type, c.type)
        lines.append(
            f"{number}. {c.name} [{kind}，相关度 {item.similarity:.2f}]：{c.description}；"
            f"运行：{_how_to_run(item)}"
        )
        if item.code and c.type == "lisp" and len(item.code) > MAX_CODE_CHARS:
            # a bundled tool is complete or absent: a cut program would be copied cut
            lines.append(f"   {c.name} 的源代码较长（{len(item.code)} 字符），未列出；它可直接加载运行。")
        elif item.code and used < MAX_CONTEXT_CHARS:
            code = item.code[:MAX_CODE_CHARS]
            used += len(code)
            lines.append(f"   {c.name} 的代码：\n{fenced_lisp(code)}")
    if not items:
        lines.append("（命令库中没有找到相关命令）")
    return "\n".join(lines)


def build_prompt(message: str, history: Sequence[Turn], mode: str, items: Sequence[ContextItem]) -> Prompt:
    system = SYSTEM + "\n" + INSTRUCTIONS[mode]
    user = f"{context_block(items)}\n\n用户需求：{message}"
    messages = [{"role": "system", "content": system}]
    messages += [{"role": t.role, "content": t.content} for t in history]
    messages.append({"role": "user", "content": user})
    return Prompt(
        mode=mode,
        system=system,
        messages=tuple(messages),
        context=tuple(items),
        question=message,
        history=tuple(history),
    )


def app_prompt(prompt: Prompt) -> str:
    """The prompt as one string, for Bailian apps (the app holds its own system prompt): the
    instructions, the retrieved context, prior turns inline, then the question."""
    past = "\n".join(f"{'用户' if t.role == 'user' else '助手'}：{t.content}" for t in prompt.history)
    return "\n\n".join(
        part
        for part in (
            INSTRUCTIONS[prompt.mode],
            context_block(prompt.context),
            past and "此前的对话：\n" + past,
            f"用户需求：{prompt.question}",
        )
        if part
    )


def offline_answer(prompt: Prompt, *, reason: str = "") -> str:
    """A deterministic answer from retrieval alone: the best commands with how to run them, and
    the code of the best match that has some (a user program, or a bundled LISP tool)."""
    items = prompt.context
    head = OFFLINE_MARK + (f"（{reason}）" if reason else "")
    if not items:
        return (
            f"{head}\n命令库里没有找到与“{prompt.question}”相关的命令。"
            "请换一种说法描述要完成的操作，例如“修剪多余的线”“画一个半径 50 的圆”，"
            "或直接输入命令名（如 TRIM）。"
        )
    lines = [head, f"与“{prompt.question}”最相关的命令："]
    for number, item in enumerate(items[:5], start=1):
        c = item.command
        lines.append(
            f"{number}. {c.name}：{c.description}（相关度 {item.similarity:.2f}）。"
            f"运行：{_how_to_run(item)}。"
        )
    with_code = next((i for i in items if i.code), None)
    if with_code is not None:
        c = with_code.command
        code = with_code.code
        if c.type == "lisp":
            lines.append(f"\n命令库自带的 LISP 工具 {c.name}（{c.file}）与需求匹配，源代码如下：")
        else:
            lines.append(f"\n你保存的程序 {c.name} 与需求匹配，代码如下：")
        if c.type == "user_program" and len(code) > MAX_CODE_CHARS:
            # a user's stored code: the answer shows what the context may hold, no more
            code = code[:MAX_CODE_CHARS]
            lines.append(f"（代码较长，这里只显示前 {MAX_CODE_CHARS} 个字符；完整代码在“我的代码”中。）")
        lines.append(fenced_lisp(code))
        lines.append(f"加载后在命令行输入 {with_code.command.name} 运行。")
    elif prompt.mode == "lisp":
        lines.append("\n离线模式不生成新的 AutoLISP 代码；配置 DashScope 后可以得到按需求编写的程序。")
    return "\n".join(lines)
