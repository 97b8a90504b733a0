"""ChatService: one conversational turn, from what the user said to the companion's reply."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import structlog

from companion.app.logging import bind_session
from companion.app.services.conversation_service import ConversationService, Session
from companion.app.services.memory_service import Change, MemoryService
from companion.app.services.profile_service import ProfileService
from companion.app.services.rag_service import RAGService
from companion.app.services.user_service import UserService
from companion.domain.models import (
    ChatMessage,
    ChatRequest,
    ConversationSummary,
    Role,
)
from companion.domain.validation import MAX_TURN_TEXT, validate_text
from companion.ports.chat_model import ChatModel

log = structlog.get_logger(__name__)

_HISTORY_TURNS = 12


class ChatService:
    """Runs sessions: greets, answers each turn with relevant memories, remembers, summarises."""

    def __init__(
        self,
        users: UserService,
        conversations: ConversationService,
        memories: MemoryService,
        profiles: ProfileService,
        rag: RAGService,
        chat_model: ChatModel,
    ) -> None:
        self._users = users
        self._conversations = conversations
        self._memories = memories
        self._profiles = profiles
        self._rag = rag
        self._model = chat_model
        self._history: dict[UUID, list[ChatMessage]] = {}

    async def start(self, user_id: UUID) -> Session:
        """Begin a session: make sure the user exists, and compose the greeting."""
        await self._users.mark_seen(user_id)
        session = await self._conversations.start(user_id)
        bind_session(user_id=str(user_id), session_id=str(session.session_id))
        self._history[session.session_id] = [ChatMessage(Role.ASSISTANT, session.greeting.text)]
        return session

    async def turn(self, session: Session, text: str) -> str:
        """Answer one user utterance and remember what it told us."""
        said = validate_text(text, what="message", max_length=MAX_TURN_TEXT)
        history = self._history.setdefault(session.session_id, [])
        await self._conversations.record(session, Role.USER, said)
        history.append(ChatMessage(Role.USER, said))
        retrieved = await self._rag.retrieve(session.user_id, said)
        profile = await self._profiles.get(session.user_id)
        request = ChatRequest(
            messages=tuple(history[-_HISTORY_TURNS:]),
            memories=tuple(s.memory for s in retrieved),
            profile=profile,
        )
        reply = await self._model.reply(request)
        await self._learn(session, said, position=session.turns - 1)
        await self._conversations.record(session, Role.ASSISTANT, reply)
        history.append(ChatMessage(Role.ASSISTANT, reply))
        return reply

    async def _learn(self, session: Session, said: str, *, position: int) -> None:
        candidates = await self._model.extract_memories(said)
        if not candidates:
            return
        results = await self._memories.remember(
            session.user_id, candidates, thread=str(session.session_id), position=position
        )
        learned = (Change.ADDED, Change.UPDATED)  # a forgotten memory is not learnt
        changed = [r.memory for r in results if r.change in learned]
        forgotten = [r.memory for r in results if r.change is Change.DELETED]
        if forgotten:  # the profile, the summary and the next greeting must not bring it back
            gone = {m.id for m in forgotten}
            session.learned[:] = [m for m in session.learned if m.id not in gone]
            await self._profiles.forget_memories(session.user_id, forgotten)
        session.learned.extend(changed)
        if changed:
            await self._profiles.apply_memories(session.user_id, changed)

    async def end(
        self, session: Session, *, open_threads: Sequence[str] = ()
    ) -> ConversationSummary | None:
        """Close the session: summarise it and prepare the next greeting."""
        self._history.pop(session.session_id, None)
        summary = await self._conversations.end(session, open_threads=open_threads)
        log.info("session_ended", turns=session.turns, learned=len(session.learned))
        return summary
