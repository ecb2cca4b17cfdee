"""`cadchat backup | restore | verify-backup`: byte-identical round trips, damaged and foreign
archives refused with one line, restore only into an empty directory, and a backup taken from a
real server while it keeps saving."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import aiohttp
import pytest
from cadchat import backup as bk
from cadchat.app import create_app
from cadchat.cli import main
from cadchat.keys import CATALOG
from cadchat.usercodes.model import Limits
from cadchat.usercodes.store import UserCodeStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from serverproc import running_server

CRLF_CODE = '(defun c:RING (/ p)\r\n  (setq p (getpoint "\\n圆心: "))\r\n  (command "_.CIRCLE" p 10)\r\n)\r\n'
LF_CODE = '(defun c:LAYERS ()\n  (princ "图层 | layers")\n  (princ))'
LIBRARY = "LINE|直线：绘制直线段 line|L|||basic\nCIRCLE|圆：画圆 circle|C|||basic\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file under `root`, by relative path, without the server's lock file."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture
async def populated(aiohttp_client, make_settings, small_library, tmp_path):
    """A data directory written by the real app: CRLF and LF codes, a deletion (ids.json), a
    library feedback count (library-usage.json), a legacy import (legacy-imports.json), and
    operator command files (one GBK-encoded, one with CRLF)."""
    data = tmp_path / "data"
    legacy_dir = data / "user_codes"
    legacy_dir.mkdir(parents=True)
    (legacy_dir / "user_codes.txt").write_text(
        "1|OLDCMD|旧命令 old||(defun c:OLDCMD () (princ))\n", encoding="utf-8"
    )
    files = data / "command_files"
    files.mkdir()
    (files / "mine.txt").write_bytes("MYLINE|我的直线 my line|ML|||basic\r\n".encode())
    (files / "gbk.txt").write_bytes("MYARC|我的圆弧 my arc|MA|||basic\n".encode("gb18030"))
    settings = make_settings(library_paths=(small_library,), watch=False)
    cli = await aiohttp_client(create_app(settings))
    ids = []
    for command, code in (("RING", CRLF_CODE), ("LAYERS", LF_CODE), ("GONE", "(defun c:GONE () (princ))")):
        resp = await cli.post(
            "/api/user_codes/save", json={"code": code, "command": command, "description": "测试"}
        )
        assert resp.status == 200, await resp.text()
        ids.append((await resp.json())["code_id"])
    assert (await cli.delete(f"/api/user_codes/delete/{ids[2]}")).status == 200
    library = cli.app[CATALOG].library.by_key["CIRCLE"]
    feedback = await cli.post("/api/feedback", json={"code_id": library.id, "success": True})
    assert feedback.status == 200, await feedback.text()
    await cli.close()
    names = set(os.listdir(legacy_dir))
    assert {"ids.json", "library-usage.json", "legacy-imports.json"} <= names
    return data


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def store_content(data: Path) -> dict[str, bytes]:
    """What a backup promises to keep: the store's files and the command libraries."""
    kept = {}
    for name, raw in tree(data).items():
        parts = Path(name).parts
        if parts[0] == "command_files" or (
            parts[0] == "user_codes" and len(parts) == 2 and not parts[1].endswith(".txt")
        ):
            kept[name] = raw
    return kept


def test_round_trip_is_byte_identical(populated, tmp_path, capsys):
    archive = tmp_path / "backup.tar.gz"
    code, out, err = run_cli(capsys, "backup", "--data-dir", str(populated), "--output", str(archive))
    assert code == 0, err
    # The legacy import (id 1), RING and LAYERS; GONE (id 4) was deleted.
    assert "3 codes (highest id 4)" in out and "2 command files" in out
    assert archive.is_file() and not list(tmp_path.glob(".backup.tar.gz.*"))

    code, out, err = run_cli(capsys, "verify-backup", str(archive))
    assert code == 0 and out.startswith(f"{archive}: ok:") and err == ""

    target = tmp_path / "restored"
    code, out, err = run_cli(capsys, "restore", "--data-dir", str(target), "--input", str(archive))
    assert code == 0, err
    assert "user codes" in out and "mine.txt" in out and "gbk.txt" in out and "ids.json" in out

    expected = store_content(populated)
    assert {n for n in expected if "code-" in n} == {
        f"user_codes/code-000000{i}.{ext}" for i in (1, 2, 3) for ext in ("json", "lsp")
    }
    assert tree(target) == expected
    crlf = next(raw for name, raw in expected.items() if raw == CRLF_CODE.encode())
    assert b"\r\n" in crlf
    assert not list(target.glob(".cadchat-restore-*"))


