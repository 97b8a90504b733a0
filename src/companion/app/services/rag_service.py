"""RAGService: retrieval of the memories relevant to what the user just said."""

from __future__ import annotations

import hashlib
from uuid import UUID

import numpy as np
import structlog

from companion.domain.models import Embedding, MemoryQuery, ScoredMemory
from companion.domain.scoring import RankingWeights, rank
from companion.domain.text import content_terms
from companion.domain.validation import MAX_QUERY, validate_text
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.embedder import Embedder
from companion.ports.memory_store import MemoryStore

log = structlog.get_logger(__name__)

_EMBEDDING_TTL = 3600.0


class RAGService:
    """Finds memories for a query: the store proposes candidates, the domain ranks them."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        cache: Cache,
        clock: Clock,
        weights: RankingWeights,
        candidate_limit: int = 50,
        top_k: int = 5,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._cache = cache
        self._clock = clock
        self._weights = weights
        self._candidate_limit = candidate_limit
        self._top_k = top_k

    async def embed_query(self, text: str) -> Embedding:
        """The query's embedding; repeated queries are served from the cache."""
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        key = f"qemb:{self._embedder.model}:{digest}"
        cached = await self._cache.get(key)
        if cached is not None and len(cached) == 4 * self._embedder.dimensions:
            return Embedding(self._embedder.model, np.frombuffer(cached, dtype=np.float32))
        (embedding,) = await self._embedder.embed([text])
        await self._cache.set(key, embedding.vector.astype(np.float32).tobytes(), _EMBEDDING_TTL)
        return embedding

    async def retrieve(
        self, user_id: UUID, query: str, *, limit: int | None = None, record_access: bool = True
    ) -> list[ScoredMemory]:
        """The best memories of this user for ``query``, best first."""
        text = validate_text(query, what="search query", max_length=MAX_QUERY)
        k = self._top_k if limit is None else limit
        if k <= 0:
            return []
        embedding = await self.embed_query(text)
        candidates = await self._store.candidates(
            user_id,
            MemoryQuery(
                text=text,
                terms=tuple(content_terms(text)),
                embedding=embedding,
                limit=max(self._candidate_limit, k),
            ),
        )
        now = self._clock.now()
        ranked = rank(candidates, now=now, weights=self._weights, limit=k)
        if record_access and ranked:
            await self._store.touch(user_id, [s.memory.id for s in ranked], now)
        log.debug("memories_retrieved", candidates=len(candidates), returned=len(ranked))
        return ranked
