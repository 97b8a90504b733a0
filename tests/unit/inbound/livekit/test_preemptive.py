"""Only the user's final words are journalled and remembered.

LiveKit's preemptive generation (on by default with speech recognition) runs the agent's
LLM on a transcript that is not final yet; LiveKit then adopts that reply if the final
words are the same, or discards it. These tests drive the agent's hooks the way LiveKit's
AgentActivity calls them: ``llm_node`` on the early transcript (a message of its own,
with a transcript confidence), then ``on_user_turn_completed`` with the final one.
"""

from __future__ import annotations

from livekit.agents import ModelSettings, llm
from tests.unit.inbound.livekit.conftest import OpenSession
from tests.unit.inbound.livekit.scripted import ScriptedLLM, say
from tests.unit.inbound.livekit.world import ADA, World

from companion.domain.models import Role
from companion.inbound.livekit.agent import CompanionAgent


def heard(text: str) -> llm.ChatMessage:
    """A user message as speech recognition makes it (it has a transcript confidence)."""
    return llm.ChatMessage(role="user", content=[text], transcript_confidence=0.8)


def context(message: llm.ChatMessage) -> llm.ChatContext:
    ctx = llm.ChatContext()
    ctx.items.append(message)
    return ctx


async def generate(agent: CompanionAgent, message: llm.ChatMessage) -> list[object]:
    """One LLM call of the agent, run to its end."""
    return [chunk async for chunk in agent.llm_node(context(message), [], ModelSettings())]


async def journal(world: World) -> list[tuple[Role, str]]:
    turns = await world.conversation_store.recent_turns(ADA, 50)
    return [(t.role, t.text) for t in sorted(turns, key=lambda t: t.created_at)]


async def test_a_discarded_preemptive_generation_leaves_no_journal_entry_and_no_memory_work(
    world: World, open_session: OpenSession
) -> None:
    model = ScriptedLLM(say("Noted."), say("Okay, forgetting it."), say("You live in Paris."))
    voice, _ = await open_session(model)
    await voice.send("I live in Paris.")
    await world.worker.drain()
    agent = voice.agent
    # LiveKit starts a reply to what it has heard so far, then the user goes on.
    await generate(agent, heard("Forget that I live in Paris"))
    final = heard("Forget that I live in Paris? No, where do I live?")
    await agent.on_user_turn_completed(context(final), final)
    await generate(agent, final)  # the discarded reply is replaced by one to the final words
    await world.worker.drain()
    assert [text for role, text in await journal(world) if role is Role.USER] == [
        "I live in Paris.",
        "Forget that I live in Paris? No, where do I live?",
    ]
    assert [m.value for m in await world.memories.list(ADA)] == ["Paris"]  # not forgotten


async def test_an_adopted_reply_that_ended_early_is_journalled_after_the_final_words(
    world: World, open_session: OpenSession
) -> None:
    voice, _ = await open_session(ScriptedLLM(say("Miso is a lovely name.")))
    agent = voice.agent
    await generate(agent, heard("I have a cat called Miso"))  # done before the final words
    assert await journal(world) == []  # nothing final has been said yet
    final = heard("I have a cat called Miso.")
    await agent.on_user_turn_completed(context(final), final)
    await world.worker.drain()
    assert await journal(world) == [
        (Role.USER, "I have a cat called Miso."),
        (Role.ASSISTANT, "Miso is a lovely name."),
    ]
    assert [m.key for m in await world.memories.list(ADA)] == ["pet.cat.miso"]


async def test_an_adopted_reply_still_running_at_the_final_words_is_journalled_once(
    world: World, open_session: OpenSession
) -> None:
    voice, _ = await open_session(ScriptedLLM(say("Miso is a lovely name.")))
    agent = voice.agent
    stream = agent.llm_node(context(heard("I have a cat called Miso")), [], ModelSettings())
    first = await anext(stream)  # the reply has started
    final = heard("I have a cat called Miso.")
    await agent.on_user_turn_completed(context(final), final)
    rest = [chunk async for chunk in stream]
    await world.worker.drain()
    assert first is not None and rest == []
    assert await journal(world) == [
        (Role.USER, "I have a cat called Miso."),
        (Role.ASSISTANT, "Miso is a lovely name."),
    ]
    assert [m.key for m in await world.memories.list(ADA)] == ["pet.cat.miso"]
