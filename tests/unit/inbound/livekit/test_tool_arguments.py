"""Any argument a model can send to a tool: a clear tool error or the session user's own
data, never another user's, and nothing lost (hypothesis over the arguments)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from livekit.agents.llm import ToolError
from tests.unit.inbound.livekit.world import ADA, EVE, World

from companion.inbound.livekit.agent import CompanionAgent

ids = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.just(str(ADA)),
    st.just(str(EVE)),
    st.uuids().map(str),
    st.just(str(ADA).upper()),
)
texts = st.text(max_size=3000)
categories = st.one_of(st.sampled_from(["fact", "skill", "goal", "emotion"]), st.text(max_size=20))
numbers = st.one_of(st.integers(min_value=-5, max_value=50), st.booleans())

CALLS = st.one_of(
    st.tuples(
        st.just("save_memory"),
        st.fixed_dictionaries(
            {"text": texts, "category": categories, "importance": numbers, "user_id": ids}
        ),
    ),
    st.tuples(
        st.just("search_memories"),
        st.fixed_dictionaries({"query": texts, "limit": numbers, "user_id": ids}),
    ),
    st.tuples(
        st.just("forget_memory"),
        st.fixed_dictionaries({"memory_id": st.one_of(st.text(max_size=40), ids), "user_id": ids}),
    ),
    st.tuples(st.just("get_profile"), st.fixed_dictionaries({"user_id": ids})),
)


async def agent_for(world: World) -> CompanionAgent:
    chat = world.services.chat
    session = await chat.start(ADA)
    return CompanionAgent(
        turns=world.services.turns,
        session=session,
        memories=world.memories,
        profiles=world.services.profiles,
        stats=world.services.stats,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(CALLS, min_size=1, max_size=6))
def test_no_tool_argument_reaches_another_user_or_breaks_the_session(
    calls: list[tuple[str, dict[str, object]]],
) -> None:
    async def scenario() -> None:
        world = World(Path(tempfile.mkdtemp()))
        eves = await world.memories.save(EVE, text="Eve's secret: the vault code is 4321")
        agent = await agent_for(world)
        refusals: list[str] = []
        for name, arguments in calls:
            try:
                await getattr(agent, name)(None, **arguments)
            except ToolError as exc:
                refusals.append(str(exc))
        assert all(reason.strip() for reason in refusals)  # a reason the model can read
        # Eve's memory is untouched, and nothing of it ever reached Ada's tools.
        assert await world.memories.get(EVE, eves.memory.id) == eves.memory
        for memory in await world.memories.list(ADA):
            assert "vault code" not in memory.text
        # The session still works after whatever the model sent.
        found = await agent.search_memories(None, query="anything")
        assert "vault code" not in found
        await world.worker.close(within=5)

    asyncio.run(scenario())


def test_a_user_id_naming_someone_else_is_refused() -> None:
    async def scenario() -> None:
        world = World(Path(tempfile.mkdtemp()))
        agent = await agent_for(world)
        for tool, extra in (("get_profile", {}), ("search_memories", {"query": "code"})):
            with pytest.raises(ToolError, match="refused"):
                await getattr(agent, tool)(None, user_id=str(EVE), **extra)
        assert str(uuid.UUID(str(ADA))) == str(agent.user_id)
        await world.worker.close(within=5)

    asyncio.run(scenario())
