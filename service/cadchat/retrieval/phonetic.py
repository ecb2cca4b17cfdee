"""What Chinese text sounds like: toneless pinyin with the fuzzy pairs of southern speakers.

Most users type Chinese with a pinyin input method, whose typical slip is a wrong character
with the same sound (偏移 pianyi -> 便宜, 延伸 yanshen -> 眼神). Comparing what text sounds
like forgives those slips. Readings come from pypinyin's single-character dictionary (every
reading of a polyphonic character, so 便 is both bian and pian); pypinyin's phrase dictionary
is not loaded (it costs ~45 MB of RSS and 1.3 s of import). pypinyin runs once, in a child
interpreter, over the whole CJK range; this process keeps a compact table of syllable ids
(~170 KB) instead of pypinyin's ~7 MB dictionary, and caches each character's readings.

A reading is normalised so that the pairs southern speakers do not tell apart compare equal:
zh/z, ch/c, sh/s, n/l (initials) and ang/an, eng/en, ing/in (finals).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FUZZY_FINALS = ("ang", "eng", "ing")
MAX_READINGS = 3  # a character's most common readings; rarer ones only add noise
MAX_KEYS = 4  # sound keys of one character pair (polyphones on both sides)
# CJK Extension A and the Unified Ideographs: every character a Chinese IME types.
FIRST, LAST = 0x3400, 0x9FFF

# Run once in a child interpreter: pypinyin's character dictionary is ~7 MB of Python objects
# once imported, the table this prints is ~170 KB of numpy in this process.
_DUMP = f"""
import sys
from pypinyin import Style, pinyin
out = []
for code in range({FIRST}, {LAST} + 1):
    found = pinyin(chr(code), style=Style.NORMAL, heteronym=True, errors="ignore")
    out.append(",".join(found[0][:{MAX_READINGS}]) if found else "")
sys.stdout.write("\\n".join(out))
"""

_load_lock = threading.Lock()
_table: tuple[np.ndarray, tuple[str, ...]] | None = None


def _load() -> tuple[np.ndarray, tuple[str, ...]]:
    """(ids, syllables): ids[code - FIRST] are indexes into syllables (0: none), fuzzy-folded."""
    global _table
    with _load_lock:
        if _table is None:
            env = {**os.environ, "PYPINYIN_NO_PHRASES": "1", "PYPINYIN_NO_DICT_COPY": "1"}
            try:
                done = subprocess.run(
                    [sys.executable, "-c", _DUMP], env=env, capture_output=True, check=True, timeout=120
                )
                lines = done.stdout.decode("utf-8").split("\n")
            except (OSError, subprocess.SubprocessError, UnicodeDecodeError) as exc:
                log.warning("pinyin readings unavailable, sound-alike matching is off: %s", exc)
                lines = []
            syllables: dict[str, int] = {"": 0}
            ids = np.zeros((LAST - FIRST + 1, MAX_READINGS), dtype=np.uint16)
            for row, line in enumerate(lines[: len(ids)]):
                folded = dict.fromkeys(fuzzy(x) for x in line.split(",") if x.isascii() and x.isalpha())
                for col, syllable in enumerate(folded):
                    ids[row, col] = syllables.setdefault(syllable, len(syllables))
            _table = (ids, tuple(syllables))
        return _table


def preload() -> None:
    """Load the reading table now (~1 s once per process): call it off the event loop, before
    the first index is built. Until then `readings` knows no character, so a request can never
    be the one that waits for it."""
    _load()


def fuzzy(syllable: str) -> str:
    """A toneless syllable with the southern fuzzy pairs folded: "zheng" -> "zen", "lan" -> "lan"."""
    for full, short in _FUZZY_INITIALS:
        if syllable.startswith(full) and len(syllable) > len(full):
            syllable = short + syllable[len(full) :]
            break
    if syllable.endswith(_FUZZY_FINALS):
        syllable = syllable[:-1]
    return syllable


def readings(ch: str) -> tuple[str, ...]:
    """The fuzzy-normalised readings of one Chinese character, most common first; () if none
    or before `preload`."""
    return _readings(ch) if _table is not None else ()


@lru_cache(maxsize=8192)
def _readings(ch: str) -> tuple[str, ...]:
    code = ord(ch)
    if not FIRST <= code <= LAST:
        return ()
    ids, syllables = _load()
    return tuple(syllables[i] for i in ids[code - FIRST].tolist() if i)


def pair_keys(first: str, second: str) -> list[str]:
    """Sound keys of a character pair ("偏移" and "便宜" share "pian-yi")."""
    return word_keys(first + second)


def word_keys(word: str) -> list[str]:
    """Sound keys of a Chinese word: its readings joined by "-", polyphones expanded, at most
    MAX_KEYS; [] if a character has no reading. Two words sound alike if they share a key."""
    keys = [""]
    for ch in word:
        sounds = readings(ch)
        if not sounds:
            return []
        keys = [f"{k}-{s}" if k else s for k in keys for s in sounds][:MAX_KEYS]
    return keys


def sounds_alike(text: str, start: int, word: tuple[frozenset[str], ...]) -> bool:
    """Whether text[start:] begins with characters that sound like `word` (readings per char)."""
    if start + len(word) > len(text):
        return False
    return all(not sounds.isdisjoint(readings(text[start + i])) for i, sounds in enumerate(word))
