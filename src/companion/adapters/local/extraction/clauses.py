"""Cutting an utterance into the clauses that state something about the user.

An utterance is cut into sentences, each sentence into clauses (before "and I", ", my",
"but we" ...); questions and fillers ("hi", "by the way", "remember that") are dropped,
and contractions and speech-to-text spellings are written one way, so each extractor's
pattern spells a form once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["clauses"]

_I = re.IGNORECASE
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\x00": " "})
# A full stop after a title does not end a sentence ("Dr. Smith", "St. Louis").
_SENTENCES = re.compile(
    r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMrs\.)"
    r"(?<=[.!?\u2026\u061f\u06d4])\s+|[\r\n;]+"
)
_ASKING = (
    r"(?:do|did|can|could|would|will)\s+you\b|isn't\b|aren't\b|right\b|"
    r"(?:what|who|where|when|why|how)\b"
)
_CLAUSES = re.compile(
    r"\s*(?:,\s*(?:(?:and|but|so|plus|also|then)\s+)?|\s(?:and|but|so|plus|then)\s+)"
    rf"(?=(?:also\s+)?(?:my|i|we|our)\b|{_ASKING})",
    _I,
)
# "I live in Paris and work at Acme": the second verb has the first one's subject.
_IMPLICIT_I = re.compile(
    r"\b(and|but)\s+(?=(?:also\s+|really\s+)?(?:live|work|love|like|enjoy|hate|have|want|"
    r"moved|dislike|adore)\b)",
    _I,
)
_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|yo|sala+m|as+alam\w*(?:\s+(?:o|u|wa)?\s*alaikum)?|well|so|"
    r"oh|ah|um+|uh+|ok(?:ay)?|yeah|yes|no|also|and|but|then|plus|actually|anyway|btw|"
    r"by\s+the\s+way|just\s+so\s+you\s+know|fyi|guess\s+what|fun\s+fact|"
    r"(?:please\s+)?remember(?:\s+that)?|note(?:\s+that)?|you\s+should\s+know(?:\s+that)?|"
    r"i\s+want\s+you\s+to\s+(?:know|remember)(?:\s+that)?|let\s+me\s+tell\s+you(?:\s+that)?|"
    r"i\s+should\s+(?:mention|tell\s+you)(?:\s+that)?)\b[\s,!:.\-]*)+",
    _I,
)
_AUX = r"is|are|was|were|do|does|did|am|can|could|would|will|should|have|has"
_QUESTION_START = re.compile(
    rf"^(?:(?:{_AUX}|had|shall|may|might|isn't|aren't|don't|doesn't|didn't|won't|right)\b|"
    rf"(?:what|who|where|when|why|how|which|whose)(?:'s|'re|$|(?:\s+\S+){{0,3}}?\s+"
    rf"(?:{_AUX})\s+(?:i|my|you|your|we|it|he|she|they|there|the|this|that)\b))",
    _I,
)
# Contractions and speech-to-text spellings in one form, so each pattern spells it once.
_CANON = tuple(
    (re.compile(pattern, _I), replacement)
    for pattern, replacement in (
        (r"\bi\s+am\b|\bim\b", "I'm"),
        (r"\bi(?:'ve|\s+have)\s+got\b|\bive\s+got\b|\bi've\b|\bive\b", "I have"),
        (r"\bi\s+would\b", "I'd"),
        (r"\bi\s+will\b", "I'll"),
        (r"\bdo\s+not\b|\bdont\b", "don't"),
        (r"\bcannot\b|\bcan\s+not\b|\bcant\b", "can't"),
        (r"\bis\s+not\b|\bisnt\b", "isn't"),
        (r"\bwanna\b", "want to"),
        (r"\bgonna\b", "going to"),
        (r"\bname's\b", "name is"),
    )
)


def clauses(text: str) -> Iterator[str]:
    """The statements in ``text``, one clause at a time: questions and fillers dropped."""
    for sentence in _SENTENCES.split(text.translate(_QUOTES)):
        sentence = " ".join(sentence.split())
        asks = sentence.endswith(("?", "\u061f"))
        if re.search(r"\bi\b", sentence, _I):
            sentence = _IMPLICIT_I.sub(r"\1 I ", sentence)
        parts = _CLAUSES.split(sentence)
        for index, part in enumerate(parts):
            clause = _FILLER.sub("", part.strip()).strip()
            # "My dog is Rex, isn't he cute?": only the last clause carries the "?".
            if not clause or _QUESTION_START.match(clause) or (asks and index == len(parts) - 1):
                continue
            for pattern, replacement in _CANON:
                clause = pattern.sub(replacement, clause)
            yield clause
