"""PostgresWriteBatch: a WriteBatch, and a search after it, as one statement."""

from __future__ import annotations

import json
from uuid import UUID

from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_memory_store import candidates_from_rows, match_args
from companion.adapters.postgres.schema_json.batch import batch_json
from companion.adapters.postgres.write_batch import WriteBatch, WriteBatchStore
from companion.domain.models import Candidate, MemoryQuery

_APPLY = "SELECT companion_apply_writes($1::jsonb)"
_APPLY_AND_MATCH = (
    "SELECT * FROM companion_apply_and_match($1::jsonb, $2, $3::text[], $4::text[],"
    " $5::vector, $6, $7, $8::text[], $9, $10, $11)"
)


class PostgresWriteBatch(WriteBatchStore):
    """Calls ``companion_apply_writes`` / ``companion_apply_and_match`` (migration 0005).

    Each call is one statement, so one transaction and one round trip.
    """

    def __init__(self, db: PostgresDatabase, *, exact_search_up_to: int = 5000) -> None:
        self._db = db
        self._exact_up_to = exact_search_up_to
        self._calls = 0

    @property
    def calls(self) -> int:
        return self._calls

    def check(self, batch: WriteBatch) -> None:
        batch_json(batch)

    async def apply(self, batch: WriteBatch) -> None:
        payload = json.dumps(batch_json(batch), ensure_ascii=False)
        if not len(batch):
            return
        self._calls += 1
        await self._db.execute(_APPLY, payload)

    async def apply_then_candidates(
        self, batch: WriteBatch, user_id: UUID, query: MemoryQuery
    ) -> list[Candidate]:
        payload = json.dumps(batch_json(batch), ensure_ascii=False)
        args = match_args(user_id, query, self._exact_up_to)
        self._calls += 1
        rows = await self._db.fetch(_APPLY_AND_MATCH, payload, *args)
        return candidates_from_rows(rows, args[0])
