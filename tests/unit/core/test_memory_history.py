"""Contradictions, repeats and requests to forget, through the real services on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import HashingEmbedder, InMemoryCache, ManualClock
from companion.adapters.sqlite import (
    SqliteConversationStore,
    SqliteDatabase,
    SqliteMemoryStore,
    SqliteProfileStore,
)
from companion.core import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    ProfileService,
    RAGService,
    UserService,
)
from companion.core.turn_service import TurnService
from companion.domain.models import MemoryRevision
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=42)


@dataclass
class App:
    clock: ManualClock
    chat: ChatService
    memories: MemoryService
    profiles: ProfileService
    worker: MemoryWorker


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    clock = ManualClock()
    store, profiles_store = SqliteMemoryStore(db), SqliteProfileStore(db)
    embedder = HashingEmbedder()
    cache = InMemoryCache()
    rag = RAGService(store, embedder, profiles_store, cache, clock, RankingWeights())
    users = UserService(profiles_store, clock, cache)
    memories = MemoryService(store, embedder, profiles_store, rag, clock)
    profiles = ProfileService(profiles_store, users, clock)
    conversation_store = SqliteConversationStore(db)
    conversations = ConversationService(conversation_store, profiles_store, clock, cache)
    model = OfflineChatModel()
    worker = MemoryWorker(conversation_store, memories, profiles, model, clock)
    chat = ChatService(
        users, conversations, profiles, TurnService(conversations, rag, worker), model, worker
    )
    yield App(clock, chat, memories, profiles, worker)
    db.close()


async def test_moving_keeps_where_you_lived_before_with_when(app: App) -> None:
    said_paris = app.clock.now()
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "I live in Paris.")
    said_berlin = app.clock.advance(timedelta(days=2))
    await app.chat.turn(session, "I moved to Berlin.")

    await app.worker.drain()  # memory work runs after the reply
    (home,) = [m for m in await app.memories.list(ADA) if m.key == "location.home"]
    assert (home.value, home.text) == ("Berlin", "Lives in Berlin")
    assert home.valid_from == said_berlin
    assert home.history == (MemoryRevision("Lives in Paris", "Paris", said_paris, said_berlin),)
    assert "Berlin" in await app.chat.turn(session, "Where do I live?")


async def test_saying_the_same_thing_three_times_keeps_one_memory_without_history(
    app: App,
) -> None:
    session = await app.chat.start(ADA)
    for _ in range(3):
        await app.chat.turn(session, "My favourite colour is green.")
        app.clock.advance(timedelta(hours=1))
    await app.worker.drain()  # memory work runs after the reply
    (colour,) = await app.memories.list(ADA)
    assert (colour.key, colour.value, colour.history, colour.valid_from) == (
        "favourite.colour",
        "green",
        (),
        None,
    )
    await app.chat.end(session)  # what a session learned is settled when it ends
    assert len(session.learned) == 1


async def test_asking_to_forget_where_you_live_forgets_it_and_its_history(app: App) -> None:
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "I live in Paris. I have a dog called Biscuit.")
    app.clock.advance(timedelta(days=1))
    await app.chat.turn(session, "I moved to Berlin.")
    reply = await app.chat.turn(session, "Forget that I live in Berlin.")

    assert "forgotten" in reply.lower()
    await app.worker.drain()  # memory work runs after the reply
    assert [m.key for m in await app.memories.list(ADA)] == ["pet.dog.biscuit"]
    assert "Berlin" not in await app.chat.turn(session, "Where do I live?")
    await app.chat.end(session)
    app.clock.advance(timedelta(days=1))
    again = await app.chat.start(ADA)
    assert "Berlin" not in again.greeting.text and "Paris" not in again.greeting.text


async def test_forgetting_a_value_you_never_had_changes_nothing(app: App) -> None:
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "I live in Berlin.")
    await app.chat.turn(session, "Forget that I live in Paris.")
    await app.worker.drain()  # memory work runs after the reply
    (home,) = await app.memories.list(ADA)
    assert home.value == "Berlin"


async def test_forgetting_my_dogs_name_forgets_every_dog_but_not_the_cat(app: App) -> None:
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "I have a dog called Biscuit and a cat called Luna.")
    await app.chat.turn(session, "Please forget my dog's name.")
    await app.worker.drain()  # memory work runs after the reply
    assert [m.key for m in await app.memories.list(ADA)] == ["pet.cat.luna"]


async def test_forgetting_my_name_and_favourite_clears_them_from_the_profile(app: App) -> None:
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "My name is Ada and my favourite colour is green. I love chess.")
    await app.worker.drain()  # memory work runs after the reply
    profile = await app.profiles.get(ADA)
    assert profile.name == "Ada" and "chess" in profile.interests
    await app.chat.turn(session, "Please forget my name.")
    await app.chat.turn(session, "Forget that my favourite colour is green.")
    await app.worker.drain()  # memory work runs after the reply
    profile = await app.profiles.get(ADA)
    assert profile.name is None
    assert "favourite.colour" not in dict(profile.preferences)
    assert "chess" in profile.interests  # what was not forgotten stays
    await app.chat.end(session)
    app.clock.advance(timedelta(days=2))
    again = await app.chat.start(ADA)
    assert "Ada" not in again.greeting.text and "green" not in again.greeting.text
