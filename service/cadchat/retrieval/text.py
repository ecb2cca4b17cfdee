"""Text analysis shared by documents and queries.

CAD needs mix Chinese and English ("用offset偏移10mm"), so text is split into runs of CJK
characters, which yield character unigrams and bigrams (no word segmenter needed, and short
Chinese descriptions match colloquial phrasings through shared bigrams), and ASCII words,
which are lightly stemmed.
"""

from __future__ import annotations

import re
import unicodedata

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9]*[a-z][a-z0-9]*|[0-9]+")

# Function characters and fillers users type around a need; they carry no intent.
_CJK_STOP = frozenset(
    "的了个一把将给帮我你请问吗呢吧啊呀么怎这那些下里是在和与及或也都就要想能可以用把着过被"
)
_EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "with",
        "by",
        "and",
        "or",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "you",
        "your",
        "please",
        "how",
        "can",
        "do",
        "does",
        "what",
        "which",
        "want",
        "need",
        "make",
        "get",
        "some",
        "all",
        "into",
        "onto",
        "as",
        "so",
        "just",
        "one",
        "two",
        "three",
        "then",
        "there",
        "here",
    ]
)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def stem(word: str) -> str:
    """A deliberately small English stemmer: plural and -ing/-ed forms of CAD verbs and nouns."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2] if word[-3] != "e" else word[:-1]
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# A contrast names what the user does NOT want ("bevel this corner instead of rounding it",
# "make it longer, there is nothing to extend it to", "pan without moving anything",
# "拖回来看看，不要改坐标"): from its marker to the end of the clause nothing is a need. In
# Chinese only a clause that opens with the negation counts: "不要的线" (unwanted lines) and
# "属性文字别没了" (must be kept) are needs.
_CONTRAST = re.compile(
    r"\b(?:instead\s+of|rather\s+than|without|nothing\s+to|no\s+need\s+to)\b[^,.;:!?，。；：！？]*"
    r"|(?<=[,;，；、])\s*(?:而不是|不是|不要|不用|无需|别(?![的人处]))[^,.;:!?，。；：！？]*"
)


def drop_contrast(text: str) -> str:
    """The text without its contrast clauses (see `_CONTRAST`); `text` is normalized."""
    return _CONTRAST.sub(" ", text)


# English verbs whose particle changes the operation: "turn this profile into a solid" converts
# (it does not rotate), "break this block (back) into lines" / "break it apart" explodes (it
# does not break a line at a point). The verb is read as the operation its phrase names.
_PHRASAL = (
    (re.compile(r"\bturn(?:s|ed|ing)?\b(?=(?:\s+[\w-]+){0,6}?\s+into\b)"), "convert"),
    (re.compile(r"\bbreak(?:s|ing)?\b(?=(?:\s+[\w-]+){0,6}?\s+(?:into|apart|up)\b)"), "explode"),
)


def read_phrasal_verbs(text: str) -> str:
    """`text` (normalized) with verb + particle phrases read as the operation they name."""
    for pattern, verb in _PHRASAL:
        text = pattern.sub(verb, text)
    return text


def runs(text: str) -> list[str]:
    """Normalized runs: CJK sequences, ASCII words and numbers, in order."""
    return _RUN.findall(normalize(text))


def is_cjk(run: str) -> bool:
    return run[0] > "\u3000"


# Particles and measure words never belong to a CAD term. A bigram across one ("的圆" in
# "半径的圆弧", "条直" in "两条直线") is an accident of phrasing and pulls in unrelated
# commands; but colloquial Chinese puts them inside verb-object terms ("编个组", "倒个角"),
# so the two characters around one are joined instead ("编组", "倒角").
PARTICLES = frozenset("的了吗呢吧啊呀我你帮请把条根个")
_COUNTERS = frozenset("一两二三四五六七八九十几每这那哪")  # "一个实体" joins nothing


def cjk_grams(run: str) -> list[str]:
    """Character unigrams (without fillers) and bigrams (across particles, not with them)."""
    grams = [ch for ch in run if ch not in _CJK_STOP]
    n = len(run)
    for i in range(n - 1):
        first = run[i]
        if first in PARTICLES:
            continue
        if run[i + 1] not in PARTICLES:
            grams.append(first + run[i + 1])
        if first in _COUNTERS:
            continue
        # "画一个圆" -> "画圆", "编个组" -> "编组": join across counters and measure words,
        # when at least one particle is in between.
        j, skipped = i + 1, False
        while j < n and (run[j] in PARTICLES or run[j] in _COUNTERS):
            skipped = skipped or run[j] in PARTICLES
            j += 1
        if skipped and j < n:
            grams.append(first + run[j])
    return grams


def grams_across_numbers(parts: list[str]) -> list[str]:
    """Character pairs a number sits between: "4行6列" says 行列 (rows and columns) as much as
    "行列" does; `parts` are `runs`."""
    return [
        first[-1] + after[0]
        for first, number, after in zip(parts, parts[1:], parts[2:], strict=False)
        if number.isdigit() and is_cjk(first) and is_cjk(after)
    ]


def words(text: str) -> list[str]:
    """Stemmed ASCII words of a text, stop words and numbers removed."""
    return [stem(r) for r in runs(text) if not is_cjk(r) and not r.isdigit() and r not in _EN_STOP]


def is_stop_word(word: str) -> bool:
    return word in _EN_STOP
