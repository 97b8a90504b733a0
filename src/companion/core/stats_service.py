"""StatsService: the monitoring numbers — connection pools, cache, database batching, memory.

Each source is anything with a ``stats()`` method returning a plain mapping; the container
hands in the ones the configured backends provide (the PostgreSQL pool, the Redis cache
with its breaker, the batcher). A source that is not configured reports
``{"configured": False}`` rather than zeros, so nobody reads an idle backend as a healthy
one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from uuid import UUID

from companion.core.turn_keeper import TurnKeeper
from companion.domain.provenance import is_observation
from companion.ports.conversation_store import ConversationStore
from companion.ports.memory_store import MemoryStore
from companion.ports.stats_source import StatsSource

_NOT_CONFIGURED: dict[str, object] = {"configured": False}
_COUNTED = 1000
_LISTED = 20


def _snapshot(source: StatsSource | None) -> dict[str, object]:
    if source is None:
        return dict(_NOT_CONFIGURED)
    return {"configured": True, **dict(source.stats())}


class StatsService:
    """Reads the counters of the running backends, and a user's memory figures."""

    def __init__(
        self,
        memories: MemoryStore,
        *,
        pools: Mapping[str, StatsSource] | None = None,
        cache: StatsSource | None = None,
        batching: StatsSource | None = None,
        conversations: ConversationStore | None = None,
        keeper: TurnKeeper | None = None,
    ) -> None:
        self._memories = memories
        self._conversations = conversations
        self._keeper = keeper
        self._pools = dict(pools or {})
        self._cache = cache
        self._batching = batching

    async def connection_pool(self) -> dict[str, object]:
        """One entry per pooled backend (e.g. ``postgres``), or ``configured: False``."""
        if not self._pools:
            return dict(_NOT_CONFIGURED)
        return {name: _snapshot(source) for name, source in sorted(self._pools.items())}

    async def cache(self) -> dict[str, object]:
        """Hits, misses, hit rate and (with Redis) fallbacks and the breaker's state."""
        return _snapshot(self._cache)

    async def database_batching(self) -> dict[str, object]:
        """Queries requested vs. issued, and how many the batcher saved."""
        return _snapshot(self._batching)

    async def memory(self, user_id: UUID) -> dict[str, object]:
        """How many memories this user has, by category and by embedding model, and how
        many of their turns are kept for retrieval (observations, counted apart)."""
        stored = await self._memories.list(user_id)
        by_category = Counter(m.category.value for m in stored if not is_observation(m))
        models = await self._memories.embedding_models(user_id)
        return {
            "user_id": str(user_id),
            "total": sum(by_category.values()),
            "by_category": dict(sorted(by_category.items())),
            "turns_kept": sum(1 for m in stored if is_observation(m)),
            "embedding_models": {
                ("none" if model is None else model): n
                for model, n in sorted(models.items(), key=lambda item: str(item[0]))
            },
        }

    async def journal(self, user_id: UUID | None = None) -> dict[str, object]:
        """Turns waiting for memory work, and turns parked with why (of one user, or all;
        counted up to 1,000, the parked listed up to 20); with a networked store, the
        turns kept on this machine during an outage that wait to be sent (every user's)."""
        if self._conversations is None:
            return dict(_NOT_CONFIGURED)
        kept = None if self._keeper is None else await self._keeper.waiting()
        pending = await self._conversations.pending_turns(_COUNTED, user_id)
        parked = await self._conversations.parked_turns(user_id, _COUNTED)
        return {
            "pending": len(pending),
            "parked": len(parked),
            "kept_on_this_machine": kept,
            "parked_turns": [
                {
                    "turn_id": str(p.turn.id),
                    "user_id": str(p.turn.user_id),
                    "said_at": p.turn.created_at.isoformat(),
                    "parked_at": p.parked_at.isoformat(),
                    "reason": p.reason,
                }
                for p in parked[:_LISTED]
            ],
        }

    async def all(self, user_id: UUID | None = None) -> dict[str, object]:
        """Every section; ``memory`` only when a user is given."""
        report: dict[str, object] = {
            "connection_pool": await self.connection_pool(),
            "cache": await self.cache(),
            "database_batching": await self.database_batching(),
            "journal": await self.journal(user_id),
        }
        if user_id is not None:
            report["memory"] = await self.memory(user_id)
        return report
