"""RAGService: retrieval of the memories relevant to what the user just said."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from uuid import UUID

import numpy as np
import structlog

from companion.core.cache_aside import CacheAside, cached_profile, recent_memories_key
from companion.domain.errors import EmbeddingUnavailable
from companion.domain.models import Embedding, MemoryQuery, ScoredMemory
from companion.domain.query import expand_query, focus_of, mask_names
from companion.domain.scoring import RankingWeights, rank
from companion.domain.validation import MAX_QUERY, validate_text
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.embedder import Embedder
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

_EMBEDDING_TTL = 3600.0


async def participants_of(
    profiles: ProfileStore, user_id: UUID, cache: Cache | None = None
) -> tuple[str, ...]:
    """The names of the people in this user's conversations (masked when embedding).

    With ``cache``, the profile is read through it (see ``cache_aside``).
    """
    if cache is None:
        profile = await profiles.get(user_id)
    else:
        profile = await cached_profile(CacheAside(cache), profiles, user_id)
    return () if profile is None else profile.participants


class RAGService:
    """Finds memories for a query: the store proposes candidates, the domain ranks them."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        profiles: ProfileStore,
        cache: Cache,
        clock: Clock,
        weights: RankingWeights,
        candidate_limit: int = 50,
        top_k: int = 5,
        phrases: bool = True,
        expand: int = 10,
        embedding_cache: Cache | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._profiles = profiles
        self._cache = cache
        self._cached = CacheAside(cache)
        # Query vectors can live elsewhere than the shared cache: an in-process model
        # recomputes one in ~5 ms, so sharing them through Redis would only fill it with
        # one-off sentences; a remote model's vectors are worth sharing.
        self._embeddings = self._cached if embedding_cache is None else CacheAside(embedding_cache)
        self._lexical_only = False  # the embedding service was down at the last query
        self._clock = clock
        self._weights = weights
        self._candidate_limit = candidate_limit
        self._top_k = top_k
        self._phrases = phrases
        self._expand = expand

    @property
    def cache(self) -> Cache:
        """The cache this service reads through (shared with the services built on it)."""
        return self._cache

    async def embed_query(self, text: str) -> Embedding:
        """The query's embedding; repeated queries are served from the cache."""
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        key = f"qemb:{self._embedder.model}:{digest}"
        cached = await self._embeddings.get_bytes(key)
        if cached is not None and len(cached) == 4 * self._embedder.dimensions:
            return Embedding(self._embedder.model, np.frombuffer(cached, dtype=np.float32))
        (embedding,) = await self._embedder.embed([text])
        raw = embedding.vector.astype(np.float32).tobytes()
        await self._embeddings.set_bytes(key, raw, _EMBEDDING_TTL)
        return embedding

    async def _query_embedding(self, text: str) -> Embedding | None:
        """The query's vector; None while the embedding service is down (the search is
        then lexical, and says so once until the service is back)."""
        try:
            embedding = await self.embed_query(text)
        except EmbeddingUnavailable as exc:
            if not self._lexical_only:
                self._lexical_only = True
                log.warning(
                    "query_embedding_unavailable_searching_lexically", error=type(exc).__name__
                )
            return None
        if self._lexical_only:
            self._lexical_only = False
            log.info("query_embedding_back")
        return embedding

    def memory_query(
        self,
        text: str,
        embedding: Embedding | None,
        participants: Sequence[str],
        pool: int,
    ) -> MemoryQuery:
        """What :meth:`retrieve` asks the store for: the question's terms and phrases, its
        vector, and how many candidates (``bench latency`` times the store's part alone)."""
        expanded = expand_query(text, phrases=self._phrases, participants=participants)
        return MemoryQuery(
            text=text,
            terms=expanded.terms,
            phrases=expanded.phrases,
            embedding=embedding,
            limit=pool,
            neighbours=self._weights.window,
            expand=self._expand,
        )

    @property
    def pool(self) -> int:
        """How many candidates each signal proposes."""
        return self._candidate_limit

    async def retrieve(
        self,
        user_id: UUID,
        query: str,
        *,
        limit: int | None = None,
        record_access: bool = True,
        participants: Sequence[str] | None = None,
    ) -> list[ScoredMemory]:
        """The best memories of this user for ``query``, best first.

        ``participants`` saves a profile read when the caller already holds the profile.
        """
        text = validate_text(query, what="search query", max_length=MAX_QUERY)
        k = self._top_k if limit is None else limit
        if k <= 0:
            return []
        if participants is None:
            participants = await participants_of(self._profiles, user_id, self._cache)
        embedding = await self._query_embedding(mask_names(text, participants))
        pool = max(self._candidate_limit, k)
        now = self._clock.now()
        focus = focus_of(
            text,
            now=now,
            participants=participants,
            slack_days=self._weights.date_slack_days,
        )
        candidates = await self._store.candidates(
            user_id, self.memory_query(text, embedding, participants, pool)
        )
        ranked = rank(
            candidates, now=now, weights=self._weights, limit=k, pool_size=pool, focus=focus
        )
        if record_access and ranked:
            await self._store.touch(user_id, [s.memory.id for s in ranked], now)
            # Access counts are part of a listed memory: the cached list is stale now.
            await self._cached.invalidate(recent_memories_key(user_id))
        log.debug("memories_retrieved", candidates=len(candidates), returned=len(ranked))
        return ranked
