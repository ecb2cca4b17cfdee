"""Inverted indexes over command entries: a frozen one for the library, a mutable one for users.

Scoring is a weighted overlap: every feature a document carries has a weight in 0..1 (its
field's weight times the entry's prior); a query feature contributes its own weight times the
feature's IDF times the document's weight. Similarity divides by the best score the query
could reach on features the corpus knows, so it stays in 0..1 and a query that is fully
explained by one entry's name or concepts scores near 1.

IDF is computed from document frequencies at query time, across every index searched
together, so user programs added one at a time rank on the same scale as the library. The
library lives in a FrozenIndex (numpy arrays, rebuilt on reload); user programs in a mutable
SearchIndex.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from cadchat.retrieval.lexicon import OBJECT_CONCEPTS, VERB_COMPLEMENTS, concepts, sound_concepts
from cadchat.retrieval.lexicon import preload as preload_sounds
from cadchat.retrieval.phonetic import word_keys
from cadchat.retrieval.text import (
    PARTICLES,
    cjk_grams,
    drop_contrast,
    grams_across_numbers,
    is_cjk,
    is_stop_word,
    normalize,
    read_phrasal_verbs,
    runs,
    stem,
    words,
)

T = TypeVar("T")

# Field weights: a name or concept hit says far more than a shared character.
W_NAME = 1.0
# A concept the official name says (移动 of MOVE) against one only a phrasing says (挪 of
# DIMTEDIT's "标注数字挪位置"): a hair heavier, so it decides what would otherwise be a tie.
W_CONCEPT_NAMED = 0.905
W_CONCEPT = 0.9
W_CONCEPT_EXPLAINED = 0.75  # a concept only the explanation mentions, not the name or phrasings
W_TITLE = 0.8
W_BODY = 0.65
W_NAME_WORD = 0.5
# Query side: concepts and names are the intent; single characters are weak evidence.
Q_NAME = 3.0  # the whole query is a command name or alias ("offset", "TR")
Q_NAME_IN_TEXT = 0.3  # a word in a sentence that happens to be a name ("delete this line")
Q_ACTION = 2.5
Q_OBJECT = 1.0
Q_WORD = 1.0
Q_BIGRAM = 1.0
Q_UNIGRAM = 0.5
Q_TITLE = 0.5
Q_PAIR = 0.5  # an action together with its object ("cp:join+solid3d")
Q_SOUND = 0.4  # a corpus pair that sounds like a typed pair unknown to the corpus (便宜 -> 偏移)
Q_SOUND_CONCEPT = 0.75  # a concept the need only sounds like, relative to naming it
Q_SOUND_TITLE = Q_TITLE * Q_SOUND_CONCEPT  # an official name the need only sounds like
MAX_TITLE = 8  # characters of an official name looked for inside a query
MAX_ALIAS_VERB = 3  # letters of an alias typed as a verb ("co 一下"); longer ones are words


# A clause that sends the reader to another command ("；保留属性文字用BURST": for that, use
# BURST; "新版由LAYERSTATE取代": superseded by LAYERSTATE) describes the other command, not this
# one: its words must not make this command match what it points away from.
_REFERENCE = re.compile(r"[^；;，,、。（）()]*(?:用|见|由)\s*[A-Z][A-Z0-9_]*[A-Z0-9][^；;，,、。（）()]*")


def own_text(description: str) -> str:
    """A description without its clauses about other commands (see `_REFERENCE`)."""
    return _REFERENCE.sub("", description)


def _explanation_and_rest(body: str) -> tuple[str, str]:
    """A library description's body is an explanation, then the phrasings users type in
    parentheses, then English keywords: ("把线延长到指定边界", "（延长到边…）extend …").
    A body without parentheses is all phrasing."""
    for sep in ("（", "("):
        head, found, tail = body.partition(sep)
        if found:
            return head, tail
    return "", body


def _title_and_body(description: str) -> tuple[str, str]:
    """The official name before the first colon ("修剪：…") weighs more than the rest."""
    for sep in ("：", ":"):
        head, found, tail = description.partition(sep)
        if found and len(head) <= 12:
            return head, tail
    return "", description


def _text_features(text: str, weight: float, into: dict[str, float]) -> None:
    # Presence, not frequency: descriptions are one sentence, a repeat is style, not emphasis.
    parts = runs(text)
    for gram in grams_across_numbers(parts):
        into[gram] = max(weight, into.get(gram, 0.0))
    for run in parts:
        if is_cjk(run):
            keys = cjk_grams(run)
        elif run.isdigit():
            continue
        else:
            keys = ["w:" + stem(run)]
        for key in keys:
            if weight > into.get(key, 0.0):
                into[key] = weight


def concept_pairs(found: set[str]) -> list[str]:
    """An action with the kind of object it acts on ("cp:join+solid3d"): 合并 of solids is UNION,
    合并 of lines is JOIN; the pair tells near neighbours apart where the action alone cannot."""
    objects = [c for c in found if c in OBJECT_CONCEPTS and c != "draw"]
    return [f"cp:{a}+{o}" for a in found if a not in OBJECT_CONCEPTS for o in objects]


def sound_term(feature: str) -> tuple[str, str] | None:
    """(kind prefix, Chinese word) of a feature that sound-alikes can stand in for: a character
    pair ("", "偏移") or an official name of two or more characters ("t:", "偏移")."""
    prefix, word = ("t:", feature[2:]) if feature.startswith("t:") else ("", feature)
    if len(word) < 2 or (not prefix and len(word) != 2) or not all(is_cjk(ch) for ch in word):
        return None
    return prefix, word


def sound_keys(feature: str) -> list[str]:
    """The keys under which a sound term is found ("pian-yi", "t:pian-yi"); [] for other features."""
    term = sound_term(feature)
    return [term[0] + key for key in word_keys(term[1])] if term else []


class SoundAlikes:
    """Which terms of a corpus sound alike: sound key -> pairs and names ("pian-yi" -> 偏移)."""

    def __init__(self, features: Iterable[str] = ()) -> None:
        self._terms: dict[str, dict[str, None]] = {}
        for feature in features:
            self.add(feature)

    def add(self, feature: str) -> None:
        for key in sound_keys(feature):
            self._terms.setdefault(key, {})[feature] = None

    def remove(self, feature: str) -> None:
        for key in sound_keys(feature):
            known = self._terms.get(key)
            if known is not None:
                known.pop(feature, None)
                if not known:
                    del self._terms[key]

    def get(self, key: str) -> Iterable[str]:
        return self._terms.get(key, ())


def document_features(
    name: str, aliases: Iterable[str], description: str, prior: float = 1.0, concept_prior: float = 1.0
) -> dict[str, float]:
    """Weighted features of one entry; `prior` (0..1) scales them all, so a rarely wanted
    command needs a clearly better match to outrank an everyday one. `concept_prior` (0..1)
    scales only the concepts: an extension shares the core command's action (炸开, 填充), so it
    should win on what only it does (its own words), not on the action they share."""
    features: dict[str, float] = {}
    description = own_text(description)
    for token in (name, *aliases):
        token = normalize(token).strip()
        if token:
            features["n:" + token] = W_NAME
            # An English-looking command name is also a word users type ("offset", "array").
            features.setdefault("w:" + stem(token), W_NAME_WORD)
    title, body = _title_and_body(description)
    _text_features(body, W_BODY, features)
    _text_features(title, W_TITLE, features)
    if title:
        # The official name said in full ("画圆" names 圆, not 圆弧) is stronger than its bigrams.
        features["t:" + normalize(title).strip()] = W_TITLE
    explanation, said = _explanation_and_rest(body)
    found = concepts(normalize(title + "。" + said + "。" + name), [*words(said), stem(normalize(name))])
    # What the command is (its name, the ways users say it) outweighs what its explanation
    # happens to mention ("绘制两端无限延伸的直线" does not make XLINE an extend command).
    for concept in concepts(normalize(explanation), words(explanation)) - found:
        features["c:" + concept] = W_CONCEPT_EXPLAINED * concept_prior
    named = concepts(normalize(title), [stem(normalize(name))]) if title else set()
    for concept in found:
        weight = W_CONCEPT_NAMED if concept in named else W_CONCEPT
        features["c:" + concept] = weight * concept_prior
    for pair in concept_pairs(found):
        features[pair] = W_CONCEPT * concept_prior
    if prior != 1.0:
        features = {key: weight * prior for key, weight in features.items()}
    return features


@dataclass(frozen=True, slots=True)
class Query:
    """An analysed need: weighted features, and the features (character pairs, names) that are
    looked for by their sound, with the weight of a sound-alike, when the corpus does not know
    them as typed."""

    text: str
    features: dict[str, float]
    sounds: dict[str, float] = field(default_factory=dict)


Q_ABBREVIATED = 0.5  # a command name the need's words abbreviate, relative to naming it
MIN_PREFIX = 5  # letters a word must share with a command name it starts with ("regen-erate")


def compound_names(words: list[str]) -> dict[str, float]:
    """Command names that adjacent English words spell (name -> weight relative to typing the name):
    two words joined ("save as" -> saveas, 1.0); a word with a short form of its neighbour
    before it, in either order ("line weight" -> lweight, "continue dimension" -> dimcontinue,
    "paste clipboard" -> pasteclip); the initials of three or more words ("user coordinate
    system" -> ucs); the start of a long word ("regenerate" -> regen)."""
    names: dict[str, float] = {}
    for first, second in itertools.pairwise(words):
        if is_stop_word(first) or is_stop_word(second):
            if len(words) == 2:  # "save as" is a name, "a-a" in a sentence is not
                names[first + second] = 1.0
            continue
        names[first + second] = 1.0
        for head, tail in ((first, second), (second, first)):
            tails = {tail, tail[:4]} if len(tail) > 4 else {tail}
            for size in range(1, min(len(head), 4)):
                for end in tails:
                    names.setdefault(head[:size] + end, Q_ABBREVIATED)
    for size in range(3, min(len(words), 5) + 1):
        for start in range(len(words) - size + 1):
            window = words[start : start + size]
            if not any(is_stop_word(w) for w in window):
                names.setdefault("".join(w[0] for w in window), Q_ABBREVIATED)
    for word in words:
        # A short form, not an inflection: "regenerate" names REGEN, "pointing" is not POINT.
        root = stem(word)
        for end in range(MIN_PREFIX, len(word) - 2):
            if not root.startswith(word[:end]) or end < len(root) - 2:
                names.setdefault(word[:end], Q_ABBREVIATED)
    return names


def analyze_query(text: str) -> Query:
    norm = read_phrasal_verbs(drop_contrast(normalize(text)))
    parts = runs(norm)
    features: dict[str, float] = {}
    sounds: dict[str, float] = {}
    stemmed: list[str] = []
    typed_command = len(parts) == 1 and not is_cjk(parts[0])
    for k, run in enumerate(parts):
        if is_cjk(run):
            grams = cjk_grams(run)
            for gram in grams:
                features[gram] = Q_BIGRAM if len(gram) == 2 else Q_UNIGRAM
            for gram in grams:
                if len(gram) == 2:
                    sounds[gram] = Q_SOUND
            for size in range(1, min(len(run), MAX_TITLE) + 1):
                for start in range(len(run) - size + 1):
                    part = run[start : start + size]
                    features["t:" + part] = Q_TITLE
                    if size > 1 and PARTICLES.isdisjoint(part):
                        sounds["t:" + part] = Q_SOUND_TITLE
        elif run.isdigit() or (is_stop_word(run) and len(parts) > 1):
            continue
        else:
            # Any word may be a command name or alias typed as such ("offset", "TR"); a short
            # one used as a Chinese verb ("co 一下", "tr掉") is an alias typed as the command.
            used_as_verb = (
                len(run) <= MAX_ALIAS_VERB
                and k + 1 < len(parts)
                and parts[k + 1].startswith(VERB_COMPLEMENTS)
            )
            features["n:" + run] = Q_NAME if typed_command or used_as_verb else Q_NAME_IN_TEXT
            word = stem(run)
            stemmed.append(word)
            features["w:" + word] = Q_WORD
    # English writes as words what CAD names as one: "save as" SAVEAS, "line weight"
    # lineweight, "continue dimension" DIMCONTINUE, "user coordinate system" UCS.
    latin = [run for run in parts if not is_cjk(run) and not run.isdigit()]
    whole = len(latin) == len(parts) <= 3  # the need is only these words: a command typed
    for name, weight in compound_names(latin).items():
        features.setdefault("n:" + name, weight * (Q_NAME if whole else Q_NAME_IN_TEXT))
    for first, second in itertools.pairwise(parts):
        if first in latin and second in latin:
            features.setdefault("w:" + stem(first + second), Q_WORD)
    for gram in grams_across_numbers(parts):
        features.setdefault(gram, Q_BIGRAM)
    named = concepts(norm, stemmed)
    sounded = sound_concepts(norm) - named
    if "dimension" in named:
        # A distance the need dimensions is what the dimension shows, not an inquiry (DIST):
        # "标一下两孔的距离", "put a dimension showing the distance between the columns".
        named.discard("distance")
        sounded.discard("distance")
    for concept in named:
        features["c:" + concept] = Q_OBJECT if concept in OBJECT_CONCEPTS else Q_ACTION
    for concept in sounded:
        weight = Q_OBJECT if concept in OBJECT_CONCEPTS else Q_ACTION
        features["c:" + concept] = weight * Q_SOUND_CONCEPT
    for pair in concept_pairs(named):
        features[pair] = Q_PAIR
    for pair in concept_pairs(named | sounded):
        features.setdefault(pair, Q_PAIR * Q_SOUND_CONCEPT)
    return Query(text=text, features=features, sounds=sounds)


class SearchIndex(Generic[T]):
    """A mutable index (users' programs: added and removed one at a time), postings as dicts.

    `tie_key` orders entries of equal score; it must agree with the `sort_key` given to
    `search`, so that capping ties here never drops an entry `search` would have kept.
    """

    def __init__(self, tie_key: Callable[[T], Any] = repr) -> None:
        self._tie_key = tie_key
        self._entries: dict[object, T] = {}
        self._features: dict[object, tuple[str, ...]] = {}
        self._postings: dict[str, dict[object, float]] = {}
        self._sounds = SoundAlikes()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, key: object, entry: T, features: Mapping[str, float]) -> None:
        if key in self._entries:
            self.remove(key)
        self._entries[key] = entry
        self._features[key] = tuple(features)
        for feature, weight in features.items():
            posting = self._postings.setdefault(feature, {})
            if not posting:
                self._sounds.add(feature)
            posting[key] = weight

    def remove(self, key: object) -> bool:
        if key not in self._entries:
            return False
        del self._entries[key]
        for feature in self._features.pop(key):
            posting = self._postings[feature]
            del posting[key]
            if not posting:
                del self._postings[feature]
                self._sounds.remove(feature)
        return True

    def get(self, key: object) -> T | None:
        return self._entries.get(key)

    def entries(self) -> Iterable[T]:
        return self._entries.values()

    def df(self, feature: str) -> int:
        posting = self._postings.get(feature)
        return len(posting) if posting else 0

    def sound_alikes(self, key: str) -> Iterable[str]:
        """The pairs and names of this index with sound key `key` (see `sound_keys`)."""
        return self._sounds.get(key)

    def top(self, factors: list[tuple[str, float]], limit: int) -> list[tuple[float, T]]:
        """The best `limit` entries as (score, entry), best first; equal scores by `tie_key`."""
        scores: dict[object, float] = {}
        for feature, factor in factors:
            posting = self._postings.get(feature)
            if posting:
                for key, weight in posting.items():
                    scores[key] = scores.get(key, 0.0) + factor * weight
        if not scores or limit <= 0:
            return []
        entries, tie_key = self._entries, self._tie_key
        best = heapq.nsmallest(limit, scores.items(), key=lambda kv: (-kv[1], tie_key(entries[kv[0]])))
        return [(score, entries[key]) for key, score in best]


