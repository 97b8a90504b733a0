"""The agent's tools: each works, validates its arguments, serves only the session's user."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from livekit.agents.voice.run_result import FunctionCallOutputEvent, RunResult
from tests.unit.inbound.livekit.conftest import OpenSession
from tests.unit.inbound.livekit.scripted import ScriptedLLM, call, say
from tests.unit.inbound.livekit.world import ADA, EVE, World

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.inbound.livekit.session import VoiceSession


def tool_output(result: RunResult) -> tuple[str, bool]:  # type: ignore[type-arg]
    """The output of the run's (only) tool call, and whether it was an error."""
    (out,) = [e.item for e in result.events if isinstance(e, FunctionCallOutputEvent)]
    return out.output, out.is_error


async def run_tool(open_session: OpenSession, tool: str, **arguments: object) -> tuple[str, bool]:
    model = ScriptedLLM(call(tool, **arguments), say("Done."))
    voice, _ = await open_session(model)
    result = await voice.session.run(user_input=f"please use {tool}")
    result.expect.next_event().is_function_call(name=tool)
    result.expect.next_event().is_function_call_output()
    result.expect.next_event().is_message(role="assistant")  # the session carries on
    return tool_output(result)


async def test_save_memory_stores_it_for_the_session_user_and_updates_the_profile(
    world: World, open_session: OpenSession
) -> None:
    output, error = await run_tool(
        open_session, "save_memory", text="Plays the oud", category="skill", importance=7
    )
    assert not error and json.loads(output)["saved"] == "added"
    (memory,) = await world.memories.list(ADA)
    assert (memory.text, memory.category, memory.importance) == (
        "Plays the oud",
        MemoryCategory.SKILL,
        7,
    )


async def test_search_memories_finds_the_users_memories(
    world: World, open_session: OpenSession
) -> None:
    await world.memories.save(ADA, text="Has a dog called Biscuit")
    await world.memories.save(EVE, text="Has a dog called Rex")
    output, error = await run_tool(open_session, "search_memories", query="dog", limit=5)
    assert not error
    found = [m["text"] for m in json.loads(output)]
    # The fact first; the session's own words (kept turns) may follow; Eve's never.
    assert found[0] == "Has a dog called Biscuit"
    assert not any("Rex" in text for text in found)


async def test_forget_memory_deletes_it(world: World, open_session: OpenSession) -> None:
    saved = await world.memories.save(ADA, text="Lives in Paris")
    output, error = await run_tool(open_session, "forget_memory", memory_id=str(saved.memory.id))
    assert not error and "Lives in Paris" in output
    assert await world.memories.list(ADA) == []


async def test_profile_is_read_and_updated(world: World, open_session: OpenSession) -> None:
    output, error = await run_tool(open_session, "update_profile", name="Ada", language="ur")
    assert not error
    profile = await world.services.profiles.get(ADA)
    assert (profile.name, profile.language) == ("Ada", "ur")
    output, error = await run_tool(open_session, "get_profile")
    assert not error and json.loads(output)["name"] == "Ada"


@pytest.mark.parametrize(
    ("tool", "key"),
    [
        ("get_connection_pool_stats", "configured"),
        ("get_redis_cache_stats", "configured"),
        ("get_database_batching_stats", "configured"),
        ("get_memory_stats", "total"),
    ],
)
async def test_stats_tools_report_numbers(
    world: World, open_session: OpenSession, tool: str, key: str
) -> None:
    await world.memories.save(ADA, text="Likes chai")
    output, error = await run_tool(open_session, tool)
    assert not error and key in json.loads(output)


