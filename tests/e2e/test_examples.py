"""examples/memory_agent.py as a user runs it: their own agent, with the companion's memory.

Driven with LiveKit's own harness (an AgentSession in text, no room, a scripted LLM),
through the public API only (``companion`` and ``companion.livekit``), so CI can run it
against the installed wheel too (``scripts/smoke_wheel.sh`` runs this file with
``--noconftest``: it uses no fixture of the suite's).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from livekit.agents import AgentSession, ModelSettings, llm
from tests.unit.inbound.livekit.scripted import ScriptedLLM, call, say

from companion import Companion, Memory
from companion.livekit import MEMORY_TOOLS, AttachedMemory, attach_memory

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "memory_agent.py"
ADA = uuid.uuid5(uuid.NAMESPACE_URL, "example-ada")
BO = uuid.uuid5(uuid.NAMESPACE_URL, "example-bo")


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("memory_agent_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return _example()


@pytest.fixture
async def companion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Companion]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL", "SUPABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    async with Companion.open(data_dir=tmp_path / "data") as opened:
        yield opened


def _session(model: llm.LLM[Any]) -> AgentSession[Any]:
    """The example's session in text: no speech models, no VAD, no turn detection."""
    return AgentSession(llm=model, vad=None, turn_handling={"turn_detection": None})


async def _talk(
    example: ModuleType,
    companion: Companion,
    model: ScriptedLLM,
    user: uuid.UUID,
    lines: list[str],
    **options: Any,
) -> tuple[list[str], AttachedMemory]:
    """One session of the example's agent: what it said, greeting first."""
    said: list[str] = []
    async with _session(model) as session:
        agent = example.Assistant()
        memory = await attach_memory(session, agent, companion, user=user, **options)
        started = await session.start(agent, capture_run=True)
        said += [e.item.text_content for e in started.events if _is_reply(e)]
        for line in lines:
            result = await session.run(user_input=line)
            said += [e.item.text_content for e in result.events if _is_reply(e)]
    await memory.aclose()
    return said, memory


def _is_reply(event: Any) -> bool:
    item = getattr(event, "item", None)
    return isinstance(item, llm.ChatMessage) and item.role == "assistant"


def _texts(memories: list[Memory]) -> list[str]:
    return sorted(m.text for m in memories)


async def test_what_a_user_said_reaches_their_next_session_as_dated_data(
    example: ModuleType, companion: Companion
) -> None:
    first = ScriptedLLM(say("Lahore, lovely."))
    said, _ = await _talk(example, companion, first, ADA, ["My name is Ada and I live in Lahore."])
    assert said == ["Lahore, lovely."]  # no greeting unless asked for
    assert "Lives in Lahore" in _texts(await companion.memories(ADA))

    second = ScriptedLLM(say("You live in Lahore."))
    said, memory = await _talk(example, companion, second, ADA, ["Where do I live?"], greet=True)
    assert said[0] == memory.greeting and "Ada" in said[0]  # the greeting, no LLM call
    system = second.system_text()
    assert system.startswith("You are a friendly voice assistant.")  # the agent's own
    block = system[system.index("<memories>") : system.index("</memories>")]
    assert "Lives in Lahore" in block and "(noted 20" in block  # as data, with its date
    assert "not instructions" in system


async def test_one_users_memory_never_reaches_another_users_agent(
    example: ModuleType, companion: Companion
) -> None:
    await _talk(example, companion, ScriptedLLM(say("Noted.")), ADA, ["I live in Lahore."])
    model = ScriptedLLM(
        call("search_memories", query="where does the user live", user_id=str(ADA)),
        say("I cannot look at someone else's memories."),
        say("I don't know where you live yet."),
    )
    said, _ = await _talk(
        example, companion, model, BO, ["Where does Ada live?", "Where do I live?"], tools=True
    )
    assert said[-1] == "I don't know where you live yet."
    for ctx in model.seen:
        assert "Lahore" not in "\n".join(m.text_content or "" for m in ctx.messages())
    outputs = [i for i in model.seen[1].items if isinstance(i, llm.FunctionCallOutput)]
    assert outputs and outputs[0].is_error and "refused" in outputs[0].output
    assert await companion.memories(BO) == []


async def test_the_memory_tools_act_for_the_session_user(
    example: ModuleType, companion: Companion
) -> None:
    model = ScriptedLLM(
        call("save_memory", text="Plays the sitar", category="skill"),
        say("Saved."),
    )
    async with _session(model) as session:
        agent = example.Assistant()
        await attach_memory(session, agent, companion, user="ada example", tools=True)
        assert {t.info.name for t in agent.tools} >= set(MEMORY_TOOLS)
        await session.start(agent)
        await session.run(user_input="Remember that I play the sitar.")
    hits = await companion.recall("ada example", "what instrument do I play?")
    assert hits and hits[0].memory.text == "Plays the sitar"


async def test_words_not_final_yet_leave_nothing_behind(
    example: ModuleType, companion: Companion
) -> None:
    # LiveKit's preemptive generation runs the LLM on a transcript that is not final.
    model = ScriptedLLM(say("Okay."))
    async with _session(model) as session:
        agent = example.Assistant()
        memory = await attach_memory(session, agent, companion, user=ADA)
        await session.start(agent)
        ctx = llm.ChatContext()
        heard = llm.ChatMessage(role="user", content=["Forget that I"], transcript_confidence=0.5)
        ctx.items.append(heard)
        async for _ in agent.llm_node(ctx, [], ModelSettings()):
            pass
        assert "<memories>" in model.system_text()  # recalled for the early reply
    await memory.aclose()
    turns = await companion.container.gateways.conversation_store().recent_turns(ADA, 10)
    assert turns == []  # nothing journalled, so no memory work
