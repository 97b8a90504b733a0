"""PostgreSQL adapters (asyncpg, pgvector).

Stores for self-hosted PostgreSQL or Supabase's direct or pooled connection string, over
one shared pool (:class:`PostgresDatabase`); the schema is the SQL in ``migrations/``,
applied by :func:`apply_migrations` (``companion-agent db migrate``).
"""

from __future__ import annotations

from companion.adapters.postgres.database import PoolStats, PostgresDatabase
from companion.adapters.postgres.migrator import (
    MigrationStatus,
    apply_migrations,
    migration_status,
)
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.postgres.postgres_profile_store import PostgresProfileStore
from companion.adapters.postgres.postgres_write_batch import PostgresWriteBatch

__all__ = [
    "MigrationStatus",
    "PoolStats",
    "PostgresConversationStore",
    "PostgresDatabase",
    "PostgresMemoryStore",
    "PostgresProfileStore",
    "PostgresWriteBatch",
    "apply_migrations",
    "migration_status",
]
