"""A plain lexical baseline: BM25 (bm25s) over jieba-segmented descriptions of the same library.

No synonyms, no pinyin, no priors: what an off-the-shelf search engine answers, so the offline
ranking's advantage is measured rather than assumed. Benchmark-only dependencies (the `bench`
extra of service/pyproject.toml).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import bm25s
import jieba
from cadchat.library.model import Command

jieba.setLogLevel(logging.WARNING)

_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """jieba's search-engine segmentation, lower-cased, punctuation and spaces dropped."""
    return [t for t in (w.strip().lower() for w in jieba.lcut_for_search(text)) if _TOKEN.fullmatch(t)]


class Bm25Baseline:
    """BM25 over `name aliases description` of each command."""

    def __init__(self, commands: Sequence[Command]) -> None:
        self.commands = list(commands)
        corpus = [tokenize(" ".join([c.name, *c.aliases, c.description])) for c in self.commands]
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def search(self, text: str, limit: int) -> list[Command]:
        """The best `limit` commands for a need, best first (empty when no token is known)."""
        tokens = tokenize(text)
        if not tokens:
            return []
        k = min(limit, len(self.commands))
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False)
        return [self.commands[int(d)] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
