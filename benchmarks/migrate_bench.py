"""`cadchat migrate-store` on a large file store, into a throwaway PostgreSQL (fsync on).

    .venv/bin/python benchmarks/migrate_bench.py [--codes 10000]

1. writes a file store of `--codes` codes (~1 KB each, CRLF, Chinese; every 10th with usage
   counts) straight as records, plus library usage counts;
2. runs the real CLI, `cadchat migrate-store --from files --to URL`: wall and CPU time (process
   start included) and its summary line (whose own time excludes the start);
3. runs it again (idempotent: nothing moves, everything is verified again): wall time;
4. checks in the database itself: live rows, SHA-256 of every code against the files, the id
   sequence's position.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchstore import write_codes
from pgcluster import running_cluster
from serverproc import clean_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from cadchat.usercodes.disk import dump_json
from cadchat.usercodes.popularity import LIBRARY_USAGE_FILE, Counts, dump_library_usage


def write_store(directory: Path, count: int) -> dict[int, str]:
    """The file store (every 10th code with usage counts) plus library usage counts; returns
    each code's SHA-256 by id."""
    codes = write_codes(directory, count, stamp="2026-11-29T10:00:00+00:00", counted_every=10)
    digests = {c.id: hashlib.sha256(c.code.encode("utf-8")).hexdigest() for c in codes}
    usage = {f"CMD{k}": Counts(k + 1, k, "2026-11-29T10:00:00+00:00") for k in range(50)}
    (directory / LIBRARY_USAGE_FILE).write_bytes(dump_json(dump_library_usage(usage)))
    return digests


def run_migration(data_dir: Path, url: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the cadchat process, its summary line)."""
    cadchat = Path(sys.executable).with_name("cadchat")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [str(cadchat), "migrate-store", "--from", "files", "--data-dir", str(data_dir), "--to", url],
        capture_output=True,
        text=True,
        env=clean_env({"CADCHAT_ENV_FILE": os.devnull}),
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if done.returncode:
        raise SystemExit(f"migrate-store failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, cpu, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=10_000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="cadchat-migrate-") as tmp,
        running_cluster(durable=True) as cluster,
    ):
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        digests = write_store(data_dir / "user_codes", args.codes)
        print(f"file store: {args.codes} codes written in {time.perf_counter() - started:.1f} s")
        url = cluster.url(cluster.create_database("migrate_bench"))

        print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared)")
        first, cpu, summary = run_migration(data_dir, url)
        print(
            f"first run: {first:.2f} s wall, {cpu:.2f} s CPU ({args.codes / first:.0f} codes/s)\n  {summary}"
        )
        second, cpu, summary = run_migration(data_dir, url)
        print(f"second run (idempotent): {second:.2f} s wall, {cpu:.2f} s CPU\n  {summary}")

        rows = cluster.psql(
            "SELECT id || ' ' || encode(sha256(convert_to(code, 'UTF8')), 'hex')"
            " FROM user_codes WHERE NOT deleted",
            database="migrate_bench",
        ).splitlines()
        held = dict(line.split(" ") for line in rows)
        matching = sum(1 for i, digest in digests.items() if held.get(str(i)) == digest)
        counted = cluster.psql(
            "SELECT (SELECT count(*) FROM user_codes WHERE NOT deleted)"
            " || ' ' || (SELECT last_value FROM user_code_ids)"
            " || ' ' || (SELECT count(*) FROM library_usage)",
            database="migrate_bench",
        )
        live, last_id, usage = counted.split()
        print(
            f"database: {live} live rows, {matching} of {args.codes} SHA-256 equal to "
            f"the files (checked by psql), id sequence at {last_id}, {usage} library usage rows"
        )
        if matching != args.codes or int(live) != args.codes:
            raise SystemExit("verification FAILED")


if __name__ == "__main__":
    main()
