"""Backup benchmark: archive a store of `--codes` user codes, verify the archive, restore it.

    .venv/bin/python benchmarks/backup_bench.py [--codes 10000] [--repeat 3]

The store is written in the service's own on-disk format (records and .lsp files of ~1 KB
multi-line Chinese/CRLF routines, as in user_codes_bench.py, plus ids.json and two command
files). Timings are wall clock and CPU time of the `cadchat` CLI as an operator runs it (process
start included), best of `--repeat`; the page cache is warm (the store was just written), as it is for
a nightly run on a server that reads its store at start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchstore import write_codes
from cadchat.usercodes.disk import dump_json


def make_store(data: Path, count: int) -> int:
    codes = write_codes(data / "user_codes", count, stamp="2026-01-01T00:00:00+00:00")
    total = sum(len(dump_json(c.to_record())) + len(c.code.encode("utf-8")) for c in codes)
    (data / "user_codes" / "ids.json").write_bytes(dump_json({"highest_id": count}))
    (data / "command_files").mkdir()
    for name in ("tools.txt", "layers.txt"):
        lines = "".join(f"TOOL{k}|工具 {k} tool|T{k}|||basic\n" for k in range(500))
        (data / "command_files" / name).write_text(lines, encoding="utf-8")
    os.sync()
    return total


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one CLI run, seconds."""
    env = {**os.environ, "CADCHAT_ENV_FILE": "/dev/null"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def show(label: str, runs: list[tuple[float, float]]) -> None:
    wall, cpu = min(runs)
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU (best of {len(runs)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "cadchat"]
    with tempfile.TemporaryDirectory(prefix="cadchat-backup-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        raw = make_store(data, args.codes)
        archive = root / "backup.tar.gz"
        startup = [timed([*cli, "--version"]) for _ in range(args.repeat)]
        print(f"store: {args.codes} codes, {raw / 1e6:.1f} MB of records + .lsp files", flush=True)
        show("cadchat --version (process start, for reference)", startup)
        backups, verifies, restores = [], [], []
        for _ in range(args.repeat):
            archive.unlink(missing_ok=True)
            backups.append(timed([*cli, "backup", "--data-dir", str(data), "--output", str(archive)]))
            verifies.append(timed([*cli, "verify-backup", str(archive)]))
            target = root / "restored"
            shutil.rmtree(target, ignore_errors=True)
            restores.append(timed([*cli, "restore", "--data-dir", str(target), "--input", str(archive)]))
        size = archive.stat().st_size
        show("cadchat backup (reads the records, writes, fsyncs and verifies the archive)", backups)
        print(f"archive: {size / 1e6:.2f} MB ({size / args.codes:.0f} bytes a code)")
        show("cadchat verify-backup", verifies)
        show("cadchat restore (verifies, writes and fsyncs every file, renames into place)", restores)


if __name__ == "__main__":
    main()
