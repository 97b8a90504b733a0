"""MemoryService: saving, searching, listing, forgetting, exporting and re-embedding memories."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

import structlog

from companion.core.cache_aside import (
    MEMORIES,
    RECENT_MEMORIES,
    RECENT_MEMORIES_TTL_SECONDS,
    CacheAside,
    greeting_key,
    recent_memories_key,
)
from companion.core.rag_service import RAGService, participants_of
from companion.domain.changes import Change, SaveResult, dedupe_key
from companion.domain.errors import Conflict, InvalidInput, NotFound
from companion.domain.greetings import without_forgotten
from companion.domain.keys import forget_names
from companion.domain.models import (
    ConversationTurn,
    Embedding,
    Memory,
    MemoryCandidate,
    MemoryCategory,
    MemoryQuery,
    MemorySource,
    ScoredMemory,
)
from companion.domain.provenance import (
    is_observation,
    observation_id,
    observation_of,
    source_turns,
    with_source_turn,
)
from companion.domain.query import mask_names
from companion.domain.reconcile import Action, is_restatement, merge_timelines, reconcile
from companion.domain.validation import MAX_KEY, require_aware, validate_candidate, validate_text
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore
from companion.ports.embedder import Embedder
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

_REINDEX_BATCH = 64
# Cosine above which a free-form note may be a restatement (it must also add no word).
RESTATEMENT_FLOOR = 0.9
# Every summary of a user (the stores take a 64-bit limit).
_ALL_SUMMARIES = 2**62


class MemoryService:
    """Owns a user's long-term memories.

    The first page of a user's list is cached (``cache``, by default the RAG service's);
    every write to the user's memories drops it.
    """

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        profiles: ProfileStore,
        rag: RAGService,
        clock: Clock,
        cache: Cache | None = None,
        conversations: Callable[[], ConversationStore] | None = None,
    ) -> None:
        """``conversations`` gives the store of session summaries (when first needed), so
        that what is forgotten is taken out of them too (and of the next greeting)."""
        self._conversations = conversations
        self._store = store
        self._embedder = embedder
        self._profiles = profiles
        self._rag = rag
        self._clock = clock
        self._cached = CacheAside(rag.cache if cache is None else cache)

    async def _changed(self, user_id: UUID) -> None:
        """After a write to this user's memories: the cached list no longer holds."""
        await self._cached.invalidate(recent_memories_key(user_id))

    async def _embed(
        self, user_id: UUID, texts: Sequence[str], participants: Sequence[str] | None = None
    ) -> builtins.list[Embedding]:
        """Embed memory texts the way queries are embedded: participants' names masked."""
        if not texts:
            return []
        if participants is None:
            participants = await participants_of(self._profiles, user_id, self._cached.cache)
        return await self._embedder.embed([mask_names(t, participants) for t in texts])

    async def remember(
        self,
        user_id: UUID,
        candidates: Sequence[MemoryCandidate],
        *,
        source: MemorySource = MemorySource.CONVERSATION,
        thread: str | None = None,
        position: int | None = None,
        at: datetime | None = None,
        participants: Sequence[str] | None = None,
        turn_id: UUID | None = None,
    ) -> list[SaveResult]:
        """Save candidates: a new key is added, a changed value updates, a repeat is a no-op.

        An update keeps the old value in the memory's history; a request to forget
        deletes what it names (one result per deleted memory; nothing when there was
        nothing to forget). ``thread`` and ``position`` say where they were said (the
        session and the turn's place in it); retrieval uses them to bring in
        neighbouring turns. Every candidate is validated before anything is written.
        ``participants`` saves a profile read when the caller holds the profile.
        ``turn_id`` is the turn they were said in: a memory it adds or changes lists it
        in its source turns (provenance), and forgetting the memory forgets that turn's
        observation too.
        """
        if position is not None and (isinstance(position, bool) or position < 0):
            raise InvalidInput("position must be a non-negative integer")
        if thread is not None:
            thread = validate_text(thread, what="thread", max_length=MAX_KEY)
        checked = [validate_candidate(c) for c in candidates]
        unique: dict[str, MemoryCandidate] = {}
        for candidate in checked:
            unique[dedupe_key(candidate)] = candidate  # the last word on a slot wins
        if not unique:
            return []
        # When it was said, not when the work runs: a turn recovered after a crash keeps
        # its own time, and history intervals follow the conversation.
        when = self._clock.now() if at is None else require_aware(at, what="at")
        stated = [c for c in unique.values() if not c.forget]
        embeddings = iter(await self._embed(user_id, [c.text for c in stated], participants))
        results: list[SaveResult] = []
        where = (thread, position)
        completed = False
        try:
            for key, candidate in unique.items():
                if candidate.forget:
                    results.extend(await self._forget_slot(user_id, key, candidate, when))
                else:
                    embedding = next(embeddings)  # in the order of ``stated``
                    results.append(
                        await self._save_one(
                            user_id, key, candidate, embedding, source, where, when, turn_id
                        )
                    )
            completed = True
        finally:
            # Also when a write failed half-way: the ones before it are stored.
            if not completed or any(r.change is not Change.UNCHANGED for r in results):
                await self._changed(user_id)
        changed = [r for r in results if r.change is not Change.UNCHANGED]
        if changed:
            log.info(
                "memories_saved",
                n=len(changed),
                keys=[r.memory.key for r in changed],
                changes=[r.change.value for r in changed],
            )
        return results

    async def _forget_slot(
        self, user_id: UUID, key: str, candidate: MemoryCandidate, now: datetime
    ) -> list[SaveResult]:
        if key.endswith("."):  # a family of keys: "pet.dog." is every dog
            stored = [m for m in await self._store.list(user_id) if forget_names(key, m.key)]
        else:
            found = await self._store.find_by_key(user_id, key)
            stored = [] if found is None else [found]
        results: list[SaveResult] = []
        for existing in stored:
            decision = reconcile(candidate, existing, now=now)
            if decision.action is Action.DELETE:
                await self._store.delete(user_id, existing.id)
                await self._forget_sources(user_id, existing)
                results.append(SaveResult(existing, Change.DELETED))
        return results

    async def _forget_sources(self, user_id: UUID, memory: Memory) -> None:
        """Forget the observations of the turns a forgotten memory came from (what the user
        said there must not be found again once they asked to forget it), and take it out
        of the session summaries and so of the next greeting."""
        await self._forget_in_summaries(user_id, memory)
        for turn in source_turns(memory):
            try:
                turn_id = UUID(turn)
            except ValueError:
                continue  # metadata written by hand or by another tool: nothing to follow
            kept = observation_id(turn_id)
            if kept != memory.id:  # a forgotten observation is its own turn: gone already
                await self._store.delete(user_id, kept)

    async def _save_one(
        self,
        user_id: UUID,
        key: str,
        candidate: MemoryCandidate,
        embedding: Embedding,
        source: MemorySource,
        where: tuple[str | None, int | None],
        now: datetime,
        turn_id: UUID | None = None,
    ) -> SaveResult:
        existing = await self._store.find_by_key(user_id, key)
        if existing is None and candidate.key is None:
            existing = await self._restated(user_id, candidate, embedding)
            if existing is not None:
                return SaveResult(existing, Change.UNCHANGED)
        decision = reconcile(candidate, existing, now=now)
        if existing is not None and decision.memory is not None:
            # The vector follows the current text: a statement placed in the history (said
            # before the current value) or said again leaves it as it is.
            vector = embedding if decision.memory.text != existing.text else None
            changed = replace(
                decision.memory, metadata=with_source_turn(decision.memory.metadata, turn_id)
            )
            if decision.action is Action.UPDATE:
                await self._store.update(changed, vector)
                return SaveResult(changed, Change.UPDATED)
            if decision.action is Action.RESTATE:
                await self._store.update(changed, None)
                return SaveResult(changed, Change.UNCHANGED)
        if existing is not None:
            return SaveResult(existing, Change.UNCHANGED)
        memory = self._new_memory(user_id, key, candidate, now, source, where)
        if turn_id is not None:
            memory = replace(memory, metadata=with_source_turn(memory.metadata, turn_id))
        await self._store.add(memory, embedding)
        return SaveResult(memory, Change.ADDED)

    async def _restated(
        self, user_id: UUID, candidate: MemoryCandidate, embedding: Embedding
    ) -> Memory | None:
        """A stored memory that a free-form note only says again in other words, if any."""
        query = MemoryQuery(text=candidate.text, terms=(), embedding=embedding, limit=3)
        for found in await self._store.candidates(user_id, query):
            if is_observation(found.memory):
                continue  # the turn's own words, kept verbatim: not a memory said before
            if found.dense is not None and is_restatement(
                candidate.text, found.memory.text, found.dense, floor=RESTATEMENT_FLOOR
            ):
                return found.memory
        return None

    async def _forget_in_summaries(self, user_id: UUID, memory: Memory) -> None:
        if self._conversations is None:
            return
        store = self._conversations()
        changed = False
        for summary in await store.summaries(user_id, _ALL_SUMMARIES):
            scrubbed = without_forgotten(summary, [memory])
            if scrubbed is not None:
                await store.save_summary(scrubbed)
                changed = True
        if changed:  # the cached greeting is the latest summary's
            await self._cached.invalidate(greeting_key(user_id))

    @staticmethod
    def _new_memory(
        user_id: UUID,
        key: str,
        candidate: MemoryCandidate,
        now: datetime,
        source: MemorySource,
        where: tuple[str | None, int | None],
    ) -> Memory:
        return Memory(
            id=uuid.uuid4(),
            user_id=user_id,
            category=candidate.category,
            text=candidate.text,
            importance=candidate.importance,
            created_at=now,
            updated_at=now,
            source=source,
            key=key,
            value=candidate.value,
            thread=where[0],
            position=where[1],
        )

    async def save(
        self,
        user_id: UUID,
        *,
        text: str,
        category: MemoryCategory = MemoryCategory.FACT,
        importance: int = 5,
        key: str | None = None,
        value: str | None = None,
        source: MemorySource = MemorySource.MANUAL,
    ) -> SaveResult:
        """Save one memory given field by field (tools, the CLI, onboarding)."""
        candidate = MemoryCandidate(
            category=category, text=text, importance=importance, key=key, value=value
        )
        (result,) = await self.remember(user_id, [candidate], source=source)
        return result

    async def search(self, user_id: UUID, query: str, *, limit: int = 5) -> list[ScoredMemory]:
        """The memories most relevant to ``query``, best first."""
        return await self._rag.retrieve(user_id, query, limit=limit)

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
    ) -> builtins.list[Memory]:
        """This user's memories, most recently updated first: what was learned, not the
        observations that keep each turn's words (ask for ``MemoryCategory.OBSERVATION``
        to list those).

        The most recent ones (no category, ``limit`` up to 50) come from the cache.
        """
        if category is not None:
            return await self._store.list(user_id, category=category, limit=limit)
        if limit is None:
            return [m for m in await self._store.list(user_id) if not is_observation(m)]
        if not 0 < limit <= RECENT_MEMORIES:
            return await self._learned(user_id, limit)
        recent = await self._cached.read(
            recent_memories_key(user_id),
            lambda: self._learned(user_id, RECENT_MEMORIES),
            MEMORIES,
            RECENT_MEMORIES_TTL_SECONDS,
        )
        return recent[:limit]

    async def _learned(self, user_id: UUID, limit: int) -> builtins.list[Memory]:
        """The ``limit`` most recent memories that are not observations, page by page."""
        found: builtins.list[Memory] = []
        offset, page = 0, max(4 * limit, 200)
        while len(found) < limit:
            rows = await self._store.list(user_id, limit=page, offset=offset)
            found.extend(m for m in rows if not is_observation(m))
            if len(rows) < page:
                break
            offset += page
        return found[:limit]

    async def index_turn(
        self,
        turn: ConversationTurn,
        position: int | None,
        participants: Sequence[str] | None = None,
        *,
        replay: bool = False,
    ) -> bool:
        """Keep a user's turn for retrieval, as an observation with its words' vector (the
        background memory work calls this, never the reply). False if it was kept already.

        ``replay``: the turn may have been worked before (recovery after a crash), so the
        store is asked first; a store that writes behind would otherwise meet the
        duplicate only when its batch is refused.
        """
        observation = observation_of(turn, position)
        if replay and await self._store.get(turn.user_id, observation.id) is not None:
            return False
        (embedding,) = await self._embed(turn.user_id, [observation.text], participants)
        try:
            await self._store.add(observation, embedding)
        except Conflict:
            return False
        return True

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory:
        """One memory of this user; NotFound otherwise."""
        memory = await self._store.get(user_id, memory_id)
        if memory is None:
            raise NotFound(f"no memory {memory_id} for this user")
        return memory

    async def forget(self, user_id: UUID, memory_id: UUID) -> Memory:
        """Delete one memory of this user and return what was forgotten."""
        memory = await self.get(user_id, memory_id)
        await self._store.delete(user_id, memory_id)
        await self._forget_sources(user_id, memory)
        await self._changed(user_id)
        log.info("memory_forgotten", category=memory.category.value)
        return memory

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has."""
        return await self._store.count(user_id)

    async def import_memories(self, user_id: UUID, memories: Iterable[Memory]) -> ImportReport:
        """Import memories (already validated) into this user, idempotently.

        A memory whose id is already stored for this user is skipped; one whose key is
        taken is merged into the stored one by event time (``merge_timelines``): each value
        it held takes its place in the stored timeline, and the one said last is current.
        Nothing is written unless every record is for this user.
        """
        batch = builtins.list(memories)
        if any(m.user_id != user_id for m in batch):
            raise InvalidInput("every imported memory must belong to the target user")
        embeddings = await self._embed(user_id, [m.text for m in batch])
        added = updated = skipped = 0
        completed = False
        try:
            for memory, embedding in zip(batch, embeddings, strict=True):
                if await self._store.get(user_id, memory.id) is not None:
                    skipped += 1
                    continue
                existing = (
                    None
                    if memory.key is None
                    else await self._store.find_by_key(user_id, memory.key)
                )
                if existing is None:
                    await self._store.add(memory, embedding)
                    added += 1
                else:
                    merged = merge_timelines(existing, memory)
                    if merged == existing:
                        skipped += 1
                        continue
                    vector = embedding if merged.text != existing.text else None
                    await self._store.update(merged, vector)
                    updated += 1
            completed = True
        finally:
            if not completed or added or updated:
                await self._changed(user_id)
        log.info("memories_imported", added=added, updated=updated, skipped=skipped)
        return ImportReport(added=added, updated=updated, skipped=skipped)

    async def reindex(self, user_id: UUID) -> int:
        """Re-embed every memory of this user with the current embedder; returns how many."""
        memories = await self._store.list(user_id)
        try:
            for start in range(0, len(memories), _REINDEX_BATCH):
                chunk = memories[start : start + _REINDEX_BATCH]
                embeddings = await self._embed(user_id, [m.text for m in chunk])
                for memory, embedding in zip(chunk, embeddings, strict=True):
                    await self._store.set_embedding(user_id, memory.id, embedding)
        finally:
            await self._changed(user_id)
        log.info("memories_reindexed", n=len(memories), model=self._embedder.model)
        return len(memories)

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each embedding model embedded."""
        return await self._store.embedding_models(user_id)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """How many imported memories were added, updated or skipped as already present."""

    added: int
    updated: int
    skipped: int
