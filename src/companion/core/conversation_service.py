"""ConversationService: sessions, their turns, summaries, and the greeting of returning users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

import structlog

from companion.core.cache_aside import (
    GREETING_TTL_SECONDS,
    SUMMARY,
    CacheAside,
    cached_profile,
    greeting_key,
    session_closed_key,
)
from companion.domain.errors import AccessDenied
from companion.domain.greetings import compose_greeting, summarize_session
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Greeting,
    Memory,
    Role,
    UserProfile,
)
from companion.domain.provenance import is_observation
from companion.domain.session import Session
from companion.domain.validation import MAX_TURN_TEXT, SessionScope, validate_text
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

_RECOVERY_SCAN = 500


class ConversationService:
    """Owns sessions: their turns, their summaries, and continuity between them.

    What the next greeting is made of (the profile and the latest summary) is read through
    the cache; the summary is written through when a session ends.
    """

    def __init__(
        self,
        conversations: ConversationStore,
        profiles: ProfileStore,
        clock: Clock,
        cache: Cache,
        memories: MemoryStore | None = None,
    ) -> None:
        self._conversations = conversations
        self._profiles = profiles
        self._clock = clock
        self._cached = CacheAside(cache)
        # Only to recover what a session that was never ended had taught us.
        self._memories = memories

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        """The summary of this user's last session (what the next greeting refers to)."""
        return await self._cached.read(
            greeting_key(user_id),
            lambda: self._conversations.latest_summary(user_id),
            SUMMARY,
            GREETING_TTL_SECONDS,
        )

    async def _profile(self, user_id: UUID) -> UserProfile:
        """The user's profile through the cache; a user never seen has an empty one."""
        profile = await cached_profile(self._cached, self._profiles, user_id)
        if profile is not None:
            return profile
        now = self._clock.now()
        return UserProfile(user_id=user_id, created_at=now, updated_at=now)

    async def greeting_for(self, user_id: UUID, profile: UserProfile | None = None) -> Greeting:
        """The greeting for a session starting now (no model call); ``profile`` saves
        reading it when the caller holds it."""
        if profile is None:
            profile = await self._profile(user_id)
        return compose_greeting(
            user_id=user_id,
            profile=profile,
            last_summary=await self.latest_summary(user_id),
            now=self._clock.now(),
        )

    async def ended_cleanly(self, user_id: UUID) -> bool:
        """Whether the cache says this user's last session ended cleanly (its memory work
        done, its summary written): then there is nothing of it to recover."""
        return await self._cached.get_bytes(session_closed_key(user_id)) is not None

    async def start(
        self,
        user_id: UUID,
        profile: UserProfile | None = None,
        *,
        ended_cleanly: bool | None = None,
    ) -> Session:
        """Open a session for this user and compose its greeting (``profile`` and
        ``ended_cleanly``, when the caller has read them, save reading them again).

        A previous session that never ended (a crash, ``kill -9``, a dropped call whose
        worker died) is summarised first, so the greeting refers to it and not to the one
        before. When the cache says the user's last session ended cleanly, there is
        nothing to look for; the marker is dropped as this session begins.
        """
        if ended_cleanly is None:
            ended_cleanly = await self.ended_cleanly(user_id)
        if not ended_cleanly:
            await self.summarize_abandoned(user_id)
        else:
            await self._cached.invalidate(session_closed_key(user_id))
        if profile is None:
            profile = await self._profile(user_id)
        elif profile.user_id != user_id:
            raise AccessDenied("the profile belongs to another user")
        greeting = await self.greeting_for(user_id, profile)
        session = Session(
            scope=SessionScope(user_id),
            session_id=uuid.uuid4(),
            started_at=self._clock.now(),
            greeting=greeting,
            profile=profile,
        )
        log.info("session_started", greeting=greeting.kind.value)
        return session

    async def record(self, session: Session, role: Role, text: str) -> ConversationTurn:
        """Append one turn to the session's transcript."""
        turn = self.new_turn(session, role, text)
        await self.append(session, turn)
        return turn

    def new_turn(self, session: Session, role: Role, text: str) -> ConversationTurn:
        """A turn of this session, said now (not stored yet)."""
        return ConversationTurn(
            id=uuid.uuid4(),
            user_id=session.user_id,
            session_id=session.session_id,
            role=role,
            text=validate_text(text, what="turn text", max_length=MAX_TURN_TEXT),
            created_at=self._clock.now(),
        )

    async def append(self, session: Session, turn: ConversationTurn) -> None:
        """Store a turn of :meth:`new_turn` and count it in the session."""
        await self._conversations.append_turn(turn)
        self.count(session, turn)

    @staticmethod
    def count(session: Session, turn: ConversationTurn) -> None:
        """Count a turn in the session (once: stored, or kept on this machine)."""
        if not session.transcript or session.transcript[-1].id != turn.id:
            session.turns += 1
            session.transcript.append(turn)

    async def end(
        self, session: Session, *, open_threads: Sequence[str] = ()
    ) -> ConversationSummary | None:
        """Summarise the session and store the reference the next greeting will use.

        A session in which the user said nothing leaves no summary, so the next greeting
        still refers to the last real conversation.
        """
        if len(session.transcript) == session.turns:
            turns = list(session.transcript)
        else:  # turns were recorded around this Session object: read the journal
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
            forgotten=session.forgotten,
        )
        await self._conversations.save_summary(summary)
        # It ended now, so it is the latest: the next greeting reads it from the cache.
        await self._cached.write(
            greeting_key(session.user_id), summary, SUMMARY, GREETING_TTL_SECONDS
        )
        log.info("session_summarized", turns=summary.turn_count, topics=len(summary.topics))
        return summary

    async def mark_closed(self, session: Session) -> None:
        """Record in the cache that this session ended cleanly, once its writes are
        stored: the next start then has no crash to look for."""
        await self._cached.set_bytes(
            session_closed_key(session.user_id),
            str(session.session_id).encode(),
            GREETING_TTL_SECONDS,
        )

    async def summarize_abandoned(self, user_id: UUID) -> ConversationSummary | None:
        """Summarise the user's latest session if it has turns but was never summarised."""
        recent = await self._conversations.recent_turns(user_id, 1)
        if not recent:
            return None
        session_id = recent[0].session_id
        latest = await self.latest_summary(user_id)
        if latest is not None and latest.session_id == session_id:
            return None
        turns = await self._conversations.turns(user_id, session_id)
        if not any(t.role is Role.USER for t in turns):
            return None
        if latest is not None and turns[0].created_at <= latest.ended_at:
            return None  # older than the summary we have: nothing was lost
        summary = summarize_session(
            user_id=user_id,
            session_id=session_id,
            turns=turns,
            learned=await self._learned_in(user_id, session_id),
            started_at=turns[0].created_at,
            ended_at=turns[-1].created_at,
        )
        await self._conversations.save_summary(summary)
        await self._cached.write(greeting_key(user_id), summary, SUMMARY, GREETING_TTL_SECONDS)
        log.info("abandoned_session_summarized", turns=summary.turn_count)
        return summary

    async def _learned_in(self, user_id: UUID, session_id: UUID) -> list[Memory]:
        if self._memories is None:
            return []
        # What that session taught us: memories written in its thread (newest first;
        # a session's worth is well within the most recent few hundred).
        recent = await self._memories.list(user_id, limit=_RECOVERY_SCAN)
        return [m for m in recent if m.thread == str(session_id) and not is_observation(m)]

    async def summaries(self, user_id: UUID, limit: int = 10) -> list[ConversationSummary]:
        """This user's most recent session summaries, newest first."""
        return await self._conversations.summaries(user_id, limit)
