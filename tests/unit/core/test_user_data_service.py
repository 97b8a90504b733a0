"""UserDataService: erasure takes the lease, clears the spool and the cache, and a failure
part way leaves the lease free and a second run finishing the job."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from tests.conftest import T0, make_memory

from companion.adapters.memory import (
    InMemoryCache,
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.adapters.resilience.turn_spool import SqliteTurnSpool
from companion.core import UserDataService
from companion.core.cache_aside import greeting_key, profile_key
from companion.domain.errors import StoreUnavailable
from companion.domain.models import ConversationTurn, Role, UserProfile

ADA, BO = uuid.uuid4(), uuid.uuid4()
OWNER = "host:erase:1"


def said(user: uuid.UUID, text: str, minute: int = 0) -> ConversationTurn:
    return ConversationTurn(
        id=uuid.uuid4(),
        user_id=user,
        session_id=uuid.uuid4(),
        role=Role.USER,
        text=text,
        created_at=T0 + timedelta(minutes=minute),
    )


class BrokenOnce(InMemoryProfileStore):
    """A profile store whose first delete finds the database gone."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def delete(self, user_id: uuid.UUID) -> bool:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("the database is unreachable")
        return await super().delete(user_id)


@pytest.fixture
def parts(tmp_path: Path) -> dict[str, object]:
    return {
        "memories": InMemoryMemoryStore(),
        "conversations": InMemoryConversationStore(),
        "profiles": BrokenOnce(),
        "cache": InMemoryCache(),
        "spool": SqliteTurnSpool(tmp_path / "spool.db"),
    }


def service(parts: dict[str, object]) -> UserDataService:
    return UserDataService(
        memories=parts["memories"],  # type: ignore[arg-type]
        conversations=parts["conversations"],  # type: ignore[arg-type]
        profiles=parts["profiles"],  # type: ignore[arg-type]
        cache=parts["cache"],  # type: ignore[arg-type]
        clock=ManualClock(T0),
        owner=OWNER,
        spool=parts["spool"],  # type: ignore[arg-type]
    )


async def test_a_failure_part_way_frees_the_lease_and_a_second_run_finishes(
    parts: dict[str, object],
) -> None:
    memories: InMemoryMemoryStore = parts["memories"]  # type: ignore[assignment]
    journal: InMemoryConversationStore = parts["conversations"]  # type: ignore[assignment]
    profiles: BrokenOnce = parts["profiles"]  # type: ignore[assignment]
    cache: InMemoryCache = parts["cache"]  # type: ignore[assignment]
    spool: SqliteTurnSpool = parts["spool"]  # type: ignore[assignment]
    await memories.add(make_memory(ADA, "Lives in Lahore"), None)
    await memories.add(make_memory(BO, "Lives in Oslo"), None)
    for who in (ADA, BO):
        await journal.append_turn(said(who, "hello"))
        profiles._profiles[who] = UserProfile(user_id=who, created_at=T0, updated_at=T0)
        await cache.set(profile_key(who), b"cached")
        await cache.set(greeting_key(who), b"cached")
    waiting = [said(ADA, "said while the store was down", 1), said(BO, "mine", 2)]
    for turn in waiting:
        await spool.keep(turn)

    with pytest.raises(StoreUnavailable):
        await service(parts).erase(ADA)
    assert await journal.claim_holder(ADA) is None  # the lease was given up
    erased = await service(parts).erase(ADA)  # the store is back: it finishes

    assert (erased.memories, erased.profile, erased.conversation_rows) == (0, True, 1)
    assert erased.cache_entries == 2
    assert await memories.list(ADA) == []
    assert await journal.recent_turns(ADA, 10) == []
    assert await profiles.get(ADA) is None
    assert await cache.get(profile_key(ADA)) is None
    assert [t.text for t in await spool.oldest(10)] == ["mine"]  # Bo's turn still waits
    assert [m.text for m in await memories.list(BO)] == ["Lives in Oslo"]
    assert await profiles.get(BO) is not None
    assert await cache.get(greeting_key(BO)) == b"cached"


async def test_export_holds_everything_in_the_order_it_happened(
    parts: dict[str, object],
) -> None:
    memories: InMemoryMemoryStore = parts["memories"]  # type: ignore[assignment]
    journal: InMemoryConversationStore = parts["conversations"]  # type: ignore[assignment]
    for i in range(3):
        await memories.add(make_memory(ADA, f"Fact {i}", minutes=i), None)
        await journal.append_turn(said(ADA, f"turn {i}", i))
    await journal.append_turn(said(BO, "Bo's turn", 9))
    exported = await service(parts).export(ADA)
    assert [m.text for m in exported.memories] == ["Fact 0", "Fact 1", "Fact 2"]
    assert [t.text for t in exported.turns] == ["turn 0", "turn 1", "turn 2"]
    assert exported.profile is None
    assert exported.exported_at == T0
