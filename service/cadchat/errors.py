"""Domain errors: what went wrong, in the product's terms, without any HTTP in them.

Storage, validation and chat raise these; the web layer maps each kind to one status in one
place (`cadchat.middlewares`), the CLI prints the message. `extra` carries fields a client may
read next to the message (e.g. `retry_after` seconds).
"""

from __future__ import annotations

from typing import Any


class CadchatError(Exception):
    """Base of every domain error: `message` is what the user reads."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(CadchatError):
    """The input is malformed or breaks a rule (a client's mistake)."""


class TooLarge(CadchatError):
    """The input is over a size limit."""


class UnsupportedEncoding(CadchatError):
    """The body's Content-Encoding is not one the service inflates."""


class NotFound(CadchatError):
    """No such code, command or route."""


class StoreFull(CadchatError):
    """The user-code store holds as many codes as it may."""


class RateLimited(CadchatError):
    """Too many requests from one client; `retry_after` seconds until the next is allowed."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Busy(CadchatError):
    """Every slot is taken; `retry_after` seconds is a good time to try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class StoreUnavailable(Busy):
    """The user-code database did not answer (down, unreachable, or over the statement
    timeout): nothing was acknowledged; try again after `retry_after` seconds."""