async def test_restored_store_serves_the_same_codes_and_keeps_ids(populated, tmp_path, make_settings):
    archive = tmp_path / "b.tar.gz"
    bk.backup_to_file(populated, archive)
    target = tmp_path / "restored"
    summary = bk.restore_archive(archive, target)
    assert summary.codes == 3 and summary.highest_id == 4
    original, restored = (
        UserCodeStore(populated / "user_codes", Limits()),
        UserCodeStore(target / "user_codes", Limits()),
    )
    await original.open(None, import_legacy=True)
    await restored.open(None, import_legacy=True)
    try:
        assert restored.all() == original.all()
        assert restored.library_usage() == original.library_usage()
        assert restored.open_report.repaired is False
        # A new code after the restore never gets the deleted code's id.
        new = await restored.create(command="NEW", description="new", code="(princ)")
        assert new.id == 5
    finally:
        await original.close()
        await restored.close()


def test_backup_to_stdout_is_the_same_archive(populated, tmp_path):
    env = {**os.environ, "CADCHAT_ENV_FILE": str(tmp_path / "absent.env")}
    done = subprocess.run(
        [sys.executable, "-m", "cadchat", "backup", "--data-dir", str(populated), "--output", "-"],
        capture_output=True,
        env=env,
        check=True,
    )
    assert b"codes" in done.stderr
    archive = tmp_path / "piped.tar.gz"
    archive.write_bytes(done.stdout)
    assert bk.verify_archive(archive).codes == 3


def test_leftovers_and_damaged_records_stay_out(populated, tmp_path, capsys):
    codes = populated / "user_codes"
    (codes / ".code-0000009.json.0123abcd.tmp").write_bytes(b'{"half')
    (codes / "code-0000008.lsp").write_bytes(b"(uncommitted)")
    (codes / "code-0000007.json").write_bytes(b'{"format": "cadchat.user_code", "trunc')
    archive = tmp_path / "b.tar.gz"
    code, out, _ = run_cli(capsys, "backup", "--data-dir", str(populated), "--output", str(archive))
    assert code == 0 and "left out 1 damaged records: code-0000007.json" in out
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[-1] == bk.MANIFEST
    assert not any("0000007" in n or "0000008" in n or "0000009" in n or n.endswith(".lock") for n in names)
    assert "user_codes/user_codes.txt" not in names  # the legacy file is not store content


