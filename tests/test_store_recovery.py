"""The on-disk store without HTTP: atomic files, and what opening repairs after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cadchat.usercodes.disk import DiskStore, StoreLocked
from cadchat.usercodes.fsutil import atomic_write, temp_name
from cadchat.usercodes.model import Limits, UserCode, parse_id
from cadchat.usercodes.store import UserCodeStore


def code(i: int, text: str = "(princ)\r\n") -> UserCode:
    return UserCode(id=i, command=f"C{i}", description="d", code=text, created_at="t", updated_at="t")


@pytest.fixture
def disk(tmp_path: Path) -> DiskStore:
    (tmp_path / "user_codes").mkdir()
    return DiskStore(tmp_path / "user_codes")


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
    assert temp_name(target).name.startswith(".f.json.") and temp_name(target).name.endswith(".tmp")


def test_open_of_a_clean_store_changes_nothing(disk):
    for i in (1, 2):
        disk.write(code(i))
    codes, highest, report = disk.open()
    assert sorted(codes) == [1, 2] and highest == 2 and not report.repaired
    assert codes[1].code == "(princ)\r\n"


def test_recovery_of_every_crash_point(disk):
    d = disk.directory
    disk.write(code(1))
    disk.write(code(2))
    disk.write(code(3))
    # killed mid atomic_write: temp files of ours
    (d / ".code-0000004.lsp.0123abcd.tmp").write_bytes(b"(half")
    (d / ".code-0000001.json.89abcdef.tmp").write_bytes(b'{"form')
    # killed between a create's two renames: .lsp without record
    (d / "code-0000005.lsp").write_bytes(b"(uncommitted)")
    # killed between an update's two renames: new .lsp, old record
    (d / "code-0000002.lsp").write_bytes(b"(newer code)")
    # killed between a delete's two unlinks: record gone, .lsp left
    (d / "code-0000003.json").unlink()
    # someone else's files: never touched
    (d / "user_codes.txt").write_text("1|A|d|a.lsp|2020-01-01\n")
    (d / "a.lsp").write_text("(legacy)")
    (d / ".something.tmp").write_text("not ours")

    codes, highest, report = disk.open()
    assert sorted(codes) == [1, 2]
    assert highest == 2
    assert set(report.temp_removed) == {".code-0000004.lsp.0123abcd.tmp", ".code-0000001.json.89abcdef.tmp"}
    assert set(report.orphans_removed) == {"code-0000005.lsp", "code-0000003.lsp"}
    assert report.lsp_restored == ["code-0000002.lsp"]
    assert (d / "code-0000002.lsp").read_bytes() == b"(princ)\r\n"  # rolled back to the committed record
    names = sorted(p.name for p in d.iterdir())
    assert names == [
        ".something.tmp",
        "a.lsp",
        "code-0000001.json",
        "code-0000001.lsp",
        "code-0000002.json",
        "code-0000002.lsp",
        "user_codes.txt",
    ]
    # A second open finds nothing left to do.
    assert not disk.open()[2].repaired


def test_missing_lsp_is_rewritten_from_the_record(disk):
    disk.write(code(1, "(a)\n(b)"))
    (disk.directory / "code-0000001.lsp").unlink()
    _, _, report = disk.open()
    assert report.lsp_restored == ["code-0000001.lsp"]
    assert (disk.directory / "code-0000001.lsp").read_bytes() == b"(a)\n(b)"


@pytest.mark.parametrize(
    "damage",
    [
        b"{not json",
        b'{"format": "other"}',
        "BOM\ufeff".encode("utf-16"),
        None,  # checksum mismatch
        "id",  # record claims another id
    ],
)
def test_unreadable_records_are_quarantined_not_served(disk, damage):
    disk.write(code(1))
    disk.write(code(2))
    record = disk.directory / "code-0000002.json"
    if damage is None:
        data = json.loads(record.read_text("utf-8"))
        data["code"] = "(tampered)"
        record.write_text(json.dumps(data), "utf-8")
    elif damage == "id":
        data = json.loads(record.read_text("utf-8"))
        data["id"] = 1
        record.write_text(json.dumps(data), "utf-8")
    else:
        record.write_bytes(damage)
    codes, _, report = disk.open()
    assert sorted(codes) == [1]
    assert report.quarantined == ["code-0000002.json"]
    assert sorted(p.name for p in (disk.directory / "quarantine").iterdir()) == [
        "code-0000002.json",
        "code-0000002.lsp",
    ]


def test_highest_id_survives_deleting_the_newest(disk):
    disk.write(code(1))
    disk.write(code(7))
    disk.remember_highest(7)
    disk.delete(7)
    codes, highest, _ = disk.open()
    assert sorted(codes) == [1] and highest == 7


def test_one_writer_process_per_directory(disk, tmp_path):
    disk.acquire()
    other = DiskStore(disk.directory)
    with pytest.raises(StoreLocked):
        other.acquire()
    disk.release()
    other.acquire()
    other.release()


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", 1),
        ("9999999", 9999999),
        (42, 42),
        ("0", None),
        ("007", None),
        ("10000000", None),
        ("1 ", None),
        ("١", None),
        ("1\x00", None),
        (True, None),
        (1.0, None),
        (-3, None),
        (None, None),
        ("x" * 10_000, None),
    ],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


async def test_store_memory_never_changes_when_a_write_fails(tmp_path, monkeypatch):
    store = UserCodeStore(tmp_path / "uc", Limits())
    await store.open(None)
    saved = await store.create(command="A", description="d", code="(a)")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.disk, "write", broken)
    with pytest.raises(OSError):
        await store.create(command="B", description="d", code="(b)")
    with pytest.raises(OSError):
        await store.update(saved.id, {"code": "(changed)"}, partial=True)
    assert len(store) == 1 and store.get(saved.id).code == "(a)"
    monkeypatch.undo()
    # The failed create had reserved id 2; ids are never handed out twice, so it stays unused.
    assert (await store.create(command="B", description="d", code="(b)")).id == 3
    await store.close()


async def test_concurrent_updates_of_one_code_are_serialized_and_none_is_lost(tmp_path):
    import asyncio

    store = UserCodeStore(tmp_path / "uc", Limits())
    await store.open(None)
    saved = await store.create(command="A", description="d", code="(a)")
    await asyncio.gather(*(store.record_use(saved.id, i % 2 == 0) for i in range(30)))
    await asyncio.gather(
        store.update(saved.id, {"description": "new description"}, partial=True),
        store.update(saved.id, {"tags": ["t"]}, partial=True),
    )
    current = store.get(saved.id)
    assert (current.usage_count, current.success_count) == (30, 15)
    assert current.description == "new description" and current.tags == ("t",)  # neither PATCH undone
    await store.close()
    reopened = UserCodeStore(tmp_path / "uc", Limits())
    await reopened.open(None)
    assert reopened.get(saved.id) == current
    await reopened.close()


async def test_a_cancelled_request_still_finishes_its_write(tmp_path):
    import asyncio

    store = UserCodeStore(tmp_path / "uc", Limits())
    await store.open(None)
    task = asyncio.ensure_future(store.create(command="A", description="d", code="(a)"))
    await asyncio.sleep(0)  # the write has been handed to the executor
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):  # the shielded write completes on its own
        if len(store):
            break
        await asyncio.sleep(0.01)
    [code] = store.all()
    assert (tmp_path / "uc" / code.filename).read_bytes() == b"(a)"
    await store.close()


async def test_encoded_list_equals_a_fresh_encoding_and_reencodes_only_changes(tmp_path):
    import json

    from cadchat.usercodes.listing import EncodedList, list_item

    store = UserCodeStore(tmp_path / "uc", Limits())
    await store.open(None)
    for i in range(5):
        await store.create(command=f"C{i}", description="描述", code=f'(princ "{i}")\r\n')
    listing = EncodedList()
    first = listing.body(store)
    assert json.loads(first) == {"success": True, "codes": [list_item(c) for c in store.all()]}
    assert listing.body(store) is first  # unchanged store: the same bytes
    await store.record_use(3, True)
    await store.delete(1)
    second = json.loads(listing.body(store))
    assert second == {"success": True, "codes": [list_item(c) for c in store.all()]}
    assert [c["id"] for c in second["codes"]] == [2, 3, 4, 5] and second["codes"][1]["usage_count"] == 1
    await store.close()


@pytest.mark.parametrize("name", ["ids.json", "library-usage.json"])
async def test_damaged_shared_files_are_quarantined_and_the_store_opens(tmp_path, name):
    store = UserCodeStore(tmp_path / "uc", Limits())
    await store.open(None)
    await store.create(command="A", description="d", code="(a)")
    await store.close()
    (tmp_path / "uc" / name).write_bytes(b"\x00garbage{")
    reopened = UserCodeStore(tmp_path / "uc", Limits())
    await reopened.open(None)
    assert len(reopened) == 1 and reopened.library_usage() == {}
    assert (tmp_path / "uc" / "quarantine" / name).read_bytes() == b"\x00garbage{"
    assert (await reopened.create(command="B", description="d", code="(b)")).id == 2
    await reopened.close()
