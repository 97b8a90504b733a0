"""Extractors for what the user means to do: goals ("I want to learn Spanish") and dated
plans ("I have an exam tomorrow")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from companion.adapters.local.extraction.values import (
    ADVERBS,
    DAY,
    STOP_VALUE,
    WHEN,
    Hit,
    hit,
    is_chatter,
    negated,
    phrase,
)
from companion.domain.keys import article, goal_key, plan_key, word_set
from companion.domain.models import MemoryCandidate, MemoryCategory

__all__ = ["goals", "plans"]

_I = re.IGNORECASE

# --- goals --------------------------------------------------------------------------------

# (pattern, how the memory text leads, whether the verb is an "-ing" form)
_GOAL_FORMS = tuple(
    (re.compile(pattern, _I), lead, gerund)
    for pattern, lead, gerund in (
        (rf"\bI\s+{ADVERBS}(?P<verb>want|hope|plan|intend|aim|wish)\s+to\s+", "{Verb}s to", False),
        (r"\bI'd\s+(?:really\s+)?(?P<verb>like|love)\s+to\s+", "Would {verb} to", False),
        (rf"\bI\s+{ADVERBS}dream\s+(?:of|about)\s+", "Dreams of", False),
        (
            r"\bI'm\s+(?:really\s+|also\s+)?(?P<verb>planning|hoping|trying|aiming|determined|"
            r"saving\s+up|preparing)\s+to\s+",
            "Is {verb} to",
            False,
        ),
        (
            r"\bmy\s+(?:(?:main|big|biggest|long[- ]term|new|one|only|life|ultimate|current|"
            r"personal)\s+)*(?P<verb>goal|dream|aim|ambition|plan|resolution|wish|mission)"
            r"(?:\s+for\s+(?:this|next|the)\s+\w+)?\s+is\s+(?P<to>to\s+)?",
            "{Verb} is",
            False,
        ),
        (
            r"\bI'm\s+(?:currently\s+|now\s+|also\s+)?(?P<verb>learning|studying|training\s+for|"
            r"practi[cs]ing|saving\s+(?:up\s+)?for|working\s+towards?)\s+",
            "Is {verb}",
            True,
        ),
    )
)
# "I'm learning Spanish" and "I want to learn Spanish" fill the same goal.learn_spanish.
_GERUND_BASE = {
    "studying": "study",
    "practicing": "practise",
    "practising": "practise",
    "saving": "save",
}
_BIG_GOALS = word_set("goal dream ambition aim plan mission")


def _lead(template: str, verb: str) -> str:
    verb = " ".join(verb.lower().split())
    return template.format(verb=verb, Verb=verb.capitalize())


def goals(clause: str) -> Iterator[Hit]:
    """ "I want to learn Spanish", "my dream is to ...", "I'm learning Spanish"."""
    for form, template, gerund in _GOAL_FORMS:
        found = form.search(clause)
        if not found or negated(clause, found.start()):
            continue
        goal, end = phrase(clause, found.end(), STOP_VALUE, 12)
        if is_chatter(goal):
            continue
        verb = (found.groupdict().get("verb") or "dream").lower()
        lead = _lead(template, verb) + (" to" if found.groupdict().get("to") else "")
        if gerund:
            first, _, rest = verb.partition(" ")
            base = _GERUND_BASE.get(first, first.removesuffix("ing"))
            key = goal_key(f"{base} {rest} {goal}")
        else:
            key = goal_key(goal)
        importance = 7 if verb in _BIG_GOALS else 6
        candidate = MemoryCandidate(MemoryCategory.GOAL, f"{lead} {goal}", importance, key, goal)
        yield hit(found.start(), end, candidate)
        return


# --- dated plans --------------------------------------------------------------------------

_PLAN_FORMS = tuple(
    (re.compile(pattern, _I), lead)
    for pattern, lead in (
        (r"\bI\s+have\s+to\s+", "Has to"),
        (r"\bI\s+have\s+(?=(?:an?|my|the|some|two|three|\d+)\s)", "Has"),
        (r"\bI'll\s+", "Will"),
        (rf"\bI\s+{ADVERBS}(?P<verb>want|plan|hope|intend|need)\s+to\s+", "{Verb}s to"),
        (r"\bI'm\s+(?!(?:feeling|being|thinking|wondering|kidding|joking)\b)(?=\w+ing\b)", "Is"),
        (r"\bmy\s+(?=[\w\s'-]+?\s+(?:is|are)\s*$)", ""),  # "my exam is tomorrow"
    )
)
# Keys name the plan, not the planning: "going to Lahore" -> plan.lahore.
_PLAN_SUBJECT = re.compile(r"^(?:going|planning|hoping|about)\s+to\s+|\s+(?:is|are)$", _I)
_DANGLING = re.compile(r"\s+(?:by|on|in|at|for|until|before|after)$", _I)


def plans(clause: str) -> Iterator[Hit]:
    """What the user will do at a stated time: "I have an exam tomorrow"."""
    when = WHEN.search(clause)
    if not when:
        return
    start, stop = when.span()
    core = clause[:start] + clause[stop:]
    moment = DAY.sub(lambda day: day[0].capitalize(), " ".join(when.group().lower().split()))
    for form, template in _PLAN_FORMS:
        found = form.search(core)
        if not found or negated(core, found.start()):
            continue
        plan, end = phrase(core, found.end(), STOP_VALUE, 10)
        if is_chatter(plan):
            continue
        plan = _DANGLING.sub("", plan)
        subject = _PLAN_SUBJECT.sub("", plan)
        if template:
            text = f"{_lead(template, found.groupdict().get('verb') or '')} {plan} {moment}"
        else:
            text = f"Has {article(subject)} {subject} {moment}"
        value = f"{subject} {moment}"
        candidate = MemoryCandidate(MemoryCategory.EVENT, text, 6, plan_key(subject), value)
        # Positions after the removed time expression shift back by its length.
        end = end if end <= start else end + (stop - start)
        yield hit(min(found.start(), start), max(end, stop), candidate)
        return
