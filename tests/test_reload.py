"""Live reload: edits, new files, broken files and deletions are seen without a restart."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from pathlib import Path

import pytest
from cadchat.app import create_app
from cadchat.keys import LIBRARY

WAIT = 5.0  # seconds a change may take to appear; inotify needs a fraction of that


async def wait_for(predicate, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def best(client, need: str) -> str | None:
    body = await (await client.post("/api/query", json={"requirement": need})).json()
    return body["result"]["code"]["command"] if body["matched"] else None


@pytest.fixture(params=["native", "polling"])
async def live(request, aiohttp_client, make_settings, small_library: Path):
    settings = make_settings(
        library_paths=(small_library, small_library.parent / "extra"),
        watch_polling=request.param == "polling",
        watch_poll_interval=0.2,
    )
    (small_library.parent / "extra").mkdir()
    client = await aiohttp_client(create_app(settings))
    return client, small_library


async def test_edit_is_visible_without_restart(live) -> None:
    client, library = live
    assert await best(client, "ZIGZAG") is None
    library.write_text(
        library.read_text(encoding="utf-8") + "ZIGZAG|之字形折线：画锯齿线 zigzag|ZZ|||basic\n", "utf-8"
    )

    async def seen():
        return await best(client, "ZIGZAG") == "ZIGZAG"

    await wait_for(seen)


async def test_new_file_in_watched_folder_is_picked_up(live) -> None:
    client, library = live
    (library.parent / "extra" / "team.txt").write_text("QIANG|画墙线：双线墙体 wall|QQ|||lisp\n", "utf-8")

    async def seen():
        return await best(client, "画墙线") == "QIANG"

    await wait_for(seen)
    # a non-.txt file in the folder is not a library
    (library.parent / "extra" / "notes.md").write_text("NOPE|不是命令库\n", "utf-8")
    await asyncio.sleep(0.5)
    assert await best(client, "NOPE") is None


async def test_broken_file_keeps_last_good_and_is_reported(live) -> None:
    client, library = live
    library.write_bytes(b"\xff\xfe garbage \x81\x00 not a library\n")

    async def reported():
        body = await (await client.get("/health")).json()
        return body if body["library"]["rejected_files"] else None

    health = await wait_for(reported)
    assert health["status"] == "healthy"
    assert health["library"]["state"] == "degraded"
    assert health["library"]["rejected_files"] == ["commands.txt"]
    assert any("not UTF-8 or GB18030" in p for p in health["library"]["problems"])
    status = next(f for f in health["library"]["files"] if f["file"] == "commands.txt")
    assert status["serving_last_good"] is True and status["commands"] == 5
    assert await best(client, "TRIM") == "TRIM"  # the old library still answers

    # fixing the file clears the report
    library.write_text("TRIM|修剪|TR|||basic\nNEWCMD|新命令|NC|||basic\n", "utf-8")

    async def recovered():
        body = await (await client.get("/health")).json()
        return body["library"]["state"] == "ok" and await best(client, "NEWCMD") == "NEWCMD"

    await wait_for(recovered)


async def test_deleted_file_drops_its_commands(live) -> None:
    client, library = live
    extra = library.parent / "extra" / "tmp.txt"
    extra.write_text("TEMPCMD|临时命令|TC|||basic\n", "utf-8")

    async def present():
        return await best(client, "TEMPCMD") == "TEMPCMD"

    await wait_for(present)
    extra.unlink()

    async def gone():
        return await best(client, "TEMPCMD") is None

    await wait_for(gone)


async def test_atomic_rename_save_is_seen(live) -> None:
    """Editors and config tools write a temp file and rename it over the original."""
    client, library = live
    tmp = library.with_suffix(".swp")
    tmp.write_text("RENAMED|改名保存的命令|RN|||basic\n", "utf-8")
    tmp.replace(library)

    async def seen():
        return await best(client, "RENAMED") == "RENAMED"

    await wait_for(seen)


async def test_burst_of_writes_is_debounced(aiohttp_client, make_settings, small_library: Path) -> None:
    from cadchat.keys import LIBRARY

    settings = make_settings(library_paths=(small_library,), watch_debounce=0.3)
    client = await aiohttp_client(create_app(settings))
    store = client.app[LIBRARY]
    before = store.reloads
    for i in range(20):
        small_library.write_text(f"CMD{i}|命令{i}|||basic\n", "utf-8")
        await asyncio.sleep(0.01)

    async def settled():
        return await best(client, "CMD19") == "CMD19"

    await wait_for(settled)
    await asyncio.sleep(0.5)
    assert 1 <= store.reloads - before <= 3


async def test_watch_disabled_means_no_watcher(aiohttp_client, make_settings, small_library: Path) -> None:
    client = await aiohttp_client(create_app(make_settings(library_paths=(small_library,), watch=False)))
    stats = await (await client.get("/api/stats")).json()
    assert stats["file_watcher_enabled"] is False
    small_library.write_text("ONLYAFTERREBUILD|重建后可见|||basic\n", "utf-8")
    await asyncio.sleep(0.3)
    assert await best(client, "ONLYAFTERREBUILD") is None
    await client.post("/api/rebuild_embeddings")
    assert await best(client, "ONLYAFTERREBUILD") == "ONLYAFTERREBUILD"


async def test_default_sources_watch_command_files_and_legacy_names(
    aiohttp_client, make_settings, caplog
) -> None:
    settings = make_settings()
    client = await aiohttp_client(create_app(settings))
    assert settings.command_files_dir.is_dir()  # created at start so drops are seen
    (settings.command_files_dir / "ours.txt").write_text("DROPPED|新放进来的命令|DP|||lisp\n", "utf-8")

    async def dropped():
        return await best(client, "DROPPED") == "DROPPED"

    await wait_for(dropped)

    # the seed deployment's file name in the data dir overrides the bundled command
    (settings.data_dir / "lisp_commands.txt").write_text("BURST|我们自己的 BURST 说明|||lisp\n", "utf-8")

    async def overridden():
        body = await (await client.post("/api/query", json={"requirement": "BURST"})).json()
        return body["result"]["code"]["description"] == "我们自己的 BURST 说明"

    await wait_for(overridden)
    (settings.command_files_dir / "broken.txt").write_bytes(b"\xff\xfe\x81 not text\n")

    async def logged():
        return any("broken.txt" in r.getMessage() and "not UTF-8" in r.getMessage() for r in caplog.records)

    await wait_for(logged)


async def test_a_library_snapshot_is_out_of_the_collectors_sight_and_freed_on_reload(
    aiohttp_client, make_settings
) -> None:
    # A full collection walking a big snapshot stalls the event loop; the snapshot is frozen.
    app = create_app(make_settings(watch=False))
    client = await aiohttp_client(app)
    library = app[LIBRARY].current
    assert library.commands
    tracked = {id(o) for o in gc.get_objects()}
    assert id(library.commands) not in tracked and id(library.by_key) not in tracked
    # Frozen objects are never collected as cycles: the old snapshot must die by refcount alone.
    old_index = weakref.ref(library.index)
    del library
    assert (await client.post("/api/rebuild_embeddings")).status == 200
    assert old_index() is None
