"""A memory block folded into the instructions still reaches a ChatModel bridge as data
(the offline model behind LiveKit's FallbackAdapter answers from it)."""

from __future__ import annotations

from livekit.agents import llm
from tests.unit.inbound.livekit.test_livekit_llm import context, dog

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.inbound.livekit import livekit_llm, prompt
from companion.inbound.livekit.livekit_llm import ChatModelLLM, unfold_memories
from companion.inbound.livekit.prompt import memory_block, with_memory_block


def test_the_agent_and_the_bridge_agree_on_where_the_data_is() -> None:
    assert prompt.MEMORIES_EXTRA == livekit_llm.MEMORIES_EXTRA


async def test_the_bridge_unfolds_the_block_and_answers_from_the_memories() -> None:
    memories = [dog()]
    ctx = with_memory_block(
        context(("system", "Be kind."), ("user", "What's my dog called?")),
        memory_block(memories),
        memories,
    )
    system = ctx.items[0]
    assert isinstance(system, llm.ChatMessage)
    assert "Has a dog called Biscuit" in (system.text_content or "")  # for other LLMs

    plain, found, profile = unfold_memories(ctx)
    first = plain.items[0]
    assert isinstance(first, llm.ChatMessage) and first.text_content == "Be kind."
    assert [m.text for m in found] == ["Has a dog called Biscuit"] and profile is None

    reply = await ChatModelLLM(OfflineChatModel()).chat(chat_ctx=ctx).collect()
    assert reply.text == "Your dog is called Biscuit."


def test_a_block_without_instructions_is_removed_whole() -> None:
    ctx = with_memory_block(context(("user", "hi")), memory_block([]), [])
    plain, found, _ = unfold_memories(ctx)
    assert found == () and [m.role for m in plain.items if isinstance(m, llm.ChatMessage)] == [
        "user"
    ]
