"""Greetings and session summaries: how the companion picks up where it left off.

The expensive part (deciding what the last conversation was about) is done once, at the
end of a session, and stored with its summary; the greeting at the next session start
only adds the time that has passed, so it needs no model call.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Greeting,
    GreetingKind,
    Memory,
    Role,
    UserProfile,
)
from companion.domain.phrasing import describe_for_user, join_phrases

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
_MAX_TOPICS = 3
_MAX_THREADS = 2
_QUOTE_LIMIT = 80


def _count(n: int, unit: str) -> str:
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
    return f"{word} {unit}{'' if n == 1 else 's'}"


def elapsed_phrase(elapsed: timedelta) -> str:
    """How long ago, as a person would say it at the start of a greeting."""
    seconds = max(elapsed.total_seconds(), 0.0)
    hours = seconds / 3600
    days = seconds / 86400
    if hours < 1:
        return "Good to have you back so soon"
    if hours < 12:
        return "Good to hear from you again — we spoke earlier today"
    if days < 1.5:
        return "Good to hear from you again — we spoke yesterday"
    if days < 6.5:
        return f"It's been {_count(round(days), 'day')}"
    if days < 30:
        return f"It's been {_count(max(round(days / 7), 1), 'week')}"
    if days < 365:
        return f"It's been {_count(max(round(days / 30.4), 1), 'month')}"
    return f"It's been {_count(max(round(days / 365.25), 1), 'year')}"


def summarize_session(
    *,
    user_id: UUID,
    session_id: UUID,
    turns: Sequence[ConversationTurn],
    learned: Sequence[Memory],
    started_at: datetime,
    ended_at: datetime,
    open_threads: Sequence[str] = (),
    forgotten: Sequence[Memory] = (),
) -> ConversationSummary:
    """A deterministic summary of a session: what was learned, and the greeting for next time.

    ``forgotten`` are the memories the session forgot: no turn naming them is quoted.
    """
    # A turn naming what was forgotten (the request to forget it, too) is never quoted.
    user_turns = [t for t in turns if t.role is Role.USER and not mentions_any(t.text, forgotten)]
    ranked = sorted(learned, key=lambda m: (-m.importance, m.created_at, str(m.id)))
    topics = tuple(describe_for_user(m) for m in ranked[:_MAX_TOPICS])
    threads = tuple(open_threads) or _open_threads(ranked[_MAX_TOPICS:])
    if topics:
        summary = f"You told me that {join_phrases(topics)}."
        reference = f"Last time you told me that {join_phrases(topics)}."
    elif user_turns:
        quoted = _quote(user_turns[-1].text)
        summary = f'We chatted; the last thing you said was "{quoted}".'
        reference = f'Last time, the last thing you said was "{quoted}".'
    elif any(t.role is Role.USER for t in turns):
        summary, reference = _CHATTED
    else:
        summary = "We only said hello."
        reference = "Last time we only said hello."
    return ConversationSummary(
        id=uuid.uuid5(session_id, "summary"),
        user_id=user_id,
        session_id=session_id,
        summary=summary,
        started_at=started_at,
        ended_at=ended_at,
        turn_count=len(turns),
        topics=topics,
        open_threads=threads,
        next_greeting=reference,
    )


_CHATTED = ("We chatted.", "Last time we chatted.")


def mentions_any(text: str, memories: Sequence[Memory]) -> bool:
    """Whether ``text`` names one of these memories: its value ("Paris"), or for a memory
    without one its text, as whole words, whatever the case."""
    for memory in memories:
        named = (memory.value or memory.text).strip()
        if named and re.search(rf"(?<!\w){re.escape(named)}(?!\w)", text, re.IGNORECASE):
            return True
    return False


def without_forgotten(
    summary: ConversationSummary, forgotten: Sequence[Memory]
) -> ConversationSummary | None:
    """``summary`` with every topic, open thread and quote naming a forgotten memory taken
    out (its text and next greeting rebuilt from what is left), or None if it names none."""
    pieces = (*summary.topics, *summary.open_threads, summary.summary, summary.next_greeting or "")
    if not any(mentions_any(piece, forgotten) for piece in pieces):
        return None
    topics = tuple(t for t in summary.topics if not mentions_any(t, forgotten))
    threads = tuple(t for t in summary.open_threads if not mentions_any(t, forgotten))
    text: str = summary.summary
    reference: str | None = summary.next_greeting
    if topics:
        text = f"You told me that {join_phrases(topics)}."
        reference = f"Last time you told me that {join_phrases(topics)}."
    elif mentions_any(summary.summary, forgotten) or summary.topics:
        text, reference = _CHATTED
    return replace(
        summary, summary=text, next_greeting=reference, topics=topics, open_threads=threads
    )


def _open_threads(memories: Sequence[Memory]) -> tuple[str, ...]:
    """Plans and goals the user mentioned that the summary's topics leave out: what to
    ask about next time ("you have an exam on Friday")."""
    pending = [m for m in memories if (m.key or "").startswith(("plan.", "goal."))]
    # Plans before goals: a dated plan goes stale, a goal can wait for another session.
    pending.sort(key=lambda m: (not (m.key or "").startswith("plan."), m.created_at))
    return tuple(describe_for_user(m) for m in pending[:_MAX_THREADS])


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_LIMIT else flat[: _QUOTE_LIMIT - 1].rstrip() + "…"


def compose_greeting(
    *,
    user_id: UUID,
    profile: UserProfile | None,
    last_summary: ConversationSummary | None,
    now: datetime,
) -> Greeting:
    """The greeting for a session starting at ``now``; no model call needed."""
    name = None
    if profile is not None:
        name = profile.display_name or profile.name
    if last_summary is None:
        if name:
            text = (
                f"Hi {name}, nice to meet you! I'm your companion, and I'll remember "
                "what you tell me. What's on your mind?"
            )
        else:
            text = (
                "Hi! I'm your companion. I'll remember what you tell me about yourself, "
                "so next time we can pick up where we left off. What's your name?"
            )
        return Greeting(user_id=user_id, text=text, kind=GreetingKind.NEW_USER, composed_at=now)
    opener = elapsed_phrase(now - last_summary.ended_at)
    welcome = f"Welcome back, {name}!" if name else "Welcome back!"
    reference = last_summary.next_greeting or f"Last time: {last_summary.summary}"
    threads = ""
    if last_summary.open_threads:
        threads = f" You also mentioned {join_phrases(last_summary.open_threads[:2])}."
    text = f"{welcome} {opener}. {reference}{threads} How have you been?"
    return Greeting(
        user_id=user_id,
        text=text,
        kind=GreetingKind.RETURNING,
        composed_at=now,
        refers_to_session=last_summary.session_id,
    )
