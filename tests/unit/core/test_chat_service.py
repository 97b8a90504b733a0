"""Sessions end to end through the services: greet, answer, remember, summarise, greet again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.core import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    OnboardingData,
    OnboardingService,
    ProfileService,
    RAGService,
    UserService,
)
from companion.core.turn_service import TurnService
from companion.domain.errors import InvalidInput
from companion.domain.models import ChatRequest, GreetingKind, MemoryCandidate, Role
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=42)


class CountingChatModel(OfflineChatModel):
    """The offline model, counting every call a session makes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def reply(self, request: ChatRequest) -> str:
        self.calls.append("reply")
        return await super().reply(request)

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:  # type: ignore[override]
        self.calls.append("stream_reply")
        async for piece in super().stream_reply(request):
            yield piece

    async def extract_memories(self, text: str) -> list[MemoryCandidate]:
        self.calls.append("extract_memories")
        return await super().extract_memories(text)


@dataclass
class App:
    clock: ManualClock
    model: CountingChatModel
    chat: ChatService
    memories: MemoryService
    profiles: ProfileService
    worker: MemoryWorker
    onboarding: OnboardingService
    conversations: ConversationService
    users: UserService
    rag: RAGService


@pytest.fixture
def app() -> App:
    clock, model = ManualClock(), CountingChatModel()
    store, profiles_store, convo_store = (
        InMemoryMemoryStore(),
        InMemoryProfileStore(),
        InMemoryConversationStore(),
    )
    embedder = HashingEmbedder()
    cache = InMemoryCache()
    rag = RAGService(store, embedder, profiles_store, cache, clock, RankingWeights())
    users = UserService(profiles_store, clock, cache)
    memories = MemoryService(store, embedder, profiles_store, rag, clock)
    profiles = ProfileService(profiles_store, users, clock)
    conversations = ConversationService(convo_store, profiles_store, clock, cache)
    worker = MemoryWorker(convo_store, memories, profiles, model, clock)
    chat = ChatService(
        users, conversations, profiles, TurnService(conversations, rag, worker), model, worker
    )
    onboarding = OnboardingService(profiles, memories)
    return App(
        clock, model, chat, memories, profiles, worker, onboarding, conversations, users, rag
    )


async def test_a_returning_user_is_greeted_with_the_last_conversation(app: App) -> None:
    first = await app.chat.start(ADA)
    assert first.greeting.kind is GreetingKind.NEW_USER
    reply = await app.chat.turn(
        first, "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit."
    )
    assert "Ada" in reply
    await app.chat.end(first)
    await app.worker.drain()  # memory work runs after the reply
    profile = await app.profiles.get(ADA)
    assert profile.name == "Ada"
    assert dict(profile.preferences) == {"favourite.colour": "green"}

    app.clock.advance(timedelta(days=21))
    app.model.calls.clear()
    second = await app.chat.start(ADA)
    assert app.model.calls == []  # the greeting needs no model call
    assert second.greeting.kind is GreetingKind.RETURNING
    assert second.greeting.refers_to_session == first.session_id
    assert "three weeks" in second.greeting.text and "Biscuit" in second.greeting.text
    assert "Biscuit" in await app.chat.turn(second, "What's my dog called?")
    assert "green" in await app.chat.turn(second, "What is my favourite colour?")


async def test_an_empty_session_does_not_replace_the_last_summary(app: App) -> None:
    first = await app.chat.start(ADA)
    await app.chat.turn(first, "I live in Lahore.")
    await app.chat.end(first)
    app.clock.advance(timedelta(hours=2))
    silent = await app.chat.start(ADA)
    assert await app.chat.end(silent) is None
    app.clock.advance(timedelta(hours=2))
    third = await app.chat.start(ADA)
    assert third.greeting.refers_to_session == first.session_id
    assert "Lahore" in third.greeting.text


async def test_repeating_yourself_adds_nothing(app: App) -> None:
    session = await app.chat.start(ADA)
    for _ in range(3):
        await app.chat.turn(session, "I have a dog called Biscuit.")
    await app.worker.drain()  # memory work runs after the reply
    assert [m.key for m in await app.memories.list(ADA)] == ["pet.dog.biscuit"]
    await app.chat.end(session)  # what a session learned is settled when it ends
    assert len(session.learned) == 1


