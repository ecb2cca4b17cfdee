"""What Chinese text sounds like: toneless pinyin with the fuzzy pairs of southern speakers.

Most users type Chinese with a pinyin input method, whose typical slip is a wrong character
with the same sound (偏移 pianyi -> 便宜, 延伸 yanshen -> 眼神). Comparing what text sounds
like forgives those slips. Readings come from pypinyin's single-character dictionary (every
reading of a polyphonic character, so 便 is both bian and pian); pypinyin's phrase dictionary
is not loaded (it costs ~45 MB of RSS and 1.3 s of import), and each character is converted
once and cached.

A reading is normalised so that the pairs southern speakers do not tell apart compare equal:
zh/z, ch/c, sh/s, n/l (initials) and ang/an, eng/en, ing/in (finals).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import lru_cache

_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = ("ang", "eng", "ing")
MAX_READINGS = 3  # a character's most common readings; rarer ones only add noise
MAX_KEYS = 4  # sound keys of one character pair (polyphones on both sides)

_load_lock = threading.Lock()
_convert: Callable[[str], list[list[str]]] | None = None


def _converter() -> Callable[[str], list[list[str]]]:
    global _convert
    with _load_lock:
        if _convert is None:
            # pypinyin reads these when first imported: no phrase dictionary, no copy of the
            # character dictionary (documented switches; only single characters are converted).
            os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
            os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")
            from pypinyin import Style, pinyin

            def convert(ch: str) -> list[list[str]]:
                return pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")

            _convert = convert
        return _convert


def fuzzy(syllable: str) -> str:
    """A toneless syllable with the southern fuzzy pairs folded: "zheng" -> "zen", "lan" -> "lan"."""
    for full, short in _FUZZY_INITIALS:
        if syllable.startswith(full) and len(syllable) > len(full):
            syllable = short + syllable[len(full) :]
            break
    if syllable.endswith(_FUZZY_FINALS):
        syllable = syllable[:-1]
    return syllable


@lru_cache(maxsize=32768)
def readings(ch: str) -> tuple[str, ...]:
    """The fuzzy-normalised readings of one Chinese character, most common first; () if none."""
    found = _converter()(ch)
    if not found:
        return ()
    unique: dict[str, None] = {}
    for syllable in found[0][:MAX_READINGS]:
        if syllable.isascii() and syllable.isalpha():
            unique.setdefault(fuzzy(syllable), None)
    return tuple(unique)


def pair_keys(first: str, second: str) -> list[str]:
    """Sound keys of a character pair ("偏移" and "便宜" share "pian-yi")."""
    keys = [f"{a}-{b}" for a in readings(first) for b in readings(second)]
    return keys[:MAX_KEYS]


def sounds_alike(text: str, start: int, word: tuple[frozenset[str], ...]) -> bool:
    """Whether text[start:] begins with characters that sound like `word` (readings per char)."""
    if start + len(word) > len(text):
        return False
    return all(not sounds.isdisjoint(readings(text[start + i])) for i, sounds in enumerate(word))
