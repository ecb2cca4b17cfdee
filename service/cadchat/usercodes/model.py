"""A saved user code, its limits and the validation every entry point shares."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cadchat.errors import InvalidInput, TooLarge
from cadchat.inputs import stripped_text
from cadchat.library.store import LIBRARY_ID_BASE

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from cadchat.config import Settings

# User ids count up from 1 and stay below the library's hash-derived ids.
MAX_ID = LIBRARY_ID_BASE - 1
ID_WIDTH = len(str(MAX_ID))
# The only id spelling any route accepts: ASCII digits, no sign, no leading zero, in range.
# (str.isdigit() and int() also take "١٢" and " 12", which must not reach a file name.)
_ID = re.compile(rf"[1-9][0-9]{{0,{ID_WIDTH - 1}}}", re.ASCII)

RECORD_FORMAT = "cadchat.user_code"
RECORD_VERSION = 1
MAX_TAG_CHARS = 50


def success_rate(usage: int, success: int) -> float:
    """Successes per use, 4 decimals; 0.0 before the first use."""
    return round(success / usage, 4) if usage else 0.0


@dataclass(frozen=True)
class Limits:
    max_code_bytes: int = 256 * 1024
    max_command_chars: int = 100
    max_description_chars: int = 2000
    max_tags: int = 20
    max_count: int = 100_000


def parse_id(raw: object) -> int | None:
    """A user-code id from a URL or body, or None for anything that is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 1 <= raw <= MAX_ID else None
    if isinstance(raw, str) and _ID.fullmatch(raw):
        return int(raw)
    return None


def code_filename(code_id: int) -> str:
    return f"code-{code_id:0{ID_WIDTH}d}.lsp"


def record_filename(code_id: int) -> str:
    return f"code-{code_id:0{ID_WIDTH}d}.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def content_key(command: str, code: str) -> str:
    """What makes two codes "the same" for import: the command name (case-insensitive, as in
    CAD) and the exact code text."""
    digest = hashlib.sha256()
    digest.update(command.strip().upper().encode("utf-8"))
    digest.update(b"\0")
    digest.update(code.encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class UserCode:
    id: int
    command: str
    description: str
    code: str
    tags: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    usage_count: int = 0
    success_count: int = 0
    origin: str = "api"  # api, submit_code, v1 or legacy
    legacy: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def filename(self) -> str:
        return code_filename(self.id)

    @property
    def key(self) -> str:
        return content_key(self.command, self.code)

    @property
    def success_rate(self) -> float:
        return success_rate(self.usage_count, self.success_count)

    def to_record(self) -> dict[str, Any]:
        """The sidecar JSON: self-contained (it carries the code too), so it alone is the
        commit point and a backup of it alone restores the code."""
        return {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "id": self.id,
            "command": self.command,
            "description": self.description,
            "tags": list(self.tags),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "usage_count": self.usage_count,
            "success_count": self.success_count,
            "origin": self.origin,
            "file": self.filename,
            "code_sha256": hashlib.sha256(self.code.encode("utf-8")).hexdigest(),
            "code": self.code,
            **({"legacy": self.legacy} if self.legacy else {}),
        }

    @classmethod
    def from_record(cls, data: Any) -> UserCode:
        """Raises ValueError when the record is not one we wrote."""
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise ValueError("not a cadchat user-code record")
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported record version {data.get('version')!r}")
        code_id = parse_id(data.get("id"))
        if code_id is None:
            raise ValueError(f"bad id {data.get('id')!r}")
        strings = ("command", "description", "code", "created_at", "updated_at", "origin")
        for name in strings:
            if not isinstance(data.get(name), str):
                raise ValueError(f"'{name}' is not a string")
        counts = ("usage_count", "success_count")
        for name in counts:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"'{name}' is not a count")
        tags = data.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("'tags' is not a list of strings")
        return cls.from_stored(
            {name: data[name] for name in (*strings, *counts)},
            id=code_id,
            tags=tags,
            code_sha256=data.get("code_sha256"),
            legacy=data.get("legacy"),
        )

    @classmethod
    def from_stored(
        cls, fields: Mapping[str, Any], *, id: int, tags: Iterable[str], code_sha256: Any, legacy: Any
    ) -> UserCode:
        """A code from a backend's typed fields (command, description, code, created_at,
        updated_at, origin, usage_count, success_count); raises ValueError when the code does not
        match its SHA-256. A success count above the usage count is clamped to it."""
        if hashlib.sha256(fields["code"].encode("utf-8")).hexdigest() != code_sha256:
            raise ValueError("code does not match its checksum")
        return cls(
            id=id,
            command=fields["command"],
            description=fields["description"],
            code=fields["code"],
            tags=tuple(tags),
            created_at=fields["created_at"],
            updated_at=fields["updated_at"],
            usage_count=fields["usage_count"],
            success_count=min(fields["success_count"], fields["usage_count"]),
            origin=fields["origin"],
            legacy=legacy if isinstance(legacy, dict) else None,
        )

    def with_changes(self, **changes: Any) -> UserCode:
        return replace(self, **changes)


