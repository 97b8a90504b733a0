"""BM25 lexical relevance, as a pure function over pre-tokenised documents."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from companion.domain.text import STOP_WORDS, stem, tokenize


def index_terms(text: str) -> list[str]:
    """The stemmed, stop-word-free terms of a document or query, in order."""
    return [stem(t) for t in tokenize(text) if t not in STOP_WORDS]


def bm25(
    query_terms: Sequence[str],
    documents: Mapping[str, Sequence[str]],
    *,
    k1: float = 1.2,
    b: float = 0.75,
    phrases: Sequence[str] = (),
) -> dict[str, float]:
    """BM25 score of each document (by id) that matches at least one query term or phrase.

    ``documents`` maps ids to their index terms (see :func:`index_terms`); query terms are
    stemmed the same way here. A phrase scores like one more term whose occurrences are
    the places where its index terms appear consecutively in the document ("support
    group" matches "went to a support group", not "group support"). Scores are positive;
    documents with no match are absent.
    """
    terms = {stem(t) for t in query_terms if t}
    sequences: set[tuple[str, ...]] = set()
    for phrase in phrases:
        words = tuple(index_terms(phrase))
        if len(words) == 1:
            terms.add(words[0])  # a one-word phrase is just a term (and not counted twice)
        elif words:
            sequences.add(words)
    if not (terms or sequences) or not documents:
        return {}
    n = len(documents)
    avg_len = sum(len(d) for d in documents.values()) / n or 1.0
    counts = {doc_id: Counter(doc) for doc_id, doc in documents.items()}
    # Occurrences of every phrase in every document that has all of its words at all.
    phrase_tf: dict[tuple[str, ...], dict[str, int]] = {}
    for words in sequences:
        found: dict[str, int] = {}
        for doc_id, tf in counts.items():
            if all(word in tf for word in words):
                occurrences = _occurrences(words, documents[doc_id])
                if occurrences:
                    found[doc_id] = occurrences
        phrase_tf[words] = found
    df = {t: sum(1 for c in counts.values() if t in c) for t in terms}
    scores: dict[str, float] = {}
    for doc_id, tf in counts.items():
        length = len(documents[doc_id])
        norm = k1 * (1 - b + b * length / avg_len)
        score = 0.0
        for term in terms:
            freq = tf.get(term, 0)
            if freq:
                score += _idf(n, df[term]) * freq * (k1 + 1) / (freq + norm)
        for found in phrase_tf.values():
            freq = found.get(doc_id, 0)
            if freq:
                score += _idf(n, len(found)) * freq * (k1 + 1) / (freq + norm)
        if score > 0:
            scores[doc_id] = score
    return scores


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _occurrences(words: tuple[str, ...], doc: Sequence[str]) -> int:
    """How many times ``words`` occur consecutively in ``doc`` (overlaps count)."""
    size = len(words)
    first = words[0]
    return sum(
        1
        for i in range(len(doc) - size + 1)
        if doc[i] == first and tuple(doc[i : i + size]) == words
    )
