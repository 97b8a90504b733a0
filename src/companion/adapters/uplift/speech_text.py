"""Text cut for speech: sentences as they complete, and pieces that fit a request limit.

A speech service starts speaking sooner when it is given the first sentence of a reply
as soon as that sentence is complete, instead of the whole reply; and a service with a
limit on the length of one request needs long text cut where a reader would pause.
"""

from __future__ import annotations

import re

# Terminal punctuation (Latin, Urdu full stop and question mark, ellipsis), then any
# closing quotes or brackets, then whitespace; or a line break, which in a model's reply
# separates paragraphs and list items.
_BOUNDARY = re.compile(r"[.!?۔؟…]+[\"'”’)\]»]*\s+|\s*\n\s*")
_WORD_BEFORE = re.compile(r"(\S+)$")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr vs mt no approx dept est fig inc ltd co jan feb mar apr "
    "jun jul aug sep sept oct nov dec".split()
)


def _is_abbreviation(text_before: str) -> bool:
    """Whether the full stop that follows ``text_before`` ends an abbreviation."""
    match = _WORD_BEFORE.search(text_before)
    if match is None:
        return False
    word = match.group(1).lstrip("\"'“‘([«")
    if "." in word:  # "e.g", "U.S": dots inside the word
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():  # an initial: "J. Smith"
        return True
    return word.lower() in _ABBREVIATIONS


def take_sentences(buffer: str) -> tuple[list[str], str]:
    """The complete sentences at the start of ``buffer``, and the text after them.

    A sentence is complete once whitespace follows its closing punctuation, so text that
    arrives in pieces is cut exactly as the whole text would be. The rest is returned as
    it was, to be prefixed to the next piece.
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(buffer):
        punctuation = buffer[match.start() : match.end()].rstrip()
        if punctuation.endswith(".") and _is_abbreviation(buffer[start : match.start()]):
            continue
        sentence = buffer[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    return sentences, buffer[start:]


def split_sentences(text: str) -> list[str]:
    """Every sentence of ``text``, the last one included even without closing punctuation."""
    sentences, rest = take_sentences(text)
    if rest.strip():
        sentences.append(rest.strip())
    return sentences


def _split_words(text: str, limit: int) -> list[str]:
    """``text`` cut at spaces into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:  # one "word" longer than a request: cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def split_for_limit(text: str, limit: int) -> list[str]:
    """``text`` as pieces of at most ``limit`` characters, cut between sentences if possible.

    Sentences are packed together up to the limit; a sentence longer than the limit is cut
    between words, and a word longer than the limit is cut where it must be. Nothing is
    dropped but whitespace.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        parts = [sentence] if len(sentence) <= limit else _split_words(sentence, limit)
        for part in parts:
            candidate = f"{current} {part}" if current else part
            if len(candidate) <= limit:
                current = candidate
            else:
                pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces
