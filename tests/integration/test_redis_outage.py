"""A chat session on real services with Redis behind the breaker, while Redis fails.

The user never sees the outage: every turn is answered, nothing said is lost, and after
Redis is back nothing stale is read from it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from tests.servers.redis import RedisServer

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import HashingEmbedder, InMemoryCache, ManualClock
from companion.adapters.redis import RedisCache
from companion.adapters.resilience.resilient_cache import BreakerState, ResilientCache
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
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
from companion.core.cache_aside import greeting_key, profile_key
from companion.core.turn_service import TurnService
from companion.domain.models import GreetingKind
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=0xADA)
COOLDOWN = 5.0


@dataclass
class App:
    clock: ManualClock
    breaker_clock: ManualClock
    redis: RedisCache
    cache: ResilientCache
    chat: ChatService
    memories: MemoryService
    profiles: ProfileService
    worker: MemoryWorker

    def after_cooldown(self) -> None:
        self.breaker_clock.advance(timedelta(seconds=COOLDOWN))


@pytest.fixture
async def app(own_redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[App]:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    clock, breaker_clock = ManualClock(), ManualClock()
    store, profile_store = SqliteMemoryStore(db), SqliteProfileStore(db)
    conversation_store = SqliteConversationStore(db)
    embedder, model = HashingEmbedder(), OfflineChatModel()
    redis = RedisCache.from_url(own_redis_server.url, namespace="outage")
    cache = ResilientCache(
        redis,
        InMemoryCache(),
        cooldown_seconds=COOLDOWN,
        monotonic=lambda: breaker_clock.now().timestamp(),
    )
    rag = RAGService(store, embedder, profile_store, cache, clock, RankingWeights())
    users = UserService(profile_store, clock, cache)
    memories = MemoryService(store, embedder, profile_store, rag, clock)
    profiles = ProfileService(profile_store, users, clock)
    conversations = ConversationService(conversation_store, profile_store, clock, cache)
    worker = MemoryWorker(conversation_store, memories, profiles, model, clock)
    chat = ChatService(
        users, conversations, profiles, TurnService(conversations, rag, worker), model, worker
    )
    yield App(clock, breaker_clock, redis, cache, chat, memories, profiles, worker)
    await worker.close(within=5)
    await cache.close()
    db.close()


async def test_redis_crashing_mid_session_is_invisible_and_loses_nothing(
    app: App, own_redis_server: RedisServer
) -> None:
    session = await app.chat.start(ADA)
    assert "Ada" in await app.chat.turn(
        session, "Hi! My name is Ada and I have a dog called Biscuit."
    )
    await app.chat.turn(session, "I live in Lahore.")
    await app.worker.drain()
    hits = app.cache.stats()["hits"]
    assert isinstance(hits, int) and hits > 0 and app.cache.state is BreakerState.CLOSED

    own_redis_server.stop()
    with capture_logs() as logs:
        await app.chat.turn(session, "My favourite colour is green.")
        assert "Biscuit" in await app.chat.turn(session, "What's my dog called?")
        await app.chat.turn(session, "I work as a nurse.")
        await app.worker.drain()
    assert app.cache.state is BreakerState.OPEN
    assert "cache_breaker_opened" in [e["event"] for e in logs]
    assert not [e for e in logs if e["log_level"] == "error"]

    own_redis_server.start()  # back, and empty: a crash loses what Redis held
    app.after_cooldown()
    assert "Lahore" in await app.chat.turn(session, "Where do I live?")
    assert "green" in await app.chat.turn(session, "What is my favourite colour?")
    assert app.cache.state is BreakerState.CLOSED
    await app.chat.end(session)

    keys = {m.key for m in await app.memories.list(ADA)}
    assert {"name", "pet.dog.biscuit", "location.home", "favourite.colour", "work.role"} <= keys
    profile = await app.profiles.get(ADA)
    assert profile.name == "Ada" and dict(profile.preferences) == {"favourite.colour": "green"}
    stats = app.cache.stats()
    assert (stats["opened"], stats["recovered"]) == (1, 1)
    assert isinstance(stats["fallbacks"], int) and stats["fallbacks"] > 0

    app.clock.advance(timedelta(days=2))
    again = await app.chat.start(ADA)
    assert again.greeting.kind is GreetingKind.RETURNING
    assert again.greeting.refers_to_session == session.session_id


async def test_after_a_hang_redis_never_serves_what_changed_during_it(
    app: App, own_redis_server: RedisServer
) -> None:
    """A hung Redis keeps its entries; those written over during the hang are stale."""
    first = await app.chat.start(ADA)  # caches "no summary yet" for the greeting
    await app.chat.turn(first, "My name is Ada.")
    await app.chat.turn(first, "My favourite colour is green.")
    await app.worker.drain()
    assert await app.redis.get(profile_key(ADA)) is not None
    assert await app.redis.get(greeting_key(ADA)) == b"null"

    own_redis_server.freeze()
    try:
        await app.chat.turn(first, "Actually my favourite colour is blue.")
        await app.worker.drain()
        await app.profiles.update(ADA, {"display_name": "Addie"})
        await app.chat.end(first)  # the new summary cannot reach Redis
        assert app.cache.state is BreakerState.OPEN
        during = await app.profiles.get(ADA)
        assert during.display_name == "Addie"
        assert dict(during.preferences) == {"favourite.colour": "blue"}
    finally:
        own_redis_server.thaw()

    # Redis still holds the profile with green and no display name, and "no summary".
    app.after_cooldown()
    app.clock.advance(timedelta(days=1))
    second = await app.chat.start(ADA)
    assert app.cache.state is BreakerState.CLOSED
    assert second.greeting.kind is GreetingKind.RETURNING
    assert second.greeting.refers_to_session == first.session_id
    assert "Addie" in second.greeting.text
    profile = await app.profiles.get(ADA)
    assert profile.display_name == "Addie"
    assert dict(profile.preferences) == {"favourite.colour": "blue"}
    assert "blue" in await app.chat.turn(second, "What is my favourite colour?")
    # And Redis serves again, with the current values.
    assert await app.redis.get(profile_key(ADA)) is not None
    assert app.cache.stats()["dirty_keys"] == 0
