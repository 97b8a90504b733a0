"""A conversation in progress: the one owner of a session's state.

Every way in (a LiveKit room, ``console``, ``chat``, the library, the benchmarks) holds
one :class:`Session` per conversation and passes it to the turn use case, which is the
only code that changes its turn fields (the memory work reports what a turn changed
through :meth:`Session.absorb`, and a tool that writes the profile sets it). In LiveKit
it is the ``AgentSession``'s userdata.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from companion.domain.changes import Change, SaveResult
from companion.domain.models import ChatMessage, ConversationTurn, Greeting, Memory, UserProfile
from companion.domain.validation import SessionScope

# How many messages a reply made outside LiveKit sees (LiveKit keeps its own context).
HISTORY_MESSAGES = 12


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """A user turn made ready for a reply: journalled, with the memories it calls up."""

    said: str
    journalled: ConversationTurn
    memories: tuple[Memory, ...]
    profile: UserProfile
    position: int | None = None  # the turn's index in its session, when known
    message_id: str | None = None  # the id of the message it answers (LiveKit's), if any


@dataclass(slots=True)
class Session:
    """A conversation in progress, bound to one user by its write guard."""

    scope: SessionScope
    session_id: UUID
    started_at: datetime
    greeting: Greeting
    # The profile as of the latest memory work (read once, at the start).
    profile: UserProfile
    learned: list[Memory] = field(default_factory=list)
    forgotten: list[Memory] = field(default_factory=list)  # what it asked to forget
    turns: int = 0
    # Every turn recorded through this session, in order (what its summary is made of).
    transcript: list[ConversationTurn] = field(default_factory=list)
    # What a reply made outside LiveKit sees: the greeting, then each turn and reply.
    history: deque[ChatMessage] = field(default_factory=lambda: deque(maxlen=HISTORY_MESSAGES))
    # The latest turn begun; whether its memory work was handed on, and whether a reply
    # to it was journalled.
    current: PreparedTurn | None = None
    handed_on: bool = True
    answered: bool = True
    # The session's end has let go of what its start held (the claim on the user's
    # memory work in this process): once, however often the end runs.
    let_go: bool = False

    @property
    def user_id(self) -> UUID:
        return self.scope.user_id

    def absorb(self, results: Sequence[SaveResult], profile: UserProfile | None) -> None:
        """Take in what one turn's memory work changed: the memories, and the profile
        (``None``: the work did not read it, so the session's stays)."""
        self.forgotten.extend(r.memory for r in results if r.change is Change.DELETED)
        forgotten = {r.memory.id for r in results if r.change is Change.DELETED}
        learned = [r.memory for r in results if r.change in (Change.ADDED, Change.UPDATED)]
        replaced = forgotten | {m.id for m in learned}
        if replaced:
            self.learned[:] = [m for m in self.learned if m.id not in replaced]
        self.learned.extend(learned)
        if profile is not None:
            self.profile = profile
