"""BM25 with phrases: words said together score, words scattered do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.lexical import bm25, index_terms

DOCS = {
    "together": index_terms("Found a support group for new parents"),
    "apart": index_terms("Found support for a new parents group"),
    "twice": index_terms("The support group said the support group meets on Monday"),
    "other": index_terms("Walks the dog every morning"),
}


def test_a_phrase_scores_only_where_its_words_are_consecutive() -> None:
    scores = bm25((), DOCS, phrases=("support group",))
    assert set(scores) == {"together", "twice"}
    assert all(score > 0 for score in scores.values())


def test_a_phrase_adds_to_the_score_of_its_words() -> None:
    plain = bm25(("support", "group"), DOCS)
    assert plain["together"] == pytest.approx(plain["apart"])  # the same words
    boosted = bm25(("support", "group"), DOCS, phrases=("support group",))
    assert boosted["together"] > boosted["apart"]
    assert boosted["apart"] == pytest.approx(plain["apart"])


def test_phrases_are_stemmed_and_skip_stop_words_like_documents() -> None:
    scores = bm25((), DOCS, phrases=("Supporting  Groups!", "support the group"))
    assert set(scores) == {"together", "twice"}


def test_repeated_phrases_count_and_order_matters() -> None:
    docs = {"once": DOCS["together"], "twice": DOCS["twice"]}
    scores = bm25((), docs, phrases=("support group",))
    assert scores["twice"] > scores["once"]
    assert bm25((), docs, phrases=("group support",)) == {}


def test_a_one_word_phrase_is_a_term_and_is_not_counted_twice() -> None:
    as_term = bm25(("dog",), DOCS)
    assert bm25((), DOCS, phrases=("dogs",)) == as_term
    assert bm25(("dog",), DOCS, phrases=("dog",)) == as_term


def test_empty_or_stop_word_phrases_match_nothing() -> None:
    assert bm25((), DOCS, phrases=("", "   ", "the of and", "!!")) == {}
    assert bm25(("dog",), {}, phrases=("support group",)) == {}


def test_without_phrases_scores_are_unchanged() -> None:
    assert bm25(["support", "morning"], DOCS) == bm25(["support", "morning"], DOCS, phrases=())


WORDS = st.sampled_from(["support", "group", "dog", "walk", "park", "tea", "chess", "the"])
DOCUMENTS = st.dictionaries(
    st.text(alphabet="abcdef", min_size=1, max_size=4),
    st.lists(WORDS, max_size=12).map(lambda words: index_terms(" ".join(words))),
    max_size=8,
)
QUERIES = st.lists(WORDS, max_size=3)
PHRASES = st.lists(st.lists(WORDS, min_size=1, max_size=3).map(" ".join), max_size=3)


def _contains(doc: list[str], words: list[str]) -> bool:
    return any(doc[i : i + len(words)] == words for i in range(len(doc) - len(words) + 1))


@given(documents=DOCUMENTS, terms=QUERIES, phrases=PHRASES)
def test_scores_are_positive_and_only_matching_documents_appear(
    documents: dict[str, list[str]], terms: list[str], phrases: list[str]
) -> None:
    scores = bm25(terms, documents, phrases=phrases)
    wanted = [index_terms(t) for t in terms] + [index_terms(p) for p in phrases]
    wanted = [words for words in wanted if words]
    matching = {
        doc_id
        for doc_id, doc in documents.items()
        if any(_contains(doc, words) for words in wanted)
    }
    assert set(scores) == matching
    assert all(score > 0 for score in scores.values())
