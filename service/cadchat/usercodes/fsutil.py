"""Durable file primitives: atomic replace and directory fsync.

A file is either absent, its old content or its new content, never a prefix: the bytes go to a
temp file in the same directory (same file system, so the rename is atomic), are fsynced, then
renamed over the target; the directory is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temp_name(target: Path) -> Path:
    # Leading dot and a fixed suffix: recovery can tell our leftovers from users' files.
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, *, sync_dir: bool = True) -> None:
    tmp = temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(target.parent)


def unlink_durably(path: Path, *, sync_dir: bool = True) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    if sync_dir:
        fsync_dir(path.parent)
    return True
