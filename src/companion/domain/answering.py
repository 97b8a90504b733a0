"""Answering questions about the user from what the companion remembers.

Pure functions for the offline chat model: recognise a question about the user
(:func:`parse_question`), answer it from memories and the profile without inventing
anything (:func:`answer_question`), and acknowledge what was just learnt
(:func:`acknowledge`). Keys follow the vocabulary in :mod:`companion.domain.extraction`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from companion.domain.extraction import (
    KEY_AGE,
    KEY_EMPLOYER,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    KEY_ROLE,
    article,
    canonical_relation,
    canonical_species,
    normalise_thing,
    slugify,
)
from companion.domain.models import Memory, MemoryCandidate, MemoryCategory, UserProfile

__all__ = [
    "Question",
    "QuestionKind",
    "acknowledge",
    "answer_question",
    "content_terms",
    "parse_question",
    "to_second_person",
]

MAX_LISTED = 5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
    terms = content_terms(text)
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


_STOP_WORDS = _words(
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


def content_terms(text: str) -> tuple[str, ...]:
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


# --- saying things back -------------------------------------------------------------------

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
        for verb in _words(
            "likes loves enjoys hates dislikes lives works wants hopes plans intends aims needs "
            "dreams prefers owns speaks plays"
        )
    },
    "wishes": "you wish",
}
# Memory texts that start with what they are about: "Name is Ada" -> "your name is Ada".
_NOUN_LEADS = _words(
    "name favourite favorite goal dream aim ambition plan resolution wish mission age job "
    "home best mother father wife husband partner girlfriend boyfriend fiance fiancee"
)
_FIRST_TO_SECOND = {"my": "your", "i": "you", "me": "you", "mine": "yours", "myself": "yourself"}


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


def _sentence(text: str) -> str:
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith((".", "!", "?")) else ".")


def _said(memory_text: str) -> str:
    return to_second_person(memory_text) or f'"{memory_text}"'


def _join(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _that(items: Sequence[str]) -> str:
    shown = [f"that {item}" for item in items[:MAX_LISTED]]
    more = len(items) - len(shown)
    if more:
        shown.append(f"{more} more thing{'s' if more > 1 else ''}")
    return _join(shown)


# --- answering ----------------------------------------------------------------------------


def answer_question(
    question: Question, memories: Sequence[Memory], profile: UserProfile | None
) -> str:
    """Answer ``question`` from ``memories`` and ``profile`` only: never invent a value.

    For a single-valued key the most recently updated memory wins.
    """
    if question.kind is QuestionKind.EVERYTHING:
        return _everything(memories, profile)
    if question.kind is QuestionKind.OPEN:
        best = _best_overlap(question.terms, memories)
        return f"Here's what I remember: {best.text}." if best else "I don't know that yet."
    # Per key the most recent memory; listed in the order they were first told.
    latest: dict[str, tuple[int, Memory]] = {}
    for index, memory in enumerate(memories):
        if not (memory.key and question.matches(memory.key)):
            continue
        held = latest.get(memory.key)
        if held is None or _recency(memory) > _recency(held[1]):
            latest[memory.key] = (index, memory)
    found = [m for _, m in sorted(latest.values(), key=lambda p: (p[1].created_at, p[0]))]
    answer = _compose(question, found) if found else _from_profile(question, profile)
    if answer is None:
        unkeyed = [memory for memory in memories if memory.key is None]
        best = _best_overlap(question.terms, unkeyed)
        if best:
            return f"Here's what I remember: {best.text}."
        return f"I don't know that yet \u2014 you haven't told me {question.topic}."
    return f"Yes \u2014 {answer[:1].lower()}{answer[1:]}" if question.yes_no else answer


def _recency(memory: Memory) -> tuple[datetime, datetime, str]:
    return (memory.updated_at, memory.created_at, str(memory.id))


def _compose(question: Question, found: list[Memory]) -> str:
    target = question.target.rstrip(".")
    if question.kind is QuestionKind.SLOT:
        memory = max(found, key=_recency)
        value, said = memory.value, to_second_person(memory.text)
        if target == KEY_NAME and value:
            return f"Your name is {value}."
        if target.startswith("favourite.") and value:
            return f"Your favourite {target.split('.', 1)[1].replace('_', ' ')} is {value}."
        # Memories written by another extractor may word their text differently.
        if said is None and value and target in _SLOT_TEMPLATES:
            return _SLOT_TEMPLATES[target].format(value)
        return _sentence(said or f"you told me: {memory.text}")
    if target.startswith(("pet", "family", "friend")):
        return _relations(found)
    if target.startswith(("likes", "dislikes")):
        things = [_thing(memory) for memory in found][:MAX_LISTED]
        verb = "like" if target.startswith("likes") else "don't like"
        return f"You told me you {verb} {_join(things)}."
    if target == "work":
        return _work(found)
    return _sentence(f"You told me {_that([_said(memory.text) for memory in found])}")


def _thing(memory: Memory) -> str:
    # "Likes to swim" keeps its "to": "you like to swim", not "you like swim".
    value = memory.value or memory.text
    return f"to {value}" if f" to {value}" in memory.text else value


_SLOT_TEMPLATES = {
    KEY_HOME: "You live in {}.",
    KEY_ORIGIN: "You're from {}.",
    KEY_AGE: "You're {}.",
}


def _relations(found: list[Memory]) -> str:
    """ "Your dog is called Biscuit", "Your cats are called Tom and Jerry", ..."""
    groups: dict[str, list[str]] = {}
    for memory in found:
        parts = (memory.key or "").split(".")
        kind = parts[0] if parts[0] == "friend" else parts[1] if len(parts) > 1 else parts[0]
        kind = kind.replace("_", " ")
        if kind == "friend" and memory.text.lower().startswith("best friend"):
            kind = "best friend"
        groups.setdefault(kind, []).append(memory.value or memory.text)
    clauses = []
    for kind, names in list(groups.items())[:MAX_LISTED]:
        if len(names) == 1:
            clauses.append(f"your {kind} is called {names[0]}")
        else:
            clauses.append(f"your {_plural(kind)} are called {_join(names)}")
    return _sentence(_join(clauses))


def _plural(word: str) -> str:
    irregular = {"fish": "fish", "mouse": "mice", "child": "children"}
    if word in irregular:
        return irregular[word]
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")


def _work(found: list[Memory]) -> str:
    by_key = {memory.key: memory for memory in found}
    employer, role = by_key.get(KEY_EMPLOYER), by_key.get(KEY_ROLE)
    if employer and role and role.value and not role.value.endswith("ing"):
        said = to_second_person(employer.text) or f"you work at {employer.value}"
        return _sentence(f"{said} as {article(role.value)} {role.value}")
    return _sentence(_join([_said(memory.text) for memory in found]))


def _from_profile(question: Question, profile: UserProfile | None) -> str | None:
    if profile is None:
        return None
    name = _profile_name(profile)
    if question.target == KEY_NAME and name:
        return f"Your name is {name}."
    if question.target == "likes." and profile.interests:
        return f"You told me you're interested in {_join(list(profile.interests))}."
    if question.target == "goal." and profile.goals:
        return f"You told me your goals are {_join(list(profile.goals))}."
    return None


def _profile_name(profile: UserProfile | None) -> str | None:
    return (profile.display_name or profile.name) if profile else None


def _everything(memories: Sequence[Memory], profile: UserProfile | None) -> str:
    ranked = sorted(
        (m for m in memories if m.category is not MemoryCategory.OBSERVATION),
        key=lambda m: (-m.importance, -m.updated_at.timestamp(), m.text, str(m.id)),
    )
    items: list[str] = []
    name = _profile_name(profile)
    if name and not any(m.key == KEY_NAME for m in ranked):
        items.append(f"your name is {name}")
    for memory in ranked:
        said = _said(memory.text)
        if said not in items and len(items) < MAX_LISTED:
            items.append(said)
    if not items:
        return "I don't know anything about you yet."
    return f"Here's what I remember about you: {'; '.join(items)}."


def _best_overlap(terms: Sequence[str], memories: Sequence[Memory]) -> Memory | None:
    """The memory sharing the most content words with ``terms`` (at least one), if any."""
    wanted = set(terms)
    best: tuple[tuple[object, ...], Memory] | None = None
    for memory in memories:
        # A remembered question is not an answer to one.
        if memory.text.rstrip().endswith("?"):
            continue
        shared = len(wanted & set(content_terms(f"{memory.text} {memory.value or ''}")))
        if shared:
            rank = (shared, memory.importance, memory.updated_at, memory.text, str(memory.id))
            if best is None or rank > best[0]:
                best = (rank, memory)
    return best[1] if best else None


# --- acknowledging ------------------------------------------------------------------------


def acknowledge(candidates: Sequence[MemoryCandidate], profile: UserProfile | None) -> str:
    """A warm, specific reply to being told ``candidates``: what will be remembered.

    Greets by name when a name was just given or the profile holds one.
    """
    known = _profile_name(profile)
    name = next((c.value for c in candidates if c.key == KEY_NAME and c.value), None)
    facts = [c for c in candidates if c.key != KEY_NAME]
    if name and known and name.casefold() == known.casefold():
        opener = f"Yes, I know \u2014 it's good to talk to you, {name}!"
    elif name and known:
        opener = f"Got it \u2014 I'll call you {name} from now on."
    elif name:
        opener = f"Nice to meet you, {name}!"
    elif known:
        opener = f"Thanks for telling me, {known}!"
    else:
        opener = "Thanks for telling me!"
    if facts:
        return f"{opener} I'll remember {_that(_fact_items(facts))}."
    if name and not known:
        return f"{opener} I'll remember your name."
    return opener


def _fact_items(facts: Sequence[MemoryCandidate]) -> list[str]:
    items = [to_second_person(c.text) or c.text for c in facts]
    by_key = {c.key: c for c in facts}
    employer, role = by_key.get(KEY_EMPLOYER), by_key.get(KEY_ROLE)
    # "you work at Acme as an engineer" rather than two half-sentences.
    if employer and role and role.value and not role.value.endswith("ing"):
        merged = f"{to_second_person(employer.text)} as {article(role.value)} {role.value}"
        items[facts.index(employer)] = merged
        del items[facts.index(role)]
    return items