class FrozenIndex(Generic[T]):
    """An immutable index (a library snapshot) in compressed-sparse-row arrays.

    Entries of equal score rank in insertion order; insert them in the order of the `sort_key`
    given to `search`, so that capping ties here never drops an entry `search` would keep.

    Scoring adds each query feature's postings into one float32 vector with numpy, so a query
    over 10,000 commands costs a few array operations instead of a Python loop per posting,
    and the postings take 8 bytes each instead of a dict slot.
    """

    def __init__(self, items: Iterable[tuple[object, T, Mapping[str, float]]]) -> None:
        self._entries: list[T] = []
        self._ordinal: dict[object, int] = {}
        self._feature_ids: dict[str, int] = {}
        # Built as flat C arrays (12 bytes a posting), not lists of Python numbers: a 10,000
        # command library has ~10^6 postings, and a process keeps its peak heap as RSS.
        fids, docs, weights = array("i"), array("i"), array("f")
        for key, entry, features in items:
            ordinal = len(self._entries)
            self._entries.append(entry)
            self._ordinal[key] = ordinal
            for feature, weight in features.items():
                fids.append(self._feature_ids.setdefault(feature, len(self._feature_ids)))
                docs.append(ordinal)
                weights.append(weight)
        fid_array = np.frombuffer(fids, dtype=np.int32)
        order = np.argsort(fid_array, kind="stable")
        self._docs = np.frombuffer(docs, dtype=np.int32)[order]
        self._weights = np.frombuffer(weights, dtype=np.float32)[order]
        indptr = np.zeros(len(self._feature_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(fid_array, minlength=len(self._feature_ids)), out=indptr[1:])
        # Posting bounds as a C array of Python-indexable ints: a query looks up ~50 features,
        # and a numpy scalar per lookup costs more than the lookup.
        self._indptr = array("q", indptr.tobytes())
        if self._entries:
            preload_sounds()  # once per process, in the loader's thread, never in a request
        self._sounds = SoundAlikes(self._feature_ids)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: object) -> T | None:
        ordinal = self._ordinal.get(key)
        return None if ordinal is None else self._entries[ordinal]

    def entries(self) -> Iterable[T]:
        return iter(self._entries)

    def df(self, feature: str) -> int:
        fid = self._feature_ids.get(feature)
        return 0 if fid is None else self._indptr[fid + 1] - self._indptr[fid]

    def sound_alikes(self, key: str) -> Iterable[str]:
        """The pairs and names of this index with sound key `key` (see `sound_keys`)."""
        return self._sounds.get(key)

    def top(self, factors: list[tuple[str, float]], limit: int) -> list[tuple[float, T]]:
        """The best `limit` entries as (score, entry), best first; equal scores in insertion order.

        Ties are capped, not returned whole: a library of 50,000 near-identical lines costs one
        partition and a sort of `limit` entries, not a sort of 50,000.
        """
        docs: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        scale: list[float] = []
        sizes: list[int] = []
        feature_ids, indptr = self._feature_ids, self._indptr
        for feature, factor in factors:
            fid = feature_ids.get(feature)
            if fid is not None:
                lo, hi = indptr[fid], indptr[fid + 1]
                docs.append(self._docs[lo:hi])
                weights.append(self._weights[lo:hi])
                scale.append(factor)
                sizes.append(hi - lo)
        if not docs or limit <= 0:
            return []
        # One C pass adds every posting of every query feature, times its factor, into the scores.
        posted = np.concatenate(weights) * np.repeat(np.asarray(scale, dtype=np.float32), sizes)
        scores = np.bincount(np.concatenate(docs), posted, minlength=len(self._entries))
        candidates = np.flatnonzero(scores)  # ascending ordinals: insertion order
        if len(candidates) > limit:
            values = scores[candidates]
            floor = np.partition(values, len(values) - limit)[len(values) - limit]
            above = candidates[values > floor]
            tied = candidates[values == floor][: limit - len(above)]  # the earliest inserted
            candidates = np.concatenate((above, tied))
        # Best first; equal scores by ordinal (lexsort's last key is the primary one).
        chosen = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [(float(scores[i]), self._entries[i]) for i in chosen.tolist()]


