"""AutoLISP reader/checker throughput, and how long extracting the code of an answer blocks the
event loop on inputs of the kinds that were quadratic.

    .venv/bin/python benchmarks/lisp_bench.py [--sizes 64,256,1024] [--repeat 3]

1. reader and checker throughput (MB/s) on the correct-program corpus (tests/data/autolisp/good)
   concatenated to each size in KB; equal MB/s across sizes means linear time;
2. for each extraction case, the work (ms of CPU) and the longest event-loop stall (ms) while
   the service's answer step runs: a ticker task measures the loop's lag every millisecond.
   Cases: the field case (an unfenced answer cut off at max_tokens, 7 KB), the same shape at
   70 KB, and an offline answer inlining a 5 KB stored code that begins with a fence and holds
   an unbalanced `(defun c:`.

Runs against whatever `cadchat` is importable, so the same script measures an older checkout:
`PYTHONPATH=/path/to/old/service .venv/bin/python benchmarks/lisp_bench.py --extraction-only
--no-long-case`
(there the answer step is `extract_lisp` on the loop; now it is `repair.check_answer` in a thread).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from cadchat.chat.lisp import extract_lisp
from cadchat.chat.model import ContextItem
from cadchat.chat.prompt import build_prompt, offline_answer
from cadchat.library.model import Command

ROOT = Path(__file__).resolve().parent.parent
FIELD = Path("/work/shared/field-cases/F12-unfenced-truncated-reply.txt")


def truncated_reply(lines: int) -> str:
    body = "".join(f'  (setq p{i} (getpoint "\\n第{i}点: "))\n' for i in range(lines))
    return (
        "下面是程序（未用代码块，回答在 max_tokens 处被截断）：\n(defun c:LONGJOB (/ ss i)\n"
        + body
        + "  (setq p"
    )


def offline_with_stored_code(size: int) -> str:
    lines, i = ["```", "(defun c:BIGJOB (/ a)"], 0
    while sum(len(x) + 1 for x in lines) < size:
        lines.append(f'  (setq v{i} (getpoint "\\n点 {i}: "))')
        i += 1
    command = Command("BIGJOB", "批量取点", type="user_program", id=1)
    prompt = build_prompt("批量取点", (), "lisp", [ContextItem(command, 0.9, "\n".join(lines))])
    return offline_answer(prompt)


def corpus_text() -> str:
    from cadchat.cli import read_lisp_file

    return "\n".join(read_lisp_file(p)[0] for p in sorted((ROOT / "tests/data/autolisp/good").glob("*.lsp")))


def throughput(sizes_kb: list[int], repeat: int) -> None:
    from cadchat.autolisp.checker import check
    from cadchat.autolisp.reader import read

    base = corpus_text()
    print("size KB | read MB/s | check MB/s | read ms | check ms")
    for kb in sizes_kb:
        text = (base * (kb * 1024 // len(base) + 1))[: kb * 1024]
        text = text[: text.rfind("\n(defun")]  # end between programs
        mb = len(text.encode()) / 1e6
        best_read = min(_timed(lambda t=text: read(t)) for _ in range(repeat))
        best_check = min(_timed(lambda t=text: check(t)) for _ in range(repeat))
        rates = f"{mb / best_read:9.2f} | {mb / best_check:10.2f}"
        print(f"{kb:7d} | {rates} | {best_read * 1000:7.1f} | {best_check * 1000:8.1f}")


def calibrate() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    return time.perf_counter() - started


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def stall_while(step) -> float:
    """Longest gap (s) between 1 ms ticks of the loop while `step()` runs."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    await step()
    done.set()
    await task
    return worst


async def extraction(repeat: int, long_case: bool) -> None:
    try:
        from cadchat.chat import repair  # the answer step of this checkout: off the loop

        async def answer_step(text: str) -> None:
            await asyncio.to_thread(repair.check_answer, text, ())

        where = "check_answer in a worker thread"
    except ImportError:

        async def answer_step(text: str) -> None:
            extract_lisp(text)  # the older checkout: on the loop

        where = "extract_lisp on the event loop"
    cases = {
        "unfenced, cut off (field case)": FIELD.read_text(encoding="utf-8")
        if FIELD.is_file()
        else truncated_reply(180),
        "offline answer, 5 KB stored code with fence + unbalanced defun": offline_with_stored_code(5 * 1024),
    }
    if long_case:
        cases["unfenced, cut off, 70 KB"] = truncated_reply(1800)
    print(f"\nanswer step: {where}")
    print("case | chars | extract ms (CPU) | loop stall ms")
    for name, text in cases.items():
        work = min(_timed(lambda t=text: extract_lisp(t)) for _ in range(repeat))
        stall = min([await stall_while(lambda t=text: answer_step(t)) for _ in range(repeat)])
        print(f"{name} | {len(text)} | {work * 1000:.1f} | {stall * 1000:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,256,1024", help="corpus sizes in KB for throughput")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extraction-only", action="store_true", help="skip throughput (older checkouts)")
    parser.add_argument("--no-long-case", action="store_true", help="skip the 70 KB case (quadratic before)")
    args = parser.parse_args()
    print(f"machine speed: 1,000,000 Python additions in {calibrate() * 1000:.0f} ms (quiet: ~40 ms)")
    if not args.extraction_only:
        throughput([int(s) for s in args.sizes.split(",")], args.repeat)
    asyncio.run(extraction(args.repeat, not args.no_long_case))


if __name__ == "__main__":
    main()
