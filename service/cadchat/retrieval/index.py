"""An inverted index over command entries with incremental add/remove.

Scoring is a weighted overlap: every feature a document carries has a weight in 0..1 (its
field's weight, damped for repeats); a query feature contributes its own weight times the
feature's IDF times the document's weight. Similarity divides by the best score the query
could reach on features the corpus knows, so it stays in 0..1 and a query that is fully
explained by one entry's name or concepts scores near 1.

IDF is computed from document frequencies at query time, across every index searched
together, so user programs added one at a time rank on the same scale as the library.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from cadchat.retrieval.lexicon import concepts
from cadchat.retrieval.text import cjk_grams, is_cjk, is_stop_word, normalize, runs, stem, words

T = TypeVar("T")

# Field weights: a name or concept hit says far more than a shared character.
W_NAME = 1.0
W_CONCEPT = 0.9
W_TITLE = 0.8
W_BODY = 0.5
# Query side: concepts and names are the intent; single characters are weak evidence.
Q_NAME = 3.0
Q_CONCEPT = 2.0
Q_WORD = 1.0
Q_BIGRAM = 1.0
Q_UNIGRAM = 0.35


def _title_and_body(description: str) -> tuple[str, str]:
    """The official name before the first colon ("修剪：…") weighs more than the rest."""
    for sep in ("：", ":"):
        head, found, tail = description.partition(sep)
        if found and len(head) <= 12:
            return head, tail
    return "", description


def _text_features(text: str, weight: float, into: dict[str, float]) -> None:
    # Presence, not frequency: descriptions are one sentence, a repeat is style, not emphasis.
    for run in runs(text):
        if is_cjk(run):
            keys = cjk_grams(run)
        elif run[0].isdigit():
            continue
        else:
            keys = ["w:" + stem(run)]
        for key in keys:
            if weight > into.get(key, 0.0):
                into[key] = weight


def document_features(name: str, aliases: Iterable[str], description: str) -> dict[str, float]:
    features: dict[str, float] = {}
    for token in (name, *aliases):
        token = normalize(token).strip()
        if token:
            features["n:" + token] = W_NAME
            # An English-looking command name is also a word users type ("offset", "array").
            features.setdefault("w:" + stem(token), W_NAME * 0.8)
    title, body = _title_and_body(description)
    _text_features(body, W_BODY, features)
    _text_features(title, W_TITLE, features)
    norm = normalize(description)
    for concept in concepts(norm + normalize(name), words(description) + [stem(normalize(name))]):
        features["c:" + concept] = W_CONCEPT
    return features


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    features: dict[str, float]
    names: frozenset[str]


def analyze_query(text: str) -> Query:
    norm = normalize(text)
    parts = runs(text)
    features: dict[str, float] = {}
    names: set[str] = set()
    stemmed: list[str] = []
    for run in parts:
        if is_cjk(run):
            for gram in cjk_grams(run):
                features[gram] = Q_BIGRAM if len(gram) == 2 else Q_UNIGRAM
        elif run[0].isdigit() or (is_stop_word(run) and len(parts) > 1):
            continue
        else:
            # Any word may be a command name or alias typed as such ("offset", "TR").
            names.add(run)
            features["n:" + run] = Q_NAME
            word = stem(run)
            stemmed.append(word)
            features["w:" + word] = Q_WORD
    for concept in concepts(norm, stemmed):
        features["c:" + concept] = Q_CONCEPT
    return Query(text=text, features=features, names=frozenset(names))


class SearchIndex(Generic[T]):
    """Entries keyed by a hashable id, with postings per feature."""

    def __init__(self) -> None:
        self._entries: dict[object, T] = {}
        self._features: dict[object, dict[str, float]] = {}
        self._postings: dict[str, dict[object, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: object, entry: T, features: Mapping[str, float]) -> None:
        if key in self._entries:
            self.remove(key)
        self._entries[key] = entry
        self._features[key] = dict(features)
        for feature, weight in features.items():
            self._postings.setdefault(feature, {})[key] = weight

    def remove(self, key: object) -> bool:
        if key not in self._entries:
            return False
        del self._entries[key]
        for feature in self._features.pop(key):
            posting = self._postings[feature]
            del posting[key]
            if not posting:
                del self._postings[feature]
        return True

    def get(self, key: object) -> T | None:
        return self._entries.get(key)

    def entries(self) -> Iterable[T]:
        return self._entries.values()

    def df(self, feature: str) -> int:
        posting = self._postings.get(feature)
        return len(posting) if posting else 0

    def accumulate(self, feature: str, factor: float, scores: dict[object, float]) -> None:
        posting = self._postings.get(feature)
        if posting:
            for key, weight in posting.items():
                scores[key] = scores.get(key, 0.0) + factor * weight


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    entry: T
    score: float
    similarity: float


def search(
    indexes: Iterable[SearchIndex[T]],
    query: Query,
    limit: int,
    sort_key,
    *,
    max_df_ratio: float = 0.3,
    min_docs_for_cutoff: int = 2000,
) -> list[Hit[T]]:
    """Rank the entries of several indexes against one query, best first, deterministically.

    In large corpora, features carried by more than `max_df_ratio` of all entries (a common
    character such as 线) are skipped: their IDF is near zero, and walking their postings would
    dominate query time.
    """
    indexes = [ix for ix in indexes if len(ix)]
    total = sum(len(ix) for ix in indexes)
    if not total or not query.features:
        return []
    cutoff = total * max_df_ratio if total >= min_docs_for_cutoff else total + 1
    per_index: list[dict[object, float]] = [{} for _ in indexes]
    reachable = 0.0
    for feature, q_weight in query.features.items():
        df = sum(ix.df(feature) for ix in indexes)
        if not df:
            continue
        idf = math.log(1.0 + (total - df + 0.5) / (df + 0.5))
        factor = q_weight * idf
        reachable += factor
        if df > cutoff:
            continue
        for ix, scores in zip(indexes, per_index):
            ix.accumulate(feature, factor, scores)
    if reachable <= 0.0:
        return []
    candidates = [
        (score, ix, key) for ix, scores in zip(indexes, per_index) for key, score in scores.items()
    ]
    # Ties are broken by the entry's own sort key, so equal scores always rank the same way.
    best = heapq.nsmallest(limit, candidates, key=lambda c: (-c[0], sort_key(c[1].get(c[2]))))
    ranked = [(score, ix.get(key)) for score, ix, key in best]
    return [
        Hit(entry=entry, score=score, similarity=round(min(1.0, score / reachable), 4))
        for score, entry in ranked
    ]
