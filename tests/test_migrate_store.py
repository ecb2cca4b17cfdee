"""`cadchat migrate-store --from files --to postgresql://...`: everything moves, verified,
idempotently; ids continue after the file store's; refusals are one line."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

import asyncpg
import pytest
from cadchat.app import create_app
from cadchat.cli import main
from cadchat.keys import USER_CODES
from cadchat.library.model import Command
from cadchat.usercodes.model import Limits
from cadchat.usercodes.store import UserCodeStore

FIXTURES = Path(__file__).parent / "fixtures" / "legacy"
CRLF_CODE = '(defun c:RING ()\r\n  (princ "圆环")\r\n)\r\n'


@pytest.fixture
async def file_store(make_settings) -> Path:
    """A data dir whose file store holds API codes with counts, a deleted highest id, library
    usage counts and a legacy import (file shape, GBK code file)."""
    settings = make_settings(watch=False)
    directory = settings.user_codes_dir
    directory.mkdir(parents=True)
    shutil.copy(FIXTURES / "file_shape" / "user_codes.txt", directory / "user_codes.txt")
    for lsp in (FIXTURES / "file_shape").glob("*.lsp"):
        shutil.copy(lsp, directory / lsp.name)
    store = UserCodeStore(directory, Limits())
    await store.open(None)  # imports the legacy file: ids 1 and 2
    ring = await store.create(command="RING", description="圆环", code=CRLF_CODE, tags=["圆", "ring"])
    await store.record_use(ring.id, True)
    await store.record_use(ring.id, False)
    gone = await store.create(command="GONE", description="d", code="(princ)")
    await store.delete(gone.id)  # the highest id, deleted: must never be handed out again
    trim = Command(name="TRIM", description="修剪", type="basic", source="library", id=12345678)
    await store.record_library_use(trim, True)
    await store.close()
    return settings.data_dir


def migrate(data_dir: Path, url: str) -> int:
    return main(["migrate-store", "--from", "files", "--data-dir", str(data_dir), "--to", url])


async def migrate_from_test(data_dir: Path, url: str) -> int:
    """The CLI runs its own event loop: from an async test, in a thread."""
    return await asyncio.to_thread(migrate, data_dir, url)


async def test_migration_moves_everything_verified_and_a_rerun_moves_nothing(
    file_store, database_url, make_settings, aiohttp_client, capsys
):
    assert await migrate_from_test(file_store, database_url) == 0
    out = capsys.readouterr().out
    assert "3 codes in the file store: 3 moved, 0 already in the database; 3 verified by SHA-256" in out
    assert "1 of 1 library usage counts moved; ids continue after 4" in out
    assert "cadchat_admin@/" in out  # the target, named without any password

    assert await migrate_from_test(file_store, database_url) == 0
    assert (
        "3 codes in the file store: 0 moved, 3 already in the database; 3 verified" in capsys.readouterr().out
    )

    files = UserCodeStore(file_store / "user_codes", Limits())
    await files.open(None)
    expected = {c.id: c for c in files.all()}
    await files.close()
    cli = await aiohttp_client(create_app(make_settings(watch=False, database_url=database_url)))
    store = cli.app[USER_CODES]
    assert {c.id: c for c in store.all()} == expected  # every field, legacy provenance included
    assert [c.legacy["filename"] for c in store.all() if c.origin == "legacy"] == [
        "ring_1.lsp",
        "zoomall.lsp",
    ]
    ring = next(c for c in store.all() if c.command == "RING")
    assert ring.code.encode("utf-8") == CRLF_CODE.encode("utf-8")
    assert (ring.usage_count, ring.success_count, ring.tags) == (2, 1, ("圆", "ring"))
    assert store.library_usage()["TRIM"].usage_count == 1
    resp = await cli.post(
        "/api/user_codes/save", json={"command": "NEW", "code": "(princ)", "description": "d"}
    )
    assert (await resp.json())["code_id"] == 5  # 4 was used (then deleted) in the file store


async def test_codes_that_differ_in_the_database_fail_verification_and_are_not_overwritten(
    file_store, database_url, capsys
):
    assert await migrate_from_test(file_store, database_url) == 0
    capsys.readouterr()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE user_codes SET code = '(changed)', code_sha256 = $1 WHERE id = 3",
            hashlib.sha256(b"(changed)").hexdigest(),
        )
    finally:
        await conn.close()
    assert await migrate_from_test(file_store, database_url) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "cadchat: migration not verified: 1 codes differ in the database from the file store (ids 3); "
        "nothing was overwritten"
    )
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT code FROM user_codes WHERE id = 3") == "(changed)"
    finally:
        await conn.close()


def test_refusals_are_one_line(file_store, tmp_path, capsys):
    assert migrate(file_store, "postgresql://u:hunter2hunter2@db/x") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "hunter2" not in err and "process list" in err
    assert migrate(file_store, "mysql://db/x") == 2
    assert "must be a postgresql:// URL" in capsys.readouterr().err
    assert migrate(file_store, f"postgresql://u@/x?host={tmp_path}&port=1") == 2
    err = capsys.readouterr().err
    assert err.startswith("cadchat: database postgresql://u@/x?") and "unreachable" in err
    assert len(err.strip().splitlines()) == 1


async def test_a_store_in_use_by_a_server_is_refused(file_store, database_url, make_settings, capsys):
    store = UserCodeStore(file_store / "user_codes", Limits())
    await store.open(None)
    try:
        assert await migrate_from_test(file_store, database_url) == 2
        assert "in use by another cadchat process" in capsys.readouterr().err
    finally:
        await store.close()
