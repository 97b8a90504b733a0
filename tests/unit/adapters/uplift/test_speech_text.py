"""Cutting text for speech: sentences as they complete, pieces under a request limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.uplift.speech_text import split_for_limit, split_sentences, take_sentences


def test_a_sentence_is_complete_once_whitespace_follows_its_punctuation() -> None:
    assert take_sentences("Hello there.") == ([], "Hello there.")
    assert take_sentences("Hello there. How") == (["Hello there."], "How")
    assert take_sentences("Wait! Really? Yes… ok") == (["Wait!", "Really?", "Yes…"], "ok")


def test_urdu_full_stops_and_question_marks_end_sentences() -> None:
    assert split_sentences("سلام۔ آپ کیسے ہیں؟ ٹھیک") == ["سلام۔", "آپ کیسے ہیں؟", "ٹھیک"]


def test_line_breaks_end_sentences_and_quotes_stay_with_theirs() -> None:
    assert split_sentences('She said "hi." Then left.\n- milk\n- eggs') == [
        'She said "hi."',
        "Then left.",
        "- milk",
        "- eggs",
    ]


def test_abbreviations_initials_and_decimals_do_not_end_a_sentence() -> None:
    text = "Dr. Smith met J. K. Rowling in the U.S. today. It cost 3.5 dollars, e.g. a lot."
    assert split_sentences(text) == [
        "Dr. Smith met J. K. Rowling in the U.S. today.",
        "It cost 3.5 dollars, e.g. a lot.",
    ]


words = st.text(alphabet="abcdefghij", min_size=1, max_size=30)
separators = st.sampled_from([" ", ". ", "! ", "? ", "۔ ", "\n", ", "])
texts = st.lists(st.tuples(words, separators), max_size=30).map(
    lambda pairs: "".join(w + s for w, s in pairs)
)


@given(texts, st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_text_arriving_in_pieces_is_cut_exactly_as_the_whole_text(
    text: str, cuts: list[int]
) -> None:
    bounds = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    streamed: list[str] = []
    buffer = ""
    for piece in pieces:
        done, buffer = take_sentences(buffer + piece)
        streamed += done
    if buffer.strip():
        streamed.append(buffer.strip())
    assert streamed == split_sentences(text)


@given(texts, st.integers(min_value=1, max_value=60))
def test_pieces_fit_the_limit_and_keep_every_word(text: str, limit: int) -> None:
    pieces = split_for_limit(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_long_text_is_cut_between_sentences_before_words() -> None:
    text = "One two three. Four five six. Seven eight nine."
    assert split_for_limit(text, 30) == ["One two three. Four five six.", "Seven eight nine."]
    assert split_for_limit("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]
    assert split_for_limit("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_for_limit("   ", 10) == []
    with pytest.raises(ValueError, match="at least 1"):
        split_for_limit("text", 0)
