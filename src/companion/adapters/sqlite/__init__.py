"""SQLite adapters: the embedded default storage (one file, stdlib ``sqlite3``)."""

from __future__ import annotations

from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore

__all__ = [
    "SqliteConversationStore",
    "SqliteDatabase",
    "SqliteMemoryStore",
    "SqliteProfileStore",
]
