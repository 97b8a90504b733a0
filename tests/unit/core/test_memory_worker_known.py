"""The extracting model sees the related stored memories, and its update replaces them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from tests.unit.core.test_memory_service import make_kit

from companion.adapters.local.extraction import extract_candidates
from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import InMemoryCache, InMemoryConversationStore, InMemoryProfileStore
from companion.core import MemoryWorker, ProfileService, UserService
from companion.domain.models import ConversationTurn, Memory, MemoryCandidate, MemoryCategory, Role
from companion.domain.provenance import is_observation

ADA = uuid.UUID(int=21)


class ReadingModel(OfflineChatModel):
    """Proposes a correction keyed like the stored memory it was shown, as an LLM would."""

    def __init__(self) -> None:
        self.seen: list[list[Memory]] = []

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        self.seen.append(list(known))
        home = next((m for m in known if m.value == "Paris"), None)
        if home is None:
            return await super().extract_memories(text)
        # "Actually it's Lyon, not Paris": no pattern keys this; the model reuses the key.
        return [MemoryCandidate(MemoryCategory.PERSONAL, "Lives in Lyon", 6, home.key, "Lyon")]


async def test_a_correction_replaces_the_memory_the_model_was_shown() -> None:
    kit = make_kit()
    await kit.memories.remember(ADA, extract_candidates("I live in Paris"))
    (stored,) = await kit.store.list(ADA)
    conversations = InMemoryConversationStore()
    profiles = ProfileService(
        InMemoryProfileStore(),
        UserService(InMemoryProfileStore(), kit.clock, InMemoryCache()),
        kit.clock,
    )
    model = ReadingModel()
    worker = MemoryWorker(
        conversations, kit.memories, profiles, model, kit.clock, rag=kit.rag, known_memories=3
    )
    kit.clock.advance(timedelta(days=1))
    turn = ConversationTurn(
        id=uuid.uuid4(),
        user_id=ADA,
        session_id=uuid.uuid4(),
        role=Role.USER,
        text="Actually it's Lyon where I live, not Paris",
        created_at=kit.clock.now(),
    )
    await conversations.append_turn(turn)
    await worker.process(turn)

    assert [m.id for m in model.seen[0]] == [stored.id]
    (current,) = [m for m in await kit.store.list(ADA) if not is_observation(m)]
    assert current.id == stored.id and current.value == "Lyon"
    assert [h.value for h in current.history] == ["Paris"]
    # Showing the model what is stored does not count as the user recalling it.
    assert current.access_count == 0


async def test_without_known_memories_the_model_is_called_as_before() -> None:
    kit = make_kit()
    conversations = InMemoryConversationStore()
    profiles = ProfileService(
        InMemoryProfileStore(),
        UserService(InMemoryProfileStore(), kit.clock, InMemoryCache()),
        kit.clock,
    )
    model = ReadingModel()
    worker = MemoryWorker(conversations, kit.memories, profiles, model, kit.clock)
    turn = ConversationTurn(
        id=uuid.uuid4(),
        user_id=ADA,
        session_id=uuid.uuid4(),
        role=Role.USER,
        text="I have a dog called Biscuit",
        created_at=kit.clock.now(),
    )
    await conversations.append_turn(turn)
    await worker.process(turn)
    assert model.seen == [[]]
    assert [m.value for m in await kit.store.list(ADA) if not is_observation(m)] == ["Biscuit"]


async def test_a_turn_worked_twice_is_kept_once_and_its_memory_names_it() -> None:
    # A recovery after a crash works a turn again: the kept turn is not doubled, and the
    # memory it taught lists it as its source.
    kit = make_kit()
    conversations = InMemoryConversationStore()
    profiles = ProfileService(
        InMemoryProfileStore(),
        UserService(InMemoryProfileStore(), kit.clock, InMemoryCache()),
        kit.clock,
    )
    worker = MemoryWorker(conversations, kit.memories, profiles, OfflineChatModel(), kit.clock)
    said = ConversationTurn(
        uuid.uuid4(), ADA, uuid.uuid4(), Role.USER, "I have a dog called Biscuit", kit.clock.now()
    )
    await conversations.append_turn(said)
    await worker.process(said)
    await worker.process(said)  # worked again, as a recovery would
    stored = await kit.store.list(ADA)
    kept = [m for m in stored if is_observation(m)]
    (dog,) = [m for m in stored if not is_observation(m)]
    assert [m.text for m in kept] == ["I have a dog called Biscuit"]
    assert dog.metadata["source_turns"] == str(said.id)
    assert kept[0].metadata["turn"] == str(said.id)