async def test_a_turn_longer_than_a_search_query_is_answered_and_remembered(app: App) -> None:
    session = await app.chat.start(ADA)
    await app.chat.turn(session, "My dog is called Biscuit.")
    monologue = "I walked along the river for hours today. " * 100 + "Where do I live?"
    assert len(monologue) > 4000  # a valid turn, longer than a search may be
    reply = await app.chat.turn(session, monologue + " I live in Lahore.")
    assert reply
    await app.worker.drain()
    stored = {m.key: m.text for m in await app.memories.list(ADA)}
    assert "Lahore" in stored.get("location.home", "")  # from the end of the long turn
    assert session.transcript[-2].text.startswith("I walked along the river")


async def test_it_says_so_when_it_does_not_know(app: App) -> None:
    session = await app.chat.start(ADA)
    reply = await app.chat.turn(session, "What's my dog called?")
    assert "know" in reply.lower() and "Biscuit" not in reply


async def test_onboarding_builds_profile_and_memories_once(app: App) -> None:
    data = OnboardingData.parse(
        {
            "name": "Ada",
            "interests": ["chess", "hiking"],
            "goals": ["learn Spanish"],
            "preferences": {"colour": "green"},
            "language": "en",
        }
    )
    profile, results = await app.onboarding.initialize(ADA, data)
    assert profile.name == "Ada" and profile.language == "en"
    assert set(profile.interests) == {"chess", "hiking"}
    assert profile.goals == ("learn Spanish",)
    assert len(results) == 5
    _, again = await app.onboarding.initialize(ADA, data)
    await app.worker.drain()  # memory work runs after the reply
    assert len(await app.memories.list(ADA)) == 5
    assert all(r.change.value == "unchanged" for r in again)
    session = await app.chat.start(ADA)
    assert "Ada" in session.greeting.text


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "Ada", "unknown": 1},
        {"interests": [""]},
        {"interests": ["x" * 201]},
        {"name": "x" * 65},
        {"preferences": {"": "green"}},
        "not an object",
    ],
)
def test_bad_onboarding_data_is_rejected(raw: object) -> None:
    with pytest.raises(InvalidInput, match="onboarding"):
        OnboardingData.parse(raw)


async def test_memory_work_costs_one_model_call_per_turn(app: App) -> None:
    session = await app.chat.start(ADA)
    app.model.calls.clear()
    said = ["I live in Lahore.", "My favourite colour is green.", "How are you?", "I like chai."]
    for text in said:
        await app.chat.turn(session, text)
    await app.chat.end(session)
    assert app.model.calls.count("extract_memories") == len(said)  # one per turn, no more
    assert app.model.calls.count("reply") == len(said)


async def test_a_journalled_turn_left_unprocessed_is_recovered(app: App) -> None:
    # As after a crash: the turn is in the journal, but its memory work never ran.
    session = await app.conversations.start(ADA, await app.profiles.get(ADA))
    turn = await app.conversations.record(session, Role.USER, "I have a dog called Rex.")
    assert await app.memories.list(ADA) == []
    assert await app.worker.recover() == 1
    (dog,) = await app.memories.list(ADA)
    assert (dog.key, dog.value, dog.created_at) == ("pet.dog.rex", "Rex", turn.created_at)
    assert await app.worker.recover() == 0  # processed once, marked, never again


class DraftingModel(CountingChatModel):
    """Drafts the profile the way a language model would: in its own words."""

    async def build_profile(self, profile, memories):  # type: ignore[no-untyped-def]
        self.calls.append("build_profile")
        draft = await super().build_profile(profile, memories)
        return replace(draft, notes=f"Told me {len(memories)} things about themself.")


async def test_the_profile_is_redrafted_once_per_session_from_what_it_taught(app: App) -> None:
    model = DraftingModel()
    chat = ChatService(
        app.users,
        app.conversations,
        app.profiles,
        TurnService(app.conversations, app.rag, app.worker),
        model,
        app.worker,
    )
    session = await chat.start(ADA)
    for text in ("My name is Ada.", "I live in Lahore.", "I have a cat called Miso."):
        await chat.turn(session, text)
    await chat.end(session)
    assert model.calls.count("build_profile") == 1
    profile = await app.profiles.get(ADA)
    assert profile.notes == "Told me 3 things about themself." and profile.name == "Ada"

    quiet = await chat.start(ADA)
    await chat.turn(quiet, "How are you?")
    await chat.end(quiet)
    assert model.calls.count("build_profile") == 1  # nothing learned, no call
