"""The store contracts against a real Supabase project: opt-in, skipped unless configured.

Run with ``SUPABASE_URL`` and ``SUPABASE_SERVICE_ROLE_KEY`` set, against a project with
the migrations of ``src/companion/adapters/postgres/migrations`` applied::

    SUPABASE_URL=https://<ref>.supabase.co SUPABASE_SERVICE_ROLE_KEY=<key> \\
        .venv/bin/python -m pytest tests/integration/test_supabase_live.py -v

The contract suites of ``tests/contract`` run unchanged on the Supabase stores. They
write rows of two fixed test users only (``00000000-0000-4000-8000-00000000000a`` and
``…0b``), deleted before and after each test; nothing else in the project is touched.
The journal test lists unprocessed turns of every user, so it is skipped when the project
holds unprocessed turns of anyone else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from types import ModuleType

import pytest
from postgrest import ReturnMethod
from tests.contract import (
    test_conversation_store,
    test_memory_store,
    test_memory_store_history,
    test_profile_store,
)

from companion.adapters.postgres.supabase import (
    SupabaseClient,
    SupabaseConversationStore,
    SupabaseMemoryStore,
    SupabaseProfileStore,
)

LIVE_URL = os.environ.get("SUPABASE_URL", "")
LIVE_KEY = os.environ.get("SUPABASE_SERVICE_ROLE_KEY", "")
TEST_USERS = [
    uuid.UUID("00000000-0000-4000-8000-00000000000a"),
    uuid.UUID("00000000-0000-4000-8000-00000000000b"),
]
TABLES = ["companion_memories", "companion_profiles", "companion_turns", "companion_summaries"]

if not (LIVE_URL and LIVE_KEY):
    pytest.skip(
        "live Supabase test: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY to run it",
        allow_module_level=True,
    )


def _adopt(prefix: str, module: ModuleType) -> None:
    """Run a contract module's tests here, where the fixtures below override conftest's."""
    for name, test in vars(module).items():
        if name.startswith("test_") and callable(test):
            globals()[f"test_{prefix}__{name.removeprefix('test_')}"] = test


_adopt("memory", test_memory_store)
_adopt("memory_history", test_memory_store_history)
_adopt("profile", test_profile_store)
_adopt("conversation", test_conversation_store)


async def _wipe_test_users(client: SupabaseClient) -> None:
    users = [str(u) for u in TEST_USERS]
    for table in TABLES:
        query = client.table(table).delete(returning=ReturnMethod.minimal).in_("user_id", users)
        await client.execute(query, what=f"clearing the test users' rows of {table}")


@pytest.fixture
async def live_client() -> AsyncIterator[SupabaseClient]:
    client = SupabaseClient(LIVE_URL, LIVE_KEY)
    await _wipe_test_users(client)
    yield client
    await _wipe_test_users(client)
    await client.aclose()


@pytest.fixture
def memory_store(live_client: SupabaseClient) -> SupabaseMemoryStore:
    return SupabaseMemoryStore(live_client)


@pytest.fixture
def profile_store(live_client: SupabaseClient) -> SupabaseProfileStore:
    return SupabaseProfileStore(live_client)


@pytest.fixture
def conversation_store(live_client: SupabaseClient) -> SupabaseConversationStore:
    return SupabaseConversationStore(live_client)


async def test_conversation__the_journal_lists_unprocessed_user_turns_until_marked(
    live_client: SupabaseClient, conversation_store: SupabaseConversationStore
) -> None:
    others = await conversation_store.pending_turns(1)
    if others:
        pytest.skip("the project holds unprocessed turns of other users")
    await test_conversation_store.test_the_journal_lists_unprocessed_user_turns_until_marked(
        conversation_store
    )


async def test_the_live_project_answers_with_the_service_role(
    live_client: SupabaseClient,
) -> None:
    store = SupabaseMemoryStore(live_client)
    assert await store.count(TEST_USERS[0]) == 0
    assert await store.embedding_models(TEST_USERS[0]) == {}
