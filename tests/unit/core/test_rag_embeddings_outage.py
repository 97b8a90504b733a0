"""The embedding service down: retrieval answers from lexical search instead of failing
the turn, and uses vectors again once the service is back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.core import MemoryService, RAGService
from companion.domain.errors import EmbeddingUnavailable
from companion.domain.models import Embedding, MemoryCandidate, MemoryCategory
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=22)


class Flaky(HashingEmbedder):
    """The hashing embedder, unreachable while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        self.calls += 1
        if self.down:
            raise EmbeddingUnavailable("the embedding endpoint timed out")
        return await super().embed(texts)


async def test_an_embeddings_outage_answers_from_lexical_search() -> None:
    store, profiles, clock, embedder = (
        InMemoryMemoryStore(),
        InMemoryProfileStore(),
        ManualClock(),
        Flaky(),
    )
    rag = RAGService(store, embedder, profiles, InMemoryCache(), clock, RankingWeights())
    memories = MemoryService(store, embedder, profiles, rag, clock)
    await memories.remember(
        ADA,
        [
            MemoryCandidate(MemoryCategory.RELATIONSHIP, "Has a dog called Biscuit", 7),
            MemoryCandidate(MemoryCategory.PERSONAL, "Lives in Lahore", 8),
        ],
    )
    embedder.down = True
    found = await rag.retrieve(ADA, "what is my dog called", limit=1)
    assert [s.memory.text for s in found] == ["Has a dog called Biscuit"]
    embedder.down = False
    calls = embedder.calls
    found = await rag.retrieve(ADA, "where do I live", limit=1)
    assert [s.memory.text for s in found] == ["Lives in Lahore"]
    assert embedder.calls > calls  # vectors again
