"""The domain's values: memories, profiles, conversations, greetings.

All are frozen, slotted dataclasses; changing one means building a new one
(``dataclasses.replace``). Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


class MemoryCategory(enum.StrEnum):
    """What kind of thing a memory records."""

    FACT = "fact"
    PERSONAL = "personal"  # who the user is: name, age, home, work
    PREFERENCE = "preference"
    EVENT = "event"
    RELATIONSHIP = "relationship"  # family, friends, pets
    GOAL = "goal"
    SKILL = "skill"
    EMOTION = "emotion"
    OBSERVATION = "observation"  # a whole dialog turn or an observation kept verbatim


class MemorySource(enum.StrEnum):
    """Where a memory came from."""

    CONVERSATION = "conversation"
    ONBOARDING = "onboarding"
    TOOL = "tool"
    IMPORT = "import"
    MANUAL = "manual"


class Role(enum.StrEnum):
    """Who spoke a conversation turn."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class GreetingKind(enum.StrEnum):
    """Whether a greeting welcomes a new user or a returning one."""

    NEW_USER = "new_user"
    RETURNING = "returning"


@dataclass(frozen=True, slots=True)
class Embedding:
    """A unit-length vector and the name of the model that made it.

    Vectors of different models are never compared: the name travels with the vector.
    """

    model: str
    vector: Vector = field(compare=False, repr=False)

    @property
    def dimensions(self) -> int:
        return int(self.vector.shape[0])


@dataclass(frozen=True, slots=True)
class MemoryRevision:
    """A value a memory held before it changed, and when it was true: [valid_from, valid_to)."""

    text: str
    value: str | None
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True, slots=True)
class Memory:
    """One thing remembered about one user.

    ``text`` is the self-contained statement that is searched and shown ("Has a dog
    called Biscuit"); ``key`` names the slot it fills when it has one ("pet.dog"), so a
    new value for the same key updates instead of duplicating; ``value`` is the short
    answer ("Biscuit") when there is one. ``thread`` and ``position`` say where it was
    said: the conversation (session) it came from and its turn's place in it, so
    retrieval can bring in what was said around it. ``history`` holds the values it
    had before, oldest first; ``valid_from`` is when the current value became true
    (``None``: since ``created_at``).
    """

    id: UUID
    user_id: UUID
    category: MemoryCategory
    text: str
    importance: int
    created_at: datetime
    updated_at: datetime
    source: MemorySource = MemorySource.CONVERSATION
    key: str | None = None
    value: str | None = None
    last_accessed_at: datetime | None = None
    access_count: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False)
    thread: str | None = None
    position: int | None = None
    history: tuple[MemoryRevision, ...] = ()
    valid_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class MemoryCandidate:
    """A memory proposed by an extractor, before it is reconciled and stored.

    ``forget`` marks a request to forget what ``key`` names ("forget that I live in
    Paris"); a forget key may end with ``.`` to name a whole family ("pet.dog.").
    """

    category: MemoryCategory
    text: str
    importance: int = 5
    key: str | None = None
    value: str | None = None
    forget: bool = False


@dataclass(frozen=True, slots=True)
class Candidate:
    """A memory a store proposes for a query, with the raw signals it computed.

    ``lexical`` is the store's lexical relevance (higher is better, any scale: stores
    differ), ``None`` when the lexical search did not propose the memory. ``dense`` is
    the cosine similarity to the query vector for every candidate that has a vector of
    the query's model, whichever search proposed it (``None`` only without a vector).
    Final ranking is the domain's.
    """

    memory: Memory
    lexical: float | None = None
    dense: float | None = None


@dataclass(frozen=True, slots=True)
class MemoryQuery:
    """What a store needs to propose candidates for one search.

    ``terms`` are single words and ``phrases`` space-separated word sequences that score
    when they occur together; both are matched lexically (stemmed) and OR-ed, each
    side proposing up to ``limit`` memories. With ``neighbours`` > 0 the store also
    proposes, around the ``expand`` best lexical and the ``expand`` best dense
    candidates that have a thread and position, the memories of the same thread within
    that many positions (what was said just before and after). Expanding only the best
    keeps the pool small; on LoCoMo it recalls as much as expanding every candidate.
    """

    text: str
    terms: tuple[str, ...]
    embedding: Embedding | None
    limit: int
    categories: frozenset[MemoryCategory] | None = None
    phrases: tuple[str, ...] = ()
    neighbours: int = 0
    expand: int = 10


@dataclass(frozen=True, slots=True)
class ScoredMemory:
    """A memory with its final retrieval score in [0, 1]."""

    memory: Memory
    score: float


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What the companion knows about a user as a whole.

    ``participants`` are the names of the people in this user's conversations; they carry
    no topic, so retrieval masks them when embedding (see ``text.mask_names``).
    """

    user_id: UUID
    created_at: datetime
    updated_at: datetime
    name: str | None = None
    display_name: str | None = None
    interests: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    preferences: Mapping[str, str] = field(default_factory=dict, compare=False)
    language: str | None = None
    notes: str | None = None
    last_seen_at: datetime | None = None
    participants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfileDraft:
    """A profile as a model proposes it from memories. The domain merges it into the
    stored profile (``domain.profiles.merge_draft``); it never replaces one outright."""

    name: str | None = None
    interests: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    preferences: Mapping[str, str] = field(default_factory=dict, compare=False)
    language: str | None = None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationTurn:
    """One utterance in a session."""

    id: UUID
    user_id: UUID
    session_id: UUID
    role: Role
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ParkedTurn:
    """A journalled turn set aside: its memory work failed in a way retrying cannot fix
    (bad data, an embedding-model mismatch, a bug). Kept, with why, until retried."""

    turn: ConversationTurn
    reason: str
    parked_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """What a finished session was about, and what to pick up next time."""

    id: UUID
    user_id: UUID
    session_id: UUID
    summary: str
    started_at: datetime
    ended_at: datetime
    turn_count: int
    topics: tuple[str, ...] = ()
    open_threads: tuple[str, ...] = ()
    next_greeting: str | None = None


@dataclass(frozen=True, slots=True)
class Greeting:
    """The first thing the companion says in a session."""

    user_id: UUID
    text: str
    kind: GreetingKind
    composed_at: datetime
    refers_to_session: UUID | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat-model request."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A request to a chat model: the dialogue so far plus the memories retrieved for it.

    Memories travel as data, not as instructions: adapters that talk to an LLM render
    them into a clearly delimited block; the offline model reads them directly.
    """

    messages: tuple[ChatMessage, ...]
    memories: tuple[Memory, ...] = ()
    profile: UserProfile | None = None


@dataclass(frozen=True, slots=True)
class UserExport:
    """Everything the companion holds of one user, as of ``exported_at``: the profile,
    every memory with its history, every turn said (oldest first), every session
    summary (newest first), and the turns set aside with why."""

    user_id: UUID
    exported_at: datetime
    profile: UserProfile | None
    memories: tuple[Memory, ...]
    turns: tuple[ConversationTurn, ...]
    summaries: tuple[ConversationSummary, ...]
    parked: tuple[ParkedTurn, ...]


@dataclass(frozen=True, slots=True)
class UserErased:
    """What erasing a user deleted: memories, conversation rows (turns, summaries, the
    memory-work lease), the profile, cache entries and turns waiting in the spool."""

    user_id: UUID
    memories: int
    conversation_rows: int
    profile: bool
    cache_entries: int
    spooled_turns: int
