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
) -> dict[str, float]:
    """BM25 score of each document (by id) that matches at least one query term.

    ``documents`` maps ids to their index terms (see :func:`index_terms`); query terms are
    stemmed the same way here. Scores are positive; documents with no match are absent.
    """
    terms = {stem(t) for t in query_terms if t}
    if not terms or not documents:
        return {}
    n = len(documents)
    avg_len = sum(len(d) for d in documents.values()) / n or 1.0
    counts = {doc_id: Counter(doc) for doc_id, doc in documents.items()}
    df = {t: sum(1 for c in counts.values() if t in c) for t in terms}
    scores: dict[str, float] = {}
    for doc_id, tf in counts.items():
        length = len(documents[doc_id])
        score = 0.0
        for term in terms:
            freq = tf.get(term, 0)
            if not freq:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * freq * (k1 + 1) / (freq + k1 * (1 - b + b * length / avg_len))
        if score > 0:
            scores[doc_id] = score
    return scores
