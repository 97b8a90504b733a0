"""Saying remembered facts back to the user: the one place memories are phrased.

Memory texts are written about the user in the third person without a subject ("Has a
dog called Biscuit", "Favourite colour is green"); here they become "you have a dog
called Biscuit" and "your favourite colour is green", and lists of them are joined the
way a person would say them. Answers, acknowledgements and greetings all phrase through
this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from companion.domain.keys import KEY_EMPLOYER, KEY_HOME, KEY_NAME, article, word_set
from companion.domain.models import Memory

__all__ = ["describe_for_user", "join_phrases", "to_second_person"]

_VERBS = {
    "has": "you have",
    "is": "you're",
    "was": "you were",
    "doesn't": "you don't",
    "can't": "you can't",
    "would": "you would",
    "will": "you will",
    "going": "you're going",
    "moved": "you moved",
    "studies": "you study",
    **{
        verb: f"you {verb[:-1]}"
        for verb in word_set(
            "likes loves enjoys hates dislikes lives works wants hopes plans intends aims needs "
            "dreams prefers owns speaks plays"
        )
    },
    "wishes": "you wish",
}
# Memory texts that start with what they are about: "Name is Ada" -> "your name is Ada".
_NOUN_LEADS = word_set(
    "name favourite favorite goal dream aim ambition plan resolution wish mission age job "
    "home best mother father wife husband partner girlfriend boyfriend fiance fiancee"
)
_FIRST_TO_SECOND = {"my": "your", "i": "you", "me": "you", "mine": "yours", "myself": "yourself"}


def join_phrases(items: Sequence[str], word: str = "and") -> str:
    """``items`` as a person lists them: "a", "a and b", "a, b and c" (empty ones dropped)."""
    shown = [item for item in items if item]
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} {word} {shown[-1]}"


def to_second_person(text: str) -> str | None:
    """A memory text addressed to the user ("Has a dog" -> "you have a dog"), or ``None``."""
    first, _, rest = text.strip().partition(" ")
    lead = first.casefold()
    if lead in _VERBS:
        head = _VERBS[lead]
    elif lead in _NOUN_LEADS:
        head = f"your {lead}"
    else:
        return None
    rest = re.sub(r"\b(?:my|i|me|mine|myself)\b", lambda m: _FIRST_TO_SECOND[m[0].lower()], rest)
    return f"{head} {rest}".strip()


def describe_for_user(memory: Memory) -> str:
    """A memory phrased to the user ("your favourite colour is green").

    From its text in the second person where the text allows (it keeps every detail:
    "you work for Acme as an engineer"); else from its key and value where the key says
    what it is; else its text, lower-cased.
    """
    text = memory.text.rstrip(".!? ")
    spoken = to_second_person(text)
    if spoken:
        return spoken
    key, value = memory.key or "", memory.value
    if value:
        if key == KEY_NAME:
            return f"your name is {value}"
        if key == KEY_HOME:
            return f"you live in {value}"
        if key == KEY_EMPLOYER:
            return f"you work at {value}"
        if key.startswith("pet."):
            species = key.split(".")[1].replace("_", " ")
            return f"you have {article(species)} {species} called {value}"
        if key.startswith("favourite."):
            thing = key.split(".", 1)[1].replace("_", " ")
            return f"your favourite {thing} is {value}"
        if key.startswith(("family.", "friend.")):
            relation = "friend" if key.startswith("friend.") else key.split(".")[1]
            return f"your {relation.replace('_', ' ')} is called {value}"
    return text[:1].lower() + text[1:]
