"""Finding the AutoLISP in answers: fences, bare code, the cases the old scanners got wrong, and
inputs of the kind that made them quadratic (an unfenced answer cut off at the token limit; a
stored code holding a fence and an unbalanced defun, inlined into an offline answer)."""

from __future__ import annotations

from pathlib import Path

from cadchat.autolisp.extract import extract_code_blocks, extract_lisp
from cadchat.chat.prompt import MAX_CODE_CHARS

FIELD = Path("/work/shared/field-cases/F12-unfenced-truncated-reply.txt")


def truncated_reply(lines: int) -> str:
    """An unfenced answer cut off at max_tokens inside a long defun."""
    body = "".join(f'  (setq p{i} (getpoint "\\n第{i}点: "))\n' for i in range(lines))
    return "下面是程序（未用代码块）：\n(defun c:LONGJOB (/ ss i)\n" + body + "  (setq p"


def test_block_commented_old_defun_is_not_the_command():
    text = "```lisp\n;| 旧版：\n(defun c:OLD (/ a\n  (princ\n|;\n(defun c:NEW () (princ))\n```"
    code = extract_lisp(text)
    assert code is not None and code.commands == ("c:NEW",) and code.balanced and code.ok


def test_upper_case_defun_is_a_command():
    code = extract_lisp("说明：\n```LISP\n(DEFUN C:UPPER (/ A)\n  (SETQ A 1)\n  (PRINC)\n)\n```\n输入 UPPER")
    assert code is not None and code.command == "c:UPPER" and code.ok


def test_unfenced_code_cut_off_at_the_token_limit():
    text = truncated_reply(200)
    code = extract_lisp(text)
    assert code is not None and code.command == "c:LONGJOB" and not code.balanced
    assert code.code.startswith("(defun c:LONGJOB") and code.code.endswith("(setq p")
    assert [p.code for p in code.report.errors] == ["unclosed-paren"]


def test_the_field_reply_and_a_much_longer_one_are_read_in_one_pass():
    # 30x the field case: the old scanner re-scanned the prefix for every character (hours here)
    for text in ([FIELD.read_text(encoding="utf-8")] if FIELD.is_file() else []) + [truncated_reply(6000)]:
        code = extract_lisp(text)
        assert code is not None and code.command == "c:LONGJOB" and not code.balanced


def test_bare_code_stops_at_prose_and_fences_need_a_matching_close():
    code = extract_lisp("试试 (defun c:A () (princ)) (defun b () 1) 然后输入 A。")
    assert code is not None and code.code == "(defun c:A () (princ)) (defun b () 1)"
    blocks = extract_code_blocks("````lisp\n```\n(princ)\n````\ntext\n```python\nx\n")
    assert [(b.tag, b.code, b.closed) for b in blocks] == [
        ("lisp", "```\n(princ)\n", True),
        ("python", "x\n", False),
    ]


def test_fenced_lisp_block_wins_over_bare_code_and_other_languages():
    text = "```python\n(defun c:NO)\n```\n```\n(setq a 1)\n```\n```lisp\n(defun c:YES () (princ))\n```"
    code = extract_lisp(text)
    assert code is not None and code.command == "c:YES"


async def test_offline_answer_inlines_at_most_the_context_limit_of_a_stored_code(client):
    lines = "".join(f'  (setq v{i} (getpoint "\\n点 {i}: "))\n' for i in range(150))
    stored = "```\n(defun c:BIGJOB (/ a)\n" + lines  # a fence, then a defun never closed
    assert len(stored) > MAX_CODE_CHARS
    saved = await client.post(
        "/api/user_codes/save", json={"code": stored, "command": "BIGJOB", "description": "批量取点 大程序"}
    )
    assert saved.status == 200
    answer = await (await client.post("/api/chat", json={"message": "批量取点"})).json()
    assert answer["offline"] and len(answer["text"]) < MAX_CODE_CHARS + 2000
    lisp = answer["lisp"]
    assert lisp["command"] == "c:BIGJOB" and stored.startswith(lisp["code"]) and not lisp["balanced"]
    assert len(lisp["code"]) <= MAX_CODE_CHARS
