"""`companion-agent bench locomo`: LoCoMo retrieval recall through the real services and store.

Each conversation is ingested as one user's memories (the clock set to each session's
date), then every question with evidence is asked after the last session. Recall@k is
LoCoMo's: per question, the fraction of its evidence dialog ids found among the dialog
ids of the top-k retrieved memories, averaged over questions.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from companion.core import ChatService, MemoryService, MemoryWorker, ProfileService, RAGService
from companion.domain.keys import slugify
from companion.domain.models import Memory, MemoryCandidate, MemoryCategory, MemorySource, Role
from companion.domain.provenance import source_turns
from companion.inbound.bench.locomo_data import Conversation, Item, Unit
from companion.inbound.bench.progress import Progress
from companion.inbound.bench.stats import percentiles_ms
from companion.ports.conversation_store import ConversationStore
from companion.ports.memory_store import MemoryStore

_NAMESPACE = uuid.UUID("1c0c0b5e-6a53-4a0e-9d59-0d1f7a1e2b3c")


@dataclass
class _Tally:
    """Recall sums per k, overall and per category."""

    ks: Sequence[int]
    sums: dict[str, dict[int, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, groups: Sequence[str], recalls: dict[int, float]) -> None:
        for group in groups:
            bucket = self.sums.setdefault(group, dict.fromkeys(self.ks, 0.0))
            for k, value in recalls.items():
                bucket[k] += value
            self.counts[group] = self.counts.get(group, 0) + 1

    def percent(self, group: str) -> dict[str, float]:
        n = self.counts.get(group, 0)
        return {str(k): round(100 * self.sums[group][k] / n, 2) if n else 0.0 for k in self.ks}


def recall_at(retrieved: Sequence[Sequence[str]], evidence: Sequence[str], k: int) -> float:
    """The fraction of ``evidence`` among the sources of the first ``k`` retrieved items."""
    found = {source for item in retrieved[:k] for source in item}
    return sum(1 for e in evidence if e in found) / len(evidence)


async def run_locomo(
    conversations: Sequence[Conversation],
    *,
    unit: Unit,
    ks: Sequence[int],
    memories: MemoryService,
    profiles: ProfileService,
    rag: RAGService,
    set_clock: Callable[[datetime], None],
    progress: Progress | None = None,
    participants: bool = True,
) -> dict[str, Any]:
    """Ingest and query every conversation; the report ``bench locomo --json`` prints.

    With ``participants`` the two speakers are named as the user's participants, so their
    names are masked when embedding, as for any user whose people are known.
    """

    async def ingest(conv: Conversation, user: UUID) -> tuple[SourcesOf, int]:
        sources = await _ingest(conv, unit, user, memories, set_clock, progress)
        return _by_id(sources), len(sources)

    return await _bench(
        conversations,
        unit=unit,
        ks=ks,
        user_key=f"locomo:{{}}:{unit}",
        ingest=ingest,
        profiles=profiles,
        rag=rag,
        set_clock=set_clock,
        progress=progress,
        participants=participants,
    )


# What a retrieved memory stands for: the dialog ids it counts as.
SourcesOf = Callable[[Memory], tuple[str, ...]]


async def _bench(
    conversations: Sequence[Conversation],
    *,
    unit: Unit,
    ks: Sequence[int],
    user_key: str,
    ingest: Callable[[Conversation, UUID], Awaitable[tuple[SourcesOf, int]]],
    profiles: ProfileService,
    rag: RAGService,
    set_clock: Callable[[datetime], None],
    progress: Progress | None,
    participants: bool,
) -> dict[str, Any]:
    """Each conversation as one user (``user_key`` formatted with its id): ``ingest`` it,
    then ask its questions the day after its last session; the report."""
    tally = _Tally(ks=ks)
    per_conversation: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    ingested = 0
    ingest_seconds = 0.0
    for conv in conversations:
        user = uuid.uuid5(_NAMESPACE, user_key.format(conv.sample_id))
        await profiles.set_participants(user, conv.speakers if participants else ())
        started = time.perf_counter()
        sources_of, stored = await ingest(conv, user)
        ingest_seconds += time.perf_counter() - started
        ingested += stored
        set_clock(conv.last_session_at + timedelta(days=1))
        per_conversation[conv.sample_id] = await _ask(
            conv, user, sources_of, rag, tally, latencies, progress
        )
    return _report(
        unit, conversations, ingested, ingest_seconds, tally, per_conversation, latencies
    )


def _by_id(sources: dict[UUID, tuple[str, ...]]) -> SourcesOf:
    """A memory's dialog ids, looked up by its id (the memories the bench stored itself)."""
    return lambda memory: sources.get(memory.id, ())


def _by_provenance(dialog_ids: dict[str, tuple[str, ...]]) -> SourcesOf:
    """A memory's dialog ids: those of the turns in its provenance."""
    return lambda memory: tuple(
        d for turn in source_turns(memory) for d in dialog_ids.get(turn, ())
    )


