"""Text normalisation shared by lexical search and reconciliation: tokens, stems, stop words."""

from __future__ import annotations

import re
import unicodedata

_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

STOP_WORDS: frozenset[str] = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "you're",
        "it's",
        "that's",
        "what's",
        "don't",
        "didn't",
        "doesn't",
        "can't",
        "won't",
        "isn't",
        "wasn't",
        "aren't",
        "let's",
    ]
)


def normalize(text: str) -> str:
    """NFKC-normalised, case-folded text with runs of white space folded to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def tokenize(text: str) -> list[str]:
    """Word tokens of ``text``, case-folded, in order (apostrophes kept inside words)."""
    return _TOKEN_RE.findall(normalize(text).replace("’", "'"))


def same_words(first: str, second: str) -> bool:
    """Whether two transcripts say the same words (case, punctuation and spacing aside)."""
    return tokenize(first) == tokenize(second)


def stem(token: str) -> str:
    """A light English suffix stripper: enough to match plural and tense variants.

    Lexical search in SQLite uses FTS5's Porter stemmer; this keeps the in-memory
    adapter's matching close to it without a dependency.
    """
    if len(token) <= 3 or not token.isascii():
        return token
    for suffix, replacement in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("ly", ""),
        ("es", ""),
        ("s", ""),
    ):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith("ss"):
                return token
            return token[: -len(suffix)] + replacement
    return token


def content_terms(text: str) -> list[str]:
    """The distinct non-stop-word tokens of ``text``, in first-seen order."""
    seen: dict[str, None] = {}
    for token in tokenize(text):
        if token not in STOP_WORDS and token not in seen:
            seen[token] = None
    return list(seen)


def search_tail(text: str, max_length: int) -> str:
    """What of a long utterance to search memories with: its last ``max_length``
    characters, starting at a word; the whole text when it fits.

    A reply answers what was said last, and an embedding model reads only a few hundred
    words anyway, so the end of a long turn is what retrieval should see.
    """
    if max_length <= 0:
        return ""
    text = text.strip()
    if len(text) <= max_length:
        return text
    tail = text[-max_length:]
    cut = tail.find(" ")
    if 0 <= cut < len(tail) - 1:
        tail = tail[cut + 1 :]
    return tail.strip() or text[-max_length:]
