"""Cache-aside in the services: reads spared, every write seen, a broken cache harmless."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.core import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    ProfileService,
    RAGService,
    UserService,
)
from companion.core.cache_aside import (
    MEMORIES,
    PROFILE,
    SUMMARY,
    greeting_key,
    profile_key,
    recent_memories_key,
)
from companion.core.turn_service import TurnService
from companion.domain.errors import CacheUnavailable
from companion.domain.models import (
    ConversationSummary,
    GreetingKind,
    Memory,
    MemoryCandidate,
    MemoryCategory,
    UserProfile,
)
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=0xADA)


class CountingProfiles(InMemoryProfileStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, user_id: uuid.UUID) -> UserProfile | None:
        self.reads += 1
        return await super().get(user_id)


class CountingConversations(InMemoryConversationStore):
    def __init__(self) -> None:
        super().__init__()
        self.summary_reads = 0

    async def latest_summary(self, user_id: uuid.UUID) -> ConversationSummary | None:
        self.summary_reads += 1
        return await super().latest_summary(user_id)


class CountingMemories(InMemoryMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.lists: Counter[int | None] = Counter()

    async def list(self, user_id: uuid.UUID, **kwargs: Any) -> list[Memory]:
        self.lists[kwargs.get("limit")] += 1
        return await super().list(user_id, **kwargs)


class BrokenCache(InMemoryCache):
    """Every call fails, as a bare RedisCache does while Redis is down."""

    async def get(self, key: str) -> bytes | None:
        raise CacheUnavailable("Redis cache get failed (ConnectionError)")

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        raise CacheUnavailable("Redis cache set failed (ConnectionError)")

    async def delete(self, *keys: str) -> int:
        raise CacheUnavailable("Redis cache delete failed (ConnectionError)")


@dataclass
class App:
    clock: ManualClock
    cache: InMemoryCache
    profile_store: CountingProfiles
    conversation_store: CountingConversations
    memory_store: CountingMemories
    chat: ChatService
    users: UserService
    profiles: ProfileService
    memories: MemoryService
    worker: MemoryWorker


def build(cache: InMemoryCache | None = None) -> App:
    clock, cache = ManualClock(), InMemoryCache() if cache is None else cache
    profile_store, conversation_store = CountingProfiles(), CountingConversations()
    memory_store, embedder, model = CountingMemories(), HashingEmbedder(), OfflineChatModel()
    rag = RAGService(memory_store, embedder, profile_store, cache, clock, RankingWeights())
    users = UserService(profile_store, clock, cache)
    memories = MemoryService(memory_store, embedder, profile_store, rag, clock)
    profiles = ProfileService(profile_store, users, clock)
    conversations = ConversationService(conversation_store, profile_store, clock, cache)
    worker = MemoryWorker(conversation_store, memories, profiles, model, clock)
    chat = ChatService(
        users, conversations, profiles, TurnService(conversations, rag, worker), model, worker
    )
    return App(
        clock,
        cache,
        profile_store,
        conversation_store,
        memory_store,
        chat,
        users,
        profiles,
        memories,
        worker,
    )


@pytest.fixture
def app() -> App:
    return build()


async def test_a_session_reads_the_profile_from_the_store_once(app: App) -> None:
    session = await app.chat.start(ADA)
    for text in ("My name is Ada.", "I live in Lahore.", "I love hiking.", "Where do I live?"):
        await app.chat.turn(session, text)
    await app.chat.end(session)
    assert app.profile_store.reads == 1  # the first look, which found no profile
    cached = PROFILE.decode(await app.cache.get(profile_key(ADA)) or b"")
    assert cached == await app.profile_store.get(ADA)  # written through, not stale
    assert cached is not None and cached.name == "Ada" and cached.interests == ("hiking",)


async def test_every_profile_write_is_seen_by_the_next_read(app: App) -> None:
    await app.profiles.get(ADA)
    await app.users.set_display_name(ADA, "Addie")
    assert (await app.profiles.get(ADA)).display_name == "Addie"
    await app.profiles.update(ADA, {"language": "ur"})
    assert (await app.profiles.get(ADA)).language == "ur"
    await app.profiles.set_participants(ADA, ["Ada", "Zara"])
    assert (await app.profiles.get(ADA)).participants == ("Ada", "Zara")
    (saved,) = await app.memories.remember(
        ADA, [MemoryCandidate(MemoryCategory.PREFERENCE, "Likes tea", 5, "likes.tea", "tea")]
    )
    await app.profiles.apply_memories(ADA, [saved.memory])
    assert (await app.profiles.get(ADA)).interests == ("tea",)
    await app.profiles.forget_memories(ADA, [saved.memory])
    assert (await app.profiles.get(ADA)).interests == ()
    seen = await app.users.mark_seen(ADA)
    assert (await app.profiles.get(ADA)).last_seen_at == seen.last_seen_at
    assert await app.profiles.get(ADA) == await app.profile_store.get(ADA)


async def test_the_next_greeting_is_ready_without_a_read(app: App) -> None:
    first = await app.chat.start(ADA)
    assert app.conversation_store.summary_reads == 1  # a new user: none, and that is cached
    await app.chat.turn(first, "I have a dog called Biscuit.")
    await app.chat.end(first)
    app.clock.advance(timedelta(days=3))
    second = await app.chat.start(ADA)
    assert app.conversation_store.summary_reads == 1
    assert second.greeting.kind is GreetingKind.RETURNING
    assert second.greeting.refers_to_session == first.session_id
    assert "three days" in second.greeting.text and "Biscuit" in second.greeting.text


async def test_recent_memories_are_cached_until_they_change(app: App) -> None:
    await app.memories.save(ADA, text="Lives in Lahore", key="location.home", value="Lahore")
    assert [m.value for m in await app.memories.list(ADA, limit=5)] == ["Lahore"]
    assert [m.value for m in await app.memories.list(ADA, limit=1)] == ["Lahore"]
    assert sum(app.memory_store.lists.values()) == 1  # one page read serves both

    await app.memories.save(ADA, text="Lives in Karachi", key="location.home", value="Karachi")
    assert [m.value for m in await app.memories.list(ADA, limit=5)] == ["Karachi"]
    await app.memories.save(ADA, text="Likes tea", key="likes.tea", value="tea")
    assert len(await app.memories.list(ADA, limit=5)) == 2
    (hit,) = await app.memories.search(ADA, "tea", limit=1)
    listed = {m.id: m for m in await app.memories.list(ADA, limit=5)}
    assert listed[hit.memory.id].access_count == 1  # retrieval's bookkeeping is seen
    await app.memories.forget(ADA, hit.memory.id)
    assert [m.value for m in await app.memories.list(ADA, limit=5)] == ["Karachi"]
    assert sum(app.memory_store.lists.values()) == 5  # a read after each of the four changes


async def test_other_list_queries_go_to_the_store(app: App) -> None:
    await app.memories.save(ADA, text="Lives in Lahore", key="location.home", value="Lahore")
    await app.memories.list(ADA)
    await app.memories.list(ADA, limit=500)
    await app.memories.list(ADA, category=MemoryCategory.FACT, limit=5)
    assert await app.cache.get(recent_memories_key(ADA)) is None


async def test_a_failing_cache_never_reaches_the_user() -> None:
    app = build(BrokenCache())
    with capture_logs() as logs:
        session = await app.chat.start(ADA)
        assert "Ada" in await app.chat.turn(session, "Hi! My name is Ada.")
        await app.chat.turn(session, "I live in Lahore.")
        assert "Lahore" in await app.chat.turn(session, "Where do I live?")
        await app.chat.end(session)
        assert (await app.profiles.get(ADA)).name == "Ada"
        assert {m.value for m in await app.memories.list(ADA, limit=5)} == {"Ada", "Lahore"}
        again = await app.chat.start(ADA)
    assert again.greeting.refers_to_session == session.session_id
    assert "cache_read_failed" in {e["event"] for e in logs}


async def test_an_unreadable_entry_is_a_miss(app: App) -> None:
    await app.profiles.update(ADA, {"display_name": "Addie"})
    await app.cache.set(profile_key(ADA), b"{not json")
    await app.cache.set(greeting_key(ADA), b'{"unknown_field": 1}')
    assert (await app.profiles.get(ADA)).display_name == "Addie"
    assert (await app.chat.start(ADA)).greeting.kind is GreetingKind.NEW_USER


_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(
    name=st.none() | _text,
    interests=st.lists(_text, max_size=3).map(tuple),
    preferences=st.dictionaries(_text, _text, max_size=3),
)
def test_profiles_round_trip_through_the_codec(
    name: str | None, interests: tuple[str, ...], preferences: dict[str, str]
) -> None:
    now = ManualClock().now()
    profile = UserProfile(
        ADA, now, now, name=name, interests=interests, preferences=preferences, last_seen_at=now
    )
    back = PROFILE.decode(PROFILE.encode(profile))
    assert back is not None and back == profile and dict(back.preferences) == preferences


async def test_memories_and_summaries_round_trip_through_the_codec(app: App) -> None:
    await app.memories.save(ADA, text="Lives in Lahore", key="location.home", value="Lahore")
    await app.memories.save(ADA, text="Lives in Karachi", key="location.home", value="Karachi")
    memories = await app.memory_store.list(ADA)
    assert memories[0].history  # the update kept Lahore in its history
    assert MEMORIES.decode(MEMORIES.encode(memories)) == memories
    assert SUMMARY.decode(SUMMARY.encode(None)) is None


async def test_the_cached_profile_is_what_sqlite_returns(tmp_path: Path) -> None:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    try:
        store, cache, clock = SqliteProfileStore(db), InMemoryCache(), ManualClock()
        users = UserService(store, clock, cache)
        profiles = ProfileService(store, users, clock)
        await users.set_display_name(ADA, "Addie")
        await profiles.update(ADA, {"notes": "Prefers mornings ☀️"})
        await profiles.set_participants(ADA, ["Ada", "Zara"])
        await users.mark_seen(ADA)
        cached = PROFILE.decode(await cache.get(profile_key(ADA)) or b"")
        stored = await store.get(ADA)
        assert cached == stored and stored is not None
        assert dict(cached.preferences) == dict(stored.preferences)  # type: ignore[union-attr]
    finally:
        db.close()