class Index(Protocol[T]):
    def __len__(self) -> int: ...
    def df(self, feature: str) -> int: ...
    def sound_alikes(self, key: str) -> Iterable[str]: ...
    def top(self, factors: list[tuple[str, float]], limit: int) -> list[tuple[float, T]]: ...


@dataclass(frozen=True, slots=True)
class Hit(Generic[T]):
    entry: T
    score: float
    similarity: float


def search(
    indexes: Iterable[Index[T]],
    query: Query,
    limit: int,
    sort_key: Callable[[T], Any],
) -> list[Hit[T]]:
    """Rank the entries of several indexes against one query, best first, deterministically.

    IDF comes from the document frequencies of all indexes together, so entries of different
    indexes score on one scale. Similarity is the score over the best score the query could
    reach on the features the corpus knows.
    """
    indexes = [ix for ix in indexes if len(ix)]
    total = sum(len(ix) for ix in indexes)
    if not total or not query.features:
        return []
    factors: list[tuple[str, float]] = []
    reachable = 0.0
    known: set[str] = set()
    df_of = indexes[0].df if len(indexes) == 1 else lambda f: sum(ix.df(f) for ix in indexes)
    for feature, q_weight in query.features.items():
        df = df_of(feature)
        if df:
            factor = q_weight * math.log(1.0 + (total - df + 0.5) / (df + 0.5))
            factors.append((feature, factor))
            reachable += factor
            known.add(feature)
    # A pair the corpus does not know as typed may be a pinyin slip (便宜 for 偏移): the corpus
    # pairs that sound like it stand in, weaker than the pair typed right would; so do names
    # that sound like a stretch of the need with such a pair in it (涂层 for 图层).
    slips = {f for f in query.sounds if len(f) == 2 and f not in known}
    stand_ins: dict[str, float] = {}
    for typed, q_weight in query.sounds.items():
        if typed in known or not slips:
            continue
        if len(typed) > 2 and not any(typed[i : i + 2] in slips for i in range(2, len(typed) - 1)):
            continue
        best = 0.0
        keys = sound_keys(typed)
        for alike in {a for ix in indexes for key in keys for a in ix.sound_alikes(key)}:
            if alike in query.features:
                continue
            df = df_of(alike)
            factor = q_weight * math.log(1.0 + (total - df + 0.5) / (df + 0.5))
            stand_ins[alike] = max(factor, stand_ins.get(alike, 0.0))
            best = max(best, factor)
        reachable += best
    factors.extend(stand_ins.items())
    if reachable <= 0.0:
        return []
    pool = [candidate for ix in indexes for candidate in ix.top(factors, limit)]
    # Ties are broken by the entry's own sort key, so equal scores always rank the same way.
    pool.sort(key=lambda c: (-c[0], sort_key(c[1])))
    return [
        Hit(entry=entry, score=score, similarity=round(min(1.0, score / reachable), 4))
        for score, entry in pool[:limit]
    ]
