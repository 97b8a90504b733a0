"""ConversationService: sessions, their turns, summaries, and the greeting of returning users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import structlog

from companion.domain.greetings import compose_greeting, summarize_session
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Greeting,
    Memory,
    Role,
)
from companion.domain.validation import MAX_TURN_TEXT, SessionScope, validate_text
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Session:
    """A conversation in progress, bound to one user by its write guard."""

    scope: SessionScope
    session_id: UUID
    started_at: datetime
    greeting: Greeting
    learned: list[Memory] = field(default_factory=list)
    turns: int = 0

    @property
    def user_id(self) -> UUID:
        return self.scope.user_id


class ConversationService:
    """Owns sessions: their turns, their summaries, and continuity between them."""

    def __init__(
        self, conversations: ConversationStore, profiles: ProfileStore, clock: Clock
    ) -> None:
        self._conversations = conversations
        self._profiles = profiles
        self._clock = clock

    async def greeting_for(self, user_id: UUID) -> Greeting:
        """The greeting for a session starting now (no model call)."""
        return compose_greeting(
            user_id=user_id,
            profile=await self._profiles.get(user_id),
            last_summary=await self._conversations.latest_summary(user_id),
            now=self._clock.now(),
        )

    async def start(self, user_id: UUID) -> Session:
        """Open a session for this user and compose its greeting."""
        greeting = await self.greeting_for(user_id)
        session = Session(
            scope=SessionScope(user_id),
            session_id=uuid.uuid4(),
            started_at=self._clock.now(),
            greeting=greeting,
        )
        log.info("session_started", greeting=greeting.kind.value)
        return session

    async def record(self, session: Session, role: Role, text: str) -> ConversationTurn:
        """Append one turn to the session's transcript."""
        turn = ConversationTurn(
            id=uuid.uuid4(),
            user_id=session.user_id,
            session_id=session.session_id,
            role=role,
            text=validate_text(text, what="turn text", max_length=MAX_TURN_TEXT),
            created_at=self._clock.now(),
        )
        await self._conversations.append_turn(turn)
        session.turns += 1
        return turn

    async def end(
        self, session: Session, *, open_threads: Sequence[str] = ()
    ) -> ConversationSummary | None:
        """Summarise the session and store the reference the next greeting will use.

        A session in which the user said nothing leaves no summary, so the next greeting
        still refers to the last real conversation.
        """
        turns = await self._conversations.turns(session.user_id, session.session_id)
        if not any(t.role is Role.USER for t in turns):
            return None
        summary = summarize_session(
            user_id=session.user_id,
            session_id=session.session_id,
            turns=turns,
            learned=session.learned,
            started_at=session.started_at,
            ended_at=self._clock.now(),
            open_threads=open_threads,
        )
        await self._conversations.save_summary(summary)
        log.info("session_summarized", turns=summary.turn_count, topics=len(summary.topics))
        return summary

    async def summaries(self, user_id: UUID, limit: int = 10) -> list[ConversationSummary]:
        """This user's most recent session summaries, newest first."""
        return await self._conversations.summaries(user_id, limit)
