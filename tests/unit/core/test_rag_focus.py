"""RAGService reads a question's dates and names: the memory from then, or about them, wins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.core import MemoryService, ProfileService, RAGService, UserService
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=21)


async def _services(weights: RankingWeights) -> tuple[ManualClock, MemoryService, RAGService]:
    store, profiles, clock = InMemoryMemoryStore(), InMemoryProfileStore(), ManualClock()
    cache = InMemoryCache()
    rag = RAGService(store, HashingEmbedder(), profiles, cache, clock, weights)
    users = UserService(profiles, clock, cache)
    await ProfileService(profiles, users, clock).set_participants(ADA, ["Maria", "John"])
    return clock, MemoryService(store, HashingEmbedder(), profiles, rag, clock), rag


async def _remember(memories: MemoryService, clock: ManualClock, when: datetime, text: str) -> None:
    clock.set(when)
    await memories.remember(ADA, [MemoryCandidate(MemoryCategory.EVENT, text, 5)])


async def test_a_date_in_the_question_picks_the_memory_said_then() -> None:
    for weights, expected in ((RankingWeights(), "dec"), (RankingWeights(temporal=0), "feb")):
        clock, memories, rag = await _services(weights)
        await _remember(
            memories, clock, datetime(2023, 12, 17, tzinfo=UTC), "dec: started a workout class"
        )
        await _remember(
            memories, clock, datetime(2024, 2, 3, tzinfo=UTC), "feb: started a workout class"
        )
        clock.set(datetime(2024, 3, 1, tzinfo=UTC))
        (best,) = await rag.retrieve(
            ADA, "What workout class did I start in December 2023?", limit=1
        )
        assert best.memory.text.startswith(expected), weights


async def test_a_participant_named_in_the_question_picks_their_memory() -> None:
    for weights, expected in ((RankingWeights(), "John"), (RankingWeights(named=0), "Maria")):
        clock, memories, rag = await _services(weights)
        when = datetime(2024, 1, 5, tzinfo=UTC)
        await _remember(memories, clock, when, "John adopted a rescue dog")
        clock.set(datetime(2024, 1, 6, tzinfo=UTC))  # Maria's is fresher: wins all else equal
        await _remember(memories, clock, clock.now(), "Maria adopted a rescue dog")
        (best,) = await rag.retrieve(ADA, "What did John adopt?", limit=1)
        assert best.memory.text.startswith(expected), weights


async def test_a_when_question_picks_the_memory_that_says_when() -> None:
    gaps = []
    for weights in (RankingWeights(answer=0), RankingWeights()):
        clock, memories, rag = await _services(weights)
        when = datetime(2024, 1, 5, tzinfo=UTC)
        await _remember(memories, clock, when, "went to a salsa dance class with Sara")
        await _remember(memories, clock, when, "went to a salsa dance class on Sunday")
        ranked = await rag.retrieve(ADA, "When did I go to a salsa dance class?", limit=2)
        score = {s.memory.text.split()[-1]: s.score for s in ranked}
        gaps.append(score["Sunday"] - score["Sara"])
    assert gaps[1] > 0  # with the answer type's bonus, the memory that says when wins
    assert gaps[1] > gaps[0]
