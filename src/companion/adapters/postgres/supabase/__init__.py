"""Supabase adapters (supabase-py async client).

Stores over PostgREST, with the service-role key (backend only). They share one
:class:`SupabaseClient`; the schema is the PostgreSQL adapter's migrations.
"""

from __future__ import annotations

from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.adapters.postgres.supabase.supabase_conversation_store import (
    SupabaseConversationStore,
)
from companion.adapters.postgres.supabase.supabase_memory_store import SupabaseMemoryStore
from companion.adapters.postgres.supabase.supabase_profile_store import SupabaseProfileStore
from companion.adapters.postgres.supabase.supabase_write_batch import SupabaseWriteBatch

__all__ = [
    "SupabaseClient",
    "SupabaseConversationStore",
    "SupabaseMemoryStore",
    "SupabaseProfileStore",
    "SupabaseWriteBatch",
]
