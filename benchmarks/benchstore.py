"""A file store of N user codes written straight in the service's on-disk format (records and
.lsp files, without the store's per-file fsyncs: benchmarks measure what reads the store, not
its set-up). Each code is a ~1 KB multi-line Chinese/CRLF routine, as in user_codes_bench.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from cadchat.usercodes.disk import dump_json
from cadchat.usercodes.model import UserCode, record_filename


def code_text(i: int) -> str:
    lines = [f'  (princ "第{i}号程序 第{k}行 drawing helper")' for k in range(16)]
    return f"(defun c:BENCH{i} (/ p)\r\n" + "\r\n".join(lines) + "\r\n  (princ)\r\n)\r\n"


def write_codes(directory: Path, count: int, *, stamp: str, counted_every: int = 0) -> list[UserCode]:
    """Codes 1..count into `directory` (created); every `counted_every`-th one (0: none) with
    usage 3 and success 2. Returns the codes written, in id order."""
    directory.mkdir(parents=True)
    written = []
    for i in range(1, count + 1):
        counted = counted_every and i % counted_every == 0
        code = UserCode(
            id=i,
            command=f"BENCH{i}",
            description=f"基准测试程序 {i}",
            code=code_text(i),
            tags=("bench",),
            created_at=stamp,
            updated_at=stamp,
            usage_count=3 if counted else 0,
            success_count=2 if counted else 0,
        )
        (directory / record_filename(i)).write_bytes(dump_json(code.to_record()))
        (directory / code.filename).write_bytes(code.code.encode("utf-8"))
        written.append(code)
    return written