# --- validation: the same rules for the contract routes, /v1 and the legacy import ----------


def _bad_chars(value: str, *, allow_newlines: bool) -> str | None:
    for ch in value:
        if ch in "\n\r\t" and allow_newlines:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return repr(ch)
    return None


# Format characters that change how a name is drawn without being seen: bidi embeddings,
# overrides and isolates, zero-width spaces and joiners, the BOM. In a command name they let one
# entry pose as another in the client's list.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)


def check_command(value: Any, limit: int, *, required: bool = True) -> str:
    """A command name: `check_text` rules, and no invisible format characters (`_INVISIBLE`)."""
    name = check_text("command", value, limit, required=required)
    bad = next((ch for ch in name if ch in _INVISIBLE), None)
    if bad is not None:
        raise InvalidInput(f"'command' contains an invisible character U+{ord(bad):04X}")
    return name


def check_text(name: str, value: Any, limit: int, *, required: bool = True, multiline: bool = False) -> str:
    """A stripped metadata string; InvalidInput when missing/empty/wrong type/control chars,
    TooLarge when longer than `limit` characters."""
    value = stripped_text(name, value, limit, required=required)
    bad = _bad_chars(value, allow_newlines=multiline)
    if bad:
        raise InvalidInput(f"'{name}' contains a forbidden character {bad}")
    return value


def check_code(value: Any, limits: Limits, name: str = "code") -> str:
    """The code exactly as sent (never stripped: it is stored byte for byte)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(f"'{name}' must not be empty")
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidInput(f"'{name}' contains a NUL character")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput(f"'{name}' contains an unpaired surrogate (not valid Unicode)") from None
    if size > limits.max_code_bytes:
        raise TooLarge(f"'{name}' is {size} bytes, limit {limits.max_code_bytes}")
    return value


def check_tags(value: Any, limits: Limits) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # "a, b" from hand-written clients
        value = [t for t in value.split(",")]
    if not isinstance(value, list):
        raise InvalidInput("'tags' must be a list of strings")
    tags: list[str] = []
    for item in value:
        tag = check_text("tags", item, MAX_TAG_CHARS, required=False)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > limits.max_tags:
        raise TooLarge(f"too many tags: {len(tags)}, limit {limits.max_tags}")
    return tuple(tags)


def limits_from(settings: Settings) -> Limits:
    """The store's limits from the CADCHAT_USER_CODE_* settings."""
    return Limits(
        max_code_bytes=settings.user_codes_max_code_bytes,
        max_command_chars=settings.user_codes_max_command_chars,
        max_description_chars=settings.user_codes_max_description_chars,
        max_tags=settings.user_codes_max_tags,
        max_count=settings.user_codes_max_count,
    )
