"""A WriteBatch as the ``jsonb`` argument of ``companion_apply_writes`` (migrations 0005-0008).

Each list holds rows of its table in the JSON form PostgREST uses (see :mod:`.rows`), so
the function reads them with ``jsonb_populate_recordset``. Everything is checked here,
before anything is sent.
"""

from __future__ import annotations

from companion.adapters.postgres.schema_json.codec import (
    NO_EMBEDDING,
    Row,
    embedding_fields,
    optional_timestamp,
    timestamp,
    uuid_text,
)
from companion.adapters.postgres.schema_json.rows import (
    claim_params,
    memory_row,
    profile_row,
    summary_row,
    turn_row,
)
from companion.adapters.postgres.write_batch import MemoryWrite, WriteBatch
from companion.domain.errors import InvalidInput


def _memory(write: MemoryWrite) -> Row:
    vector = NO_EMBEDDING if write.embedding is None else embedding_fields(write.embedding)
    return {**memory_row(write.memory), **vector}


def _release(user: object, owner: object) -> Row:
    params = claim_params(user, owner, 1.0, 0)
    return {"user_id": params["p_user_id"], "owner": params["p_owner"]}


def batch_json(batch: object) -> Row:
    """The function's argument for ``batch``; InvalidInput for anything it cannot store."""
    if not isinstance(batch, WriteBatch):
        raise InvalidInput(f"expected a WriteBatch, got {type(batch).__name__}")
    return {
        "memory_deletes": [
            {"user_id": uuid_text(user, what="user id"), "id": uuid_text(mid, what="memory id")}
            for user, mid in batch.memory_deletes
        ],
        "memory_updates": [_memory(w) for w in batch.memory_updates],
        "memory_inserts": [_memory(w) for w in batch.memory_inserts],
        "turns": [
            {
                **turn_row(w.turn),
                "processed_at": optional_timestamp(w.processed_at, what="processed_at"),
            }
            for w in batch.turns
        ],
        "processed": [
            {
                "user_id": uuid_text(user, what="user id"),
                "id": uuid_text(turn, what="turn id"),
                "processed_at": timestamp(when, what="processed_at"),
            }
            for user, turn, when in batch.processed
        ],
        "touches": [
            {
                "user_id": uuid_text(t.user_id, what="user id"),
                "ids": [uuid_text(m, what="memory id") for m in t.memory_ids],
                "at": timestamp(t.when, what="touch time"),
            }
            for t in batch.touches
        ],
        "profiles": [profile_row(p) for p in batch.profiles],
        "summaries": [summary_row(s) for s in batch.summaries],
        "claim_releases": [_release(user, owner) for user, owner in batch.claim_releases],
    }
