"""The body of GET /api/user_codes/list, which old clients fetch whole.

With thousands of codes, encoding the list is most of the route's cost and holds the event
loop. The encoded bytes of each code are kept until that code changes (a changed code is a new
UserCode object), so after a save only the saved code is encoded again and the body is a join.
"""

from __future__ import annotations

from typing import Any

from cadchat.inputs import dumps
from cadchat.usercodes.model import UserCode
from cadchat.usercodes.store import CodeStore


def list_item(code: UserCode) -> dict[str, Any]:
    """A /api/user_codes/list entry: the contract's fields, then our superset."""
    return {
        "id": code.id,
        "command": code.command,
        "description": code.description,
        "filename": code.filename,
        "timestamp": code.created_at,
        "lisp_code": code.code,
        "tags": list(code.tags),
        "updated_at": code.updated_at,
        "usage_count": code.usage_count,
        "success_count": code.success_count,
    }


class EncodedList:
    def __init__(self) -> None:
        self._pieces: dict[int, tuple[UserCode, bytes]] = {}
        self._version = -1
        self._body = b""

    def body(self, store: CodeStore) -> bytes:
        if store.version == self._version:
            return self._body
        fresh: dict[int, tuple[UserCode, bytes]] = {}
        for code in store.all():
            hit = self._pieces.get(code.id)
            if hit is None or hit[0] is not code:
                hit = (code, dumps(list_item(code)).encode("utf-8"))
            fresh[code.id] = hit
        self._pieces = fresh
        self._body = b'{"success":true,"codes":[' + b",".join(p for _, p in fresh.values()) + b"]}"
        self._version = store.version
        return self._body