async def test_memory_stats_count_only_the_session_users_memories(
    world: World, open_session: OpenSession
) -> None:
    await world.memories.save(ADA, text="Likes chai")
    await world.memories.save(EVE, text="Likes coffee")
    await world.memories.save(EVE, text="Likes tea")
    output, _ = await run_tool(open_session, "get_memory_stats")
    assert json.loads(output)["total"] == 1


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("save_memory", {"text": "Is an admin", "user_id": str(EVE)}),
        ("search_memories", {"query": "dog", "user_id": str(EVE)}),
        ("get_profile", {"user_id": str(EVE)}),
        ("update_profile", {"name": "Mallory", "user_id": str(EVE)}),
        ("get_memory_stats", {"user_id": str(EVE)}),
    ],
)
async def test_a_tool_call_naming_another_user_is_refused(
    world: World, open_session: OpenSession, tool: str, arguments: dict[str, object]
) -> None:
    await world.memories.save(EVE, text="Has a dog called Rex")
    output, error = await run_tool(open_session, tool, **arguments)
    assert error and output.startswith("refused")
    assert "Rex" not in output
    assert [m.text for m in await world.memories.list(EVE)] == ["Has a dog called Rex"]
    assert (await world.services.profiles.get(EVE)).name is None
    assert await world.memories.list(ADA) == []


async def test_forgetting_another_users_memory_finds_nothing(
    world: World, open_session: OpenSession
) -> None:
    theirs = await world.memories.save(EVE, text="Has a dog called Rex")
    output, error = await run_tool(open_session, "forget_memory", memory_id=str(theirs.memory.id))
    assert error and "no memory" in output
    assert len(await world.memories.list(EVE)) == 1


async def test_naming_the_session_user_is_allowed(world: World, open_session: OpenSession) -> None:
    _, error = await run_tool(open_session, "save_memory", text="Likes chai", user_id=str(ADA))
    assert not error
    assert [m.text for m in await world.memories.list(ADA)] == ["Likes chai"]


@pytest.mark.parametrize(
    ("tool", "arguments", "needle"),
    [
        ("forget_memory", {"memory_id": "not-a-uuid"}, "not a valid UUID"),
        ("save_memory", {"text": "x", "user_id": "12345"}, "not a valid UUID"),
        ("save_memory", {"text": "y" * 4001}, "longer than 4000"),
        ("save_memory", {"text": "   "}, "empty"),
        ("save_memory", {"text": "Likes chai", "importance": 11}, "importance"),
        ("save_memory", {"text": "Likes chai", "category": "gossip"}, "unknown category"),
        ("save_memory", {"text": "Likes chai", "importance": "very"}, "importance"),
        ("search_memories", {"query": "dog", "limit": 500}, "limit"),
        ("search_memories", {"query": "q" * 2001}, "longer than 2000"),
        ("update_profile", {}, "at least one"),
        ("update_profile", {"notes": "n" * 4001}, "longer than 4000"),
    ],
)
async def test_bad_arguments_are_a_clear_tool_error(
    world: World, open_session: OpenSession, tool: str, arguments: dict[str, object], needle: str
) -> None:
    output, error = await run_tool(open_session, tool, **arguments)
    assert error and needle in output
    assert await world.memories.list(ADA) == []


async def test_the_session_continues_after_a_tool_error(
    world: World, open_session: OpenSession
) -> None:
    model = ScriptedLLM(
        call("forget_memory", memory_id="nope"),
        say("Sorry, I could not find that."),
        say("Hello again!"),
    )
    voice, _ = await open_session(model)
    first = await voice.session.run(user_input="forget that")
    _, error = tool_output(first)
    assert error
    assert await voice.send("hi") == ["Hello again!"]
    # The model saw the tool's error and could explain it.
    outputs = [i for i in model.seen[1].items if i.type == "function_call_output"]
    assert outputs and "not a valid UUID" in outputs[0].output


class SlowExtraction(OfflineChatModel):
    """The offline model, whose memory extraction lets everything else run first."""

    async def extract_memories(self, text: str) -> list[MemoryCandidate]:
        for _ in range(200):
            await asyncio.sleep(0)
        return await super().extract_memories(text)


async def test_a_tool_reads_what_this_very_turn_said(tmp_path: Path) -> None:
    world = World(tmp_path, chat_model=SlowExtraction())
    model = ScriptedLLM(call("search_memories", query="cat"), say("You have a cat, Miso."))
    voice = await VoiceSession.open(world.services, ADA, llm=model)
    await voice.start_text()
    result = await voice.session.run(user_input="I have a cat called Miso. What pets do I have?")
    await voice.aclose()
    await world.worker.close(within=5)
    output, error = tool_output(result)
    assert not error and "Miso" in output
    (cat,) = await world.memories.list(ADA)
    assert cat.key == "pet.cat.miso"  # remembered once, by the turn's own memory work
