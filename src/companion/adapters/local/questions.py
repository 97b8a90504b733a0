"""Recognising a question about the user, and the key (or key prefix) it asks about.

:func:`parse_question` turns "What's my dog called?" into a :class:`Question` targeting
``pet.dog``; keys follow the vocabulary in :mod:`companion.domain.keys`.
Questions about anything but the user ("How are you?") and statements are not questions
here. :func:`question_terms` gives a question's content words for the lexical fallback.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from companion.domain.keys import (
    KEY_AGE,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    article,
    canonical_relation,
    canonical_species,
    normalise_thing,
    slugify,
    word_set,
)

__all__ = [
    "Question",
    "QuestionKind",
    "parse_question",
    "question_terms",
]


class QuestionKind(enum.Enum):
    """How a question about the user is answered."""

    SLOT = "slot"  # one value: name, favourite.colour, location.home
    COLLECTION = "collection"  # every memory under a prefix: pet., likes., goal.
    EVERYTHING = "everything"  # "What do you know about me?"
    OPEN = "open"  # no pattern fits: answered by the memory sharing most words


@dataclass(frozen=True, slots=True)
class Question:
    """A question about the user: the key (or key prefix) it targets, and how to say so.

    ``target`` is a key ("name", "favourite.colour", "pet.dog") or a prefix ending in a
    dot ("likes.", "pet."); ``topic`` completes "you haven't told me ..."; ``terms`` are
    its content words, for the lexical fallback.
    """

    kind: QuestionKind
    target: str = ""
    topic: str = "that"
    terms: tuple[str, ...] = ()
    yes_no: bool = False

    def matches(self, key: str | None) -> bool:
        """True when a memory with ``key`` answers this question."""
        stem = self.target.rstrip(".")
        return bool(key and stem) and (key == stem or str(key).startswith(stem + "."))


# --- recognising questions ----------------------------------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_LEAD = re.compile(r"^(?:(?:hey|hi|so|ok(?:ay)?|and|but|well|um+|please|companion)\b[\s,]*)+")
_TAIL = re.compile(r"(?:[\s,]+(?:please|again|then|now|by\s+the\s+way))+$")
# "Remember my name is Ada" is a statement: a bare "remember" does not make a request.
_REQUEST = re.compile(
    r"^(?:(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:remember|recall|tell\s+me|"
    r"remind\s+me(?:\s+of)?))|tell\s+me|remind\s+me(?:\s+of)?|say|repeat|"
    r"(?:do|did)\s+you\s+(?:still\s+)?(?:know|remember|recall)|"
    r"(?:have\s+i\s+told\s+you|did\s+i\s+tell\s+you|did\s+i\s+mention)(?:\s+about)?)\s+"
)
_INTERROGATIVE = re.compile(r"^(?:what|who|where|when|which|how|do|does|did|have|has|is|are|am)\b")
_FIRST_PERSON = re.compile(r"\b(?:i|my|me|mine|myself|i'm|i've)\b")
_NP_TAIL = re.compile(r"^(?P<core>.+?)(?:'s|s'|')?(?:\s+names?)?(?:\s+(?:called|named|like))?$")
_NP_LEAD = re.compile(r"^(?:(?:any|a|an|some|my|the)\s+)+")


def _slot(target: str, topic: str) -> Question:
    return Question(QuestionKind.SLOT, target, topic)


def _collection(target: str, topic: str) -> Question:
    return Question(QuestionKind.COLLECTION, target, topic)


_NOUNS: dict[str, Question] = {
    **dict.fromkeys(("name", "full name", "first name"), _slot(KEY_NAME, "your name")),
    "age": _slot(KEY_AGE, "how old you are"),
    **dict.fromkeys(
        ("home", "address", "home town", "hometown", "city", "house", "location"),
        _slot(KEY_HOME, "where you live"),
    ),
    **dict.fromkeys(
        ("job", "work", "occupation", "profession", "employer", "company", "career", "role"),
        _collection("work.", "where you work"),
    ),
    **dict.fromkeys(("pet", "pets", "animal", "animals"), _collection("pet.", "about any pets")),
    **dict.fromkeys(("family", "siblings"), _collection("family.", "about your family")),
    **dict.fromkeys(
        ("friend", "friends", "best friend"), _collection("friend.", "about your friends")
    ),
    **dict.fromkeys(
        ("goal", "goals", "dream", "dreams", "ambition", "ambitions", "aim", "aims"),
        _collection("goal.", "about your goals"),
    ),
    **dict.fromkeys(("plan", "plans", "schedule"), _collection("plan.", "about your plans")),
    **dict.fromkeys(
        ("hobby", "hobbies", "interests", "likes"), _collection("likes.", "what you like")
    ),
    "dislikes": _collection("dislikes.", "what you don't like"),
}


def _about(phrase: str, *, yes_no: bool = False) -> Question | None:
    """The question asked by a noun phrase about the user ("my dog's name"), if any."""
    core = _NP_TAIL.match(_NP_LEAD.sub("", phrase.strip()))
    noun = core["core"].strip() if core else ""
    question = _NOUNS.get(noun)
    if question is None and (species := canonical_species(noun)):
        topic = (
            f"about {article(species)} {species}" if yes_no else f"what your {species} is called"
        )
        question = _collection(f"pet.{slugify(species)}", topic)
    elif question is None and (relation := canonical_relation(noun)):
        target = "friend." if relation == "friend" else f"family.{slugify(relation)}"
        topic = f"about your {relation}" if yes_no else f"what your {relation} is called"
        question = _collection(target, topic)
    elif question is None and (favourite := re.match(r"(?:favou?rite|fave|fav)\s+(.+)", noun)):
        thing = normalise_thing(favourite[1])
        question = _slot(f"favourite.{slugify(thing)}", f"your favourite {thing}")
    return replace(question, yes_no=yes_no) if question else None


_EVERYTHING = Question(QuestionKind.EVERYTHING, topic="anything about you")
_PATTERNS: tuple[tuple[re.Pattern[str], Question | str], ...] = tuple(
    (re.compile(f"(?:{pattern})$"), answer)
    for pattern, answer in (
        (r"who\s+am\s+i|who\s+i\s+am|me|what\s+do\s+you\s+call\s+me|what\s+i'm\s+called", "name"),
        (
            r"(?:what\s+)?(?:do\s+)?(?:you\s+)?(?:know|remember)(?:\s+about\s+(?:me|myself))?|"
            r"what\s+have\s+i\s+told\s+you(?:\s+about\s+(?:me|myself))?|"
            r"(?:everything|what)\s+you\s+(?:know|remember)(?:\s+about\s+me)?|about\s+(?:me|myself)",
            _EVERYTHING,
        ),
        (r"what\s+do\s+you\s+(?:know|remember)\s+about\s+(?P<np>my\s+.+)", "np"),
        (
            r"where\s+(?:do|did)\s+i\s+(?:live|stay)|where\s+am\s+i\s+(?:living|based|staying)|"
            r"where(?:'s|\s+is)\s+my\s+home|where\s+i\s+live",
            _slot(KEY_HOME, "where you live"),
        ),
        (
            r"where\s+(?:am\s+i|do\s+i\s+come|i'm|i\s+am)\s+(?:originally\s+)?from|"
            r"where\s+was\s+i\s+born",
            _slot(KEY_ORIGIN, "where you're from"),
        ),
        (
            r"where\s+(?:do|did)\s+i\s+work|who\s+do\s+i\s+work\s+for|where\s+i\s+work|"
            r"what\s+(?:do\s+i|i)\s+do(?:\s+for\s+(?:a\s+living|work))?",
            _collection("work.", "where you work"),
        ),
        (r"how\s+old\s+(?:am\s+i|i\s+am)", _slot(KEY_AGE, "how old you are")),
        (
            r"what\s+(?:do|did)\s+i\s+(?:hate|dislike|not\s+like)|what\s+don't\s+i\s+like|"
            r"what\s+i\s+(?:hate|dislike|don't\s+like)",
            _collection("dislikes.", "what you don't like"),
        ),
        (
            r"what\s+(?:do|did)\s+i\s+(?:like|love|enjoy)(?:\s+doing)?|what\s+i\s+(?:like|love|enjoy)|"
            r"what\s+(?:things|stuff)\s+do\s+i\s+(?:like|love|enjoy)",
            _collection("likes.", "what you like"),
        ),
        (
            r"(?:what|which)\s+(?P<thing>[a-z ]+?)\s+do\s+i\s+(?:like|love|prefer)"
            r"\s*(?:best|most|the\s+most)?",
            "thing",
        ),
        (r"(?:do|did)\s+i\s+(?:have|own|mention)\s+(?P<np>.+)", "yes_no"),
        (r"have\s+i\s+(?:got|mentioned|told\s+you\s+about)\s+(?P<np>.+)", "yes_no"),
        (r"what\s+(?:did|do)\s+i\s+call\s+(?P<np>my\s+.+)", "np"),
        (
            r"(?:what|who)(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:the\s+names?\s+of\s+)?(?P<np>my\s+.+)",
            "np",
        ),
        (r"what\s+(?P<np>my\s+.+?)\s+(?:is|are)(?:\s+called|\s+named)?", "request"),
        (r"(?:the\s+names?\s+of\s+)?(?P<np>my\s+.+)", "request"),
    )
)


def parse_question(text: str) -> Question | None:
    """The question about the user that ``text`` asks, or ``None`` if it asks none.

    Statements ("My name is Ada") are not questions; neither are questions about
    anything but the user ("How are you?").
    """
    plain = " ".join(text.translate(_QUOTES).casefold().split()).rstrip(" ?!.\u061f")
    plain = _TAIL.sub("", _LEAD.sub("", plain)).strip()
    request = _REQUEST.match(plain)
    body = plain[request.end() :] if request else plain
    terms = question_terms(text)
    for pattern, answer in _PATTERNS:
        found = pattern.match(body)
        if not found:
            continue
        if isinstance(answer, Question):
            return replace(answer, terms=terms)
        if answer == "name":
            question: Question | None = _slot(KEY_NAME, "your name")
        elif answer == "thing":
            thing = normalise_thing(found["thing"])
            question = _about(f"favourite {thing}") if thing not in ("else", "thing") else None
        elif answer == "request" and not request:
            continue
        else:
            question = _about(found["np"], yes_no=answer == "yes_no")
        if question:
            return replace(question, terms=terms)
    asked = text.rstrip().endswith(("?", "\u061f")) or bool(_INTERROGATIVE.match(body))
    # "Tell me a joke" asks nothing about the user: "me" there is the request itself.
    if (asked or request) and _FIRST_PERSON.search(body) and terms:
        return Question(QuestionKind.OPEN, terms=terms)
    return None


# --- content words --------------------------------------------------------------------
# Tuned for questions ("tell", "remember", "called" carry nothing); retrieval has its own
# list in companion.domain.text.

_STOP_WORDS = word_set(
    "a an the and or but if of at by for with about against between into through during "
    "before after above below to from up down in out on off over under again further then "
    "once here there when where why how all any both each few more most other some such no "
    "nor not only own same so than too very can will just don should now i me my myself we "
    "our you your yours he him his she her it its they them their what which who whom this "
    "that these those am is are was were be been being have has had having do does did "
    "would could shall may might must tell told remember know knew recall say said called "
    "named please again yet anything something everything like love thing things ever "
    "still also really much many mine i'm i've what's who's where's when's let's hey hi "
    "hello remind call kind sort type don't doesn't didn't isn't can't okay ok well"
)
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def question_terms(text: str) -> tuple[str, ...]:
    """The content words of ``text``: lower-case, stop words gone, plurals folded, in order."""
    terms: list[str] = []
    for token in _TOKEN.findall(text.translate(_QUOTES).casefold()):
        token = token.removesuffix("'s")
        if token in _STOP_WORDS or not token:
            continue
        if len(token) > 4 and token.endswith("ies"):
            token = token[:-3] + "y"
        elif len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
            token = token[:-1]
        if token not in terms:
            terms.append(token)
    return tuple(terms)
