"""Input checks shared by the routes, the chat service and the user-code store.

Every check raises `InvalidInput` (400) or `TooLarge` (413) with a message naming the field.
"""

from __future__ import annotations

import json
import math
import re
from functools import partial
from typing import Any

from cadchat.errors import InvalidInput, TooLarge

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))

_ASCII_INT = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
# A `\uD800`-`\uDFFF` escape: only then can a parsed string hold an unpaired surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_decoder = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)


def parse_json(raw: bytes) -> Any:
    """Parse a UTF-8 JSON document strictly.

    Refused with `InvalidInput`: bytes that are not UTF-8, malformed JSON, `NaN`/`Infinity`,
    numbers outside the float range (`1e999`), integers over Python's digit limit, nesting
    deeper than the interpreter's recursion limit, and strings holding an unpaired UTF-16
    surrogate (`"\\ud800"`), which no text field can store or send on.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("request body is not UTF-8") from None
    try:
        value = _decoder.decode(text.lstrip("\ufeff"))
    except RecursionError:
        raise InvalidInput("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None
    if _SURROGATE_ESCAPE.search(raw):
        try:
            dumps(value).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("request body holds an unpaired surrogate (not valid Unicode)") from None
    return value


def stripped_text(name: str, value: Any, max_length: int, *, required: bool = True) -> str:
    """`value` (field `name`) as stripped text of at most `max_length` characters (None counts
    as empty). InvalidInput when it is not a string, or empty while `required`; TooLarge when
    longer."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"'{name}' must not be empty")
    if len(value) > max_length:
        raise TooLarge(f"'{name}' is longer than {max_length} characters")
    return value


def text_field(body: dict[str, Any], *names: str, required: bool = True, max_length: int = 2000) -> str:
    """The first of `names` present in the body, as stripped text; 400 when missing/wrong."""
    for name in names:
        if name in body and body[name] is not None:
            return stripped_text(name, body[name], max_length, required=required)
    if required:
        raise InvalidInput(f"missing field: {' or '.join(repr(n) for n in names)}")
    return ""


def int_param(raw: Any, name: str, *, default: int, low: int, high: int) -> int:
    """An integer query/body parameter within [low, high]; `default` when absent.

    Accepted: a JSON integer, or a string of ASCII digits. Refused with `InvalidInput`: booleans,
    fractions (`2.5`), non-finite or huge numbers, and non-ASCII digits (`"٥"`).
    """
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise InvalidInput(f"'{name}' must be an integer")
    if isinstance(raw, str):
        if not _ASCII_INT.fullmatch(raw.strip()):
            raise InvalidInput(f"'{name}' must be an integer")
        raw = int(raw)
    if not low <= raw <= high:
        raise InvalidInput(f"'{name}' must be between {low} and {high}")
    return raw
