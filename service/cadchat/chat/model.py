"""The data chat passes around: requests, context, prompts, completions, upstream errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any

from cadchat.library.model import Command

MODES = ("lisp", "answer")
ROLES = ("user", "assistant")


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    message: str
    history: tuple[Turn, ...] = ()
    mode: str = "lisp"
    stream: bool = False
    use_cache: bool = True


@lru_cache(maxsize=1024)
def _file_name(path: str) -> str:
    """Where a command came from, as a file name (never a server path)."""
    return PurePath(path).name if path else ""


@dataclass(frozen=True, slots=True)
class ContextItem:
    """One retrieved command (or user program) given to the model as context."""

    command: Command
    similarity: float
    code: str | None = None  # a user program's stored code, or a bundled LISP tool's source

    def reference(self) -> dict[str, Any]:
        return {
            "id": self.command.id,
            "command": self.command.name,
            "description": self.command.description,
            "source": _file_name(self.command.source) or self.command.file,
            "type": self.command.type,
            "category": self.command.category,
            "similarity": self.similarity,
            "has_code": self.code is not None,
        }


@dataclass(frozen=True, slots=True)
class Prompt:
    mode: str
    system: str
    messages: tuple[dict[str, str], ...]  # system + history + the user turn with context (chat models)
    context: tuple[ContextItem, ...] = ()
    question: str = ""
    history: tuple[Turn, ...] = ()

    @property
    def text(self) -> str:
        """The same prompt as one string (Bailian apps take a prompt); built when asked for."""
        from cadchat.chat.prompt import app_prompt

        return app_prompt(self)


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(slots=True)
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    request_id: str = ""
    finish_reason: str = "stop"
    model: str | None = None


@dataclass(slots=True)
class Chunk:
    """One streamed piece: new text (may be empty) plus the cumulative usage so far."""

    delta: str
    usage: Usage | None = None
    request_id: str = ""
    finish_reason: str | None = None
    model: str | None = None


# Upstream failure kinds. Retried (before the first streamed byte): rate_limited, server.
# Counted by the circuit breaker: everything but bad_request.
RETRYABLE = frozenset({"rate_limited", "server"})


class UpstreamError(Exception):
    """A provider call failed. The message never carries the API key or request headers."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        code: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind  # auth | rate_limited | server | bad_request | timeout | connection | malformed
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def breaker_failure(self) -> bool:
        return self.kind != "bad_request"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "code": self.code, "message": self.message}


def kind_for_status(status: int) -> str:
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status == 408 or status >= 500:
        return "server"
    return "bad_request"