async def _ask(
    conv: Conversation,
    user: UUID,
    sources_of: SourcesOf,
    rag: RAGService,
    tally: _Tally,
    latencies: list[float],
    progress: Progress | None,
) -> dict[str, float]:
    """Ask every question with evidence through the reply's retrieval; the
    conversation's recall. A retrieved memory counts by ``sources_of`` it."""
    deepest = max(tally.ks)
    conv_tally = _Tally(ks=tally.ks)
    for question in conv.questions:
        if not question.evidence:
            continue
        began = time.perf_counter()
        found = await rag.retrieve(user, question.text, limit=deepest, record_access=False)
        latencies.append(time.perf_counter() - began)
        retrieved = [sources_of(s.memory) for s in found]
        recalls = {k: recall_at(retrieved, question.evidence, k) for k in tally.ks}
        groups = ["all", f"cat{question.category}"]
        if 1 <= question.category <= 4:
            groups.append("cat1_4")
        tally.add(groups, recalls)
        conv_tally.add(["all"], recalls)
        if progress is not None:
            progress.advance(1, f"{conv.sample_id} questions")
    return conv_tally.percent("all")


def _report(
    unit: Unit,
    conversations: Sequence[Conversation],
    ingested: int,
    ingest_seconds: float,
    tally: _Tally,
    per_conversation: dict[str, dict[str, float]],
    latencies: list[float],
) -> dict[str, Any]:
    categories = sorted(g for g in tally.counts if g.startswith("cat") and g != "cat1_4")
    return {
        "unit": unit,
        "conversations": len(conversations),
        "memories": ingested,
        "questions": tally.counts.get("all", 0),
        "recall": {
            "all": tally.percent("all"),
            "cat1_4": tally.percent("cat1_4"),
            "by_category": {g.removeprefix("cat"): tally.percent(g) for g in categories},
            "by_conversation": per_conversation,
        },
        "questions_by_category": {g.removeprefix("cat"): tally.counts[g] for g in categories},
        "latency_ms": percentiles_ms(latencies),
        "ingest_per_s": round(ingested / ingest_seconds, 1) if ingest_seconds else 0.0,
    }


async def _ingest(
    conv: Conversation,
    unit: Unit,
    user: UUID,
    memories: MemoryService,
    set_clock: Callable[[datetime], None],
    progress: Progress | None,
) -> dict[UUID, tuple[str, ...]]:
    """Remember every item of the conversation; returns memory id -> dialog ids."""
    sources: dict[UUID, tuple[str, ...]] = {}
    for index, item in enumerate(conv.items(unit)):
        set_clock(item.said_at)
        candidate = MemoryCandidate(
            category=MemoryCategory.OBSERVATION,
            text=item.text,
            importance=5,
            key=f"locomo.{unit}.{slugify(item.thread)}_{index}",
        )
        (result,) = await memories.remember(
            user,
            [candidate],
            source=MemorySource.IMPORT,
            thread=item.thread,
            position=item.position,
        )
        sources[result.memory.id] = item.sources
        if progress is not None:
            progress.advance(1, f"{conv.sample_id} ingest")
    return sources


async def run_locomo_end_to_end(
    conversations: Sequence[Conversation],
    *,
    ks: Sequence[int],
    chat: ChatService,
    worker: MemoryWorker,
    journal: ConversationStore,
    memories: MemoryStore,
    profiles: ProfileService,
    rag: RAGService,
    set_clock: Callable[[datetime], None],
    progress: Progress | None = None,
    participants: bool = True,
) -> dict[str, Any]:
    """LoCoMo through the product's own path: each conversation is one user's sessions,
    every turn (either speaker's, named: "Caroline: ...") said to the companion through
    ``ChatService.turn`` as ``chat`` does, its memory work (extraction, the kept turn) done
    by the worker; then each question through the reply's retrieval. A retrieved memory
    counts by the dialog ids of the turns in its provenance."""

    async def ingest(conv: Conversation, user: UUID) -> tuple[SourcesOf, int]:
        dialog_ids = await _say_everything(conv, user, chat, worker, journal, set_clock, progress)
        return _by_provenance(dialog_ids), await memories.count(user)

    report = await _bench(
        conversations,
        unit="dialog",
        ks=ks,
        user_key="locomo-end-to-end:{}",
        ingest=ingest,
        profiles=profiles,
        rag=rag,
        set_clock=set_clock,
        progress=progress,
        participants=participants,
    )
    return {**report, "end_to_end": True}


async def _say_everything(
    conv: Conversation,
    user: UUID,
    chat: ChatService,
    worker: MemoryWorker,
    journal: ConversationStore,
    set_clock: Callable[[datetime], None],
    progress: Progress | None,
) -> dict[str, tuple[str, ...]]:
    """Say every dialog turn, a session per LoCoMo session, each turn a second after the
    last; returns journalled turn id -> the dialog ids it stands for."""
    said: list[tuple[str, ...]] = []
    sessions: dict[str, list[Item]] = {}
    for item in conv.dialog:
        sessions.setdefault(item.thread, []).append(item)
    for items in sessions.values():
        set_clock(items[0].said_at)
        session = await chat.start(user)
        for i, item in enumerate(items):
            set_clock(item.said_at + timedelta(seconds=i))
            await chat.turn(session, item.text)
            said.append(item.sources)
            if progress is not None:
                progress.advance(1, f"{conv.sample_id} ingest")
        set_clock(items[-1].said_at + timedelta(seconds=len(items)))
        await chat.end(session)
    await worker.drain()
    turns = [t for t in await journal.recent_turns(user, 2**62) if t.role is Role.USER]
    if len(turns) != len(said):
        raise RuntimeError(f"{conv.sample_id}: {len(said)} turns said, {len(turns)} journalled")
    return {str(t.id): sources for t, sources in zip(turns, said, strict=True)}