def damaged_variants(archive: Path, tmp_path: Path) -> dict[str, Path]:
    raw = archive.read_bytes()
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(data)
        out[name] = path

    put("truncated-half", raw[: len(raw) // 2])
    put("truncated-tail", raw[:-9])  # only the gzip trailer missing
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    put("flipped-byte", bytes(flipped))
    put("empty", b"")
    put("text", b"hello, not an archive\n")

    members = []
    with tarfile.open(archive) as tar:
        for info in tar:
            members.append((info, tar.extractfile(info).read()))

    def repack(name: str, items) -> None:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
            for info, data in items:
                info = (
                    tarfile.TarInfo(info.name) if isinstance(info, tarfile.TarInfo) else tarfile.TarInfo(info)
                )
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        put(name, buf.getvalue())

    # A member's bytes changed (gzip and tar intact), one dropped, one added, manifest missing.
    changed = [(i, d.replace(b"RING", b"RINX") if i.name.endswith(".lsp") else d) for i, d in members]
    repack("member-changed", changed)
    repack("member-missing", [m for m in members if not m[0].name.endswith("code-0000001.lsp")])
    repack("member-added", [*members[:-1], ("command_files/evil.txt", b"X|x|||basic\n"), members[-1]])
    repack("no-manifest", members[:-1])
    repack("foreign", [("etc/passwd", b"root:x:0:0\n"), ("cadchat-backup.json", b"{}")])
    repack("path-escape", [("command_files/../../escape.txt", b"x"), members[-1]])
    manifest = json.loads(members[-1][1])
    manifest["format_version"] = 99
    repack("future-format", [*members[:-1], (bk.MANIFEST, json.dumps(manifest).encode())])
    return out


def test_damaged_truncated_and_foreign_archives_are_refused(populated, tmp_path, capsys):
    archive = tmp_path / "good.tar.gz"
    bk.backup_to_file(populated, archive)
    (tmp_path / "bad").mkdir()
    variants = damaged_variants(archive, tmp_path / "bad")
    for name, path in variants.items():
        code, out, err = run_cli(capsys, "verify-backup", str(path))
        assert code == 1 and out == "", name
        assert err.startswith(f"cadchat: {path}: refused: ") and err.count("\n") == 1, (name, err)

        target = tmp_path / f"target-{name}"
        code, out, err = run_cli(capsys, "restore", "--data-dir", str(target), "--input", str(path))
        assert code == 1 and err.count("\n") == 1, (name, err)
        assert not target.exists(), name  # nothing touched, not even created
    assert not (tmp_path / "escape.txt").exists()


def test_restore_refuses_a_non_empty_directory(populated, tmp_path, capsys):
    archive = tmp_path / "b.tar.gz"
    bk.backup_to_file(populated, archive)
    before = tree(populated)
    code, _, err = run_cli(capsys, "restore", "--data-dir", str(populated), "--input", str(archive))
    assert code == 2 and "not empty" in err and err.count("\n") == 1
    assert tree(populated) == before

    code, _, err = run_cli(
        capsys, "restore", "--data-dir", str(tmp_path / "x"), "--input", str(tmp_path / "no")
    )
    assert code == 2 and "no such file" in err and not (tmp_path / "x").exists()


def test_backup_of_a_missing_data_dir_fails_with_one_line(tmp_path, capsys):
    code, _, err = run_cli(
        capsys, "backup", "--data-dir", str(tmp_path / "nope"), "--output", str(tmp_path / "b.tar.gz")
    )
    assert code == 2 and "does not exist" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def code_text(i: int, version: int) -> str:
    newline = "\r\n" if i % 2 else "\n"
    body = newline.join(f'  (princ "第{i}号 v{version} 行{k}")' for k in range(1 + i % 50))
    return f"(defun c:SNAP{i} ()" + newline + body + newline + ")"


@pytest.mark.slow
async def test_backup_while_the_server_keeps_saving(tmp_path):
    """Saves, updates and deletes keep arriving while `cadchat backup` runs against the live
    store. Every save answered before the backup process started is in the archive (in its
    answered version or a later one), every delete answered before it is not, and every record
    in the archive is whole and agrees with its .lsp."""
    library = tmp_path / "lib.txt"
    library.write_text(LIBRARY, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    env = {"CADCHAT_LIBRARY_PATHS": str(library), "CADCHAT_WATCH": "false", "CADCHAT_LLM_PROVIDER": "offline"}
    acked: dict[int, set[str]] = {}  # id -> every version answered 200 (latest last added)
    latest: dict[int, str] = {}
    deleted: set[int] = set()
    stop = asyncio.Event()
    with running_server(data, env) as (base, _pid):
        async with aiohttp.ClientSession() as session:

            async def writer(worker: int) -> None:
                i = worker
                while not stop.is_set():
                    i += 8
                    await asyncio.sleep(0.005)  # a busy server, not a flood: the backups must finish
                    text = code_text(i, 1)
                    body = {"code": text, "command": f"SNAP{i}", "description": f"快照 {i}"}
                    async with session.post(base + "/api/user_codes/save", json=body) as resp:
                        assert resp.status == 200
                        code_id = (await resp.json())["code_id"]
                    acked[code_id] = {text}
                    latest[code_id] = text
                    if i % 5 == 0:
                        new = code_text(i, 2)
                        async with session.patch(base + f"/v1/codes/{code_id}", json={"code": new}) as resp:
                            assert resp.status == 200
                        acked[code_id].add(new)
                        latest[code_id] = new
                    if i % 7 == 0:
                        async with session.delete(base + f"/v1/codes/{code_id}") as resp:
                            assert resp.status == 204
                        deleted.add(code_id)
                        del latest[code_id]

            writers = [asyncio.create_task(writer(w)) for w in range(8)]
            await asyncio.sleep(1.0)
            archives = []
            for n in range(3):
                live = {k: set(v) for k, v in acked.items() if k in latest}
                gone = set(deleted)
                archive = tmp_path / f"live-{n}.tar.gz"
                # The backup runs beside the server process, as `cadchat backup` would, in a
                # thread so this loop keeps the saves coming while it reads the store.
                before = len(acked)
                summary = await asyncio.to_thread(bk.backup_to_file, data, archive)
                assert summary.codes > 0
                assert len(acked) > before, "no save was answered while the backup ran"
                archives.append((archive, live, gone))
                await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*writers)

    assert len(acked) > 100  # the server really was saving throughout
    for archive, live, gone in archives:
        summary = bk.verify_archive(archive)  # every record whole, every .lsp its record's code
        codes = {}
        with tarfile.open(archive) as tar:
            for info in tar:
                if info.name.endswith(".json") and "/code-" in info.name:
                    record = json.loads(tar.extractfile(info).read())
                    codes[record["id"]] = record["code"]
        assert summary.codes == len(codes)
        # A code deleted while the backup ran may be in or out; every other answered save is in.
        missing = set(live) - set(codes) - deleted
        assert not missing, f"answered saves missing from {archive.name}: {sorted(missing)[:10]}"
        for code_id in codes:
            # The answered version, or one answered later (an update landing during the backup).
            assert codes[code_id] in acked[code_id], code_id
        assert not gone & set(codes), "a delete answered before the backup is back"
    # The last archive restores into a store that opens without any repair.
    target = tmp_path / "restored"
    bk.restore_archive(archives[-1][0], target)
    store = UserCodeStore(target / "user_codes", Limits())
    await store.open(None, import_legacy=False)
    try:
        assert store.open_report.repaired is False
        assert len(store) == bk.verify_archive(archives[-1][0]).codes
    finally:
        await store.close()
