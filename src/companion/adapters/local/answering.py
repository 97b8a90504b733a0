"""Answering questions about the user from what the companion remembers.

Pure functions for the offline chat model: answer a question recognised by
:func:`companion.adapters.local.questions.parse_question` from memories and the profile without
inventing anything (:func:`answer_question`), and acknowledge what was just learnt
(:func:`acknowledge`). Facts are said back through :mod:`companion.domain.phrasing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from companion.adapters.local.questions import Question, QuestionKind, question_terms
from companion.domain.keys import (
    KEY_AGE,
    KEY_EMPLOYER,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    KEY_ROLE,
    article,
)
from companion.domain.models import Memory, MemoryCandidate, MemoryCategory, UserProfile
from companion.domain.phrasing import join_phrases, to_second_person

__all__ = ["acknowledge", "answer_question"]

MAX_LISTED = 5


# --- saying things back -------------------------------------------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith((".", "!", "?")) else ".")


def _said(memory_text: str) -> str:
    return to_second_person(memory_text) or f'"{memory_text}"'


def _that(items: Sequence[str]) -> str:
    shown = [f"that {item}" for item in items[:MAX_LISTED]]
    more = len(items) - len(shown)
    if more:
        shown.append(f"{more} more thing{'s' if more > 1 else ''}")
    return join_phrases(shown)


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
        return _remembered(best) if best else "I don't know that yet."
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
            return _remembered(best)
        return f"I don't know that yet \u2014 you haven't told me {question.topic}."
    return f"Yes \u2014 {answer[:1].lower()}{answer[1:]}" if question.yes_no else answer


def _remembered(memory: Memory) -> str:
    """A memory given back: a kept turn is quoted with the day it was said."""
    if memory.category is MemoryCategory.OBSERVATION:
        said = memory.text.strip().rstrip(".")
        return f"You told me on {memory.created_at:%-d %B %Y}: \u201c{said}.\u201d"
    return f"Here's what I remember: {memory.text}."


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
        return f"You told me you {verb} {join_phrases(things)}."
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
            clauses.append(f"your {_plural(kind)} are called {join_phrases(names)}")
    return _sentence(join_phrases(clauses))


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
    return _sentence(join_phrases([_said(memory.text) for memory in found]))


def _from_profile(question: Question, profile: UserProfile | None) -> str | None:
    if profile is None:
        return None
    name = _profile_name(profile)
    if question.target == KEY_NAME and name:
        return f"Your name is {name}."
    if question.target == "likes." and profile.interests:
        return f"You told me you're interested in {join_phrases(list(profile.interests))}."
    if question.target == "goal." and profile.goals:
        return f"You told me your goals are {join_phrases(list(profile.goals))}."
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
        shared = len(wanted & set(question_terms(f"{memory.text} {memory.value or ''}")))
        if shared:
            rank = (shared, memory.importance, memory.updated_at, memory.text, str(memory.id))
            if best is None or rank > best[0]:
                best = (rank, memory)
    return best[1] if best else None


# --- acknowledging ------------------------------------------------------------------------


def acknowledge(candidates: Sequence[MemoryCandidate], profile: UserProfile | None) -> str:
    """A warm, specific reply to being told ``candidates``: what will be remembered.

    Greets by name when a name was just given or the profile holds one. A request to
    forget is confirmed as such, never repeated back as something remembered.
    """
    stated = [c for c in candidates if not c.forget]
    if not stated:
        return "Okay \u2014 I've forgotten that."
    candidates = stated
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
