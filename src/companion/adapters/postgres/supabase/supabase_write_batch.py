"""SupabaseWriteBatch: a WriteBatch, and a search after it, as one PostgREST RPC call."""

from __future__ import annotations

from uuid import UUID

from companion.adapters.postgres.schema_json.batch import batch_json
from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.adapters.postgres.supabase.supabase_memory_store import (
    candidates_from_rows,
    match_params,
)
from companion.adapters.postgres.write_batch import WriteBatch, WriteBatchStore
from companion.domain.models import Candidate, MemoryQuery

APPLY_WRITES = "companion_apply_writes"
APPLY_AND_MATCH = "companion_apply_and_match"


class SupabaseWriteBatch(WriteBatchStore):
    """Calls ``companion_apply_writes`` / ``companion_apply_and_match`` (migration 0005).

    Each call is one SQL function run by PostgREST, so one transaction and one round
    trip; RPC calls are never retried, so a batch is never applied twice by the client.
    The search's arguments and answer are exactly those of
    ``SupabaseMemoryStore.candidates`` (the same functions build and read them).
    It shares the client and does not close it.
    """

    def __init__(self, client: SupabaseClient) -> None:
        self._client = client
        self._calls = 0

    @property
    def calls(self) -> int:
        return self._calls

    def check(self, batch: WriteBatch) -> None:
        batch_json(batch)

    async def apply(self, batch: WriteBatch) -> None:
        params = {"p_batch": batch_json(batch)}
        if not len(batch):
            return
        self._calls += 1
        await self._client.execute(
            self._client.rpc(APPLY_WRITES, params), what="applying deferred writes"
        )

    async def apply_then_candidates(
        self, batch: WriteBatch, user_id: UUID, query: MemoryQuery
    ) -> list[Candidate]:
        params = {"p_batch": batch_json(batch), **match_params(user_id, query)}
        self._calls += 1
        response = await self._client.execute(
            self._client.rpc(APPLY_AND_MATCH, params),
            what="applying deferred writes and searching memories",
        )
        return candidates_from_rows(response.data)
