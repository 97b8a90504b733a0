"""ChatModelLLM: the ChatModel port as a LiveKit ``llm.LLM``, streaming.

LiveKit's chat context becomes the port's :class:`ChatRequest`: system, user and assistant
messages in order (tool calls and their outputs are the framework's business and are left
out). The memories retrieved for the turn do not travel as prompt text here: the agent
hands them over with :meth:`ChatModelLLM.chat_with_memories`, and they reach the model as
``ChatRequest.memories``, so every ChatModel renders them as data in its own way (the
OpenAI adapter as a delimited block, the offline model by reading them directly).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from livekit.agents import APIConnectionError, APIError, llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from companion.domain.errors import ChatModelError, ChatModelUnavailable, InvalidInput
from companion.domain.models import ChatMessage, ChatRequest, Memory, Role, UserProfile

# As many messages as a session keeps: the model sees the recent dialogue, and a long
# call does not grow every request without bound.
from companion.domain.session import HISTORY_MESSAGES
from companion.ports.chat_model import ChatModel

__all__ = ["MEMORIES_EXTRA", "ChatModelLLM", "chat_request", "unfold_memories"]

# Where a folded memory block also carries the memories as data (prompt.py writes it),
# for this bridge to the ChatModel port behind another LLM (e.g. the offline model
# behind LiveKit's FallbackAdapter).
MEMORIES_EXTRA = "companion_memories"
_ROLES = {"system": Role.SYSTEM, "developer": Role.SYSTEM, "user": Role.USER}


def chat_request(
    chat_ctx: llm.ChatContext,
    *,
    memories: Sequence[Memory] = (),
    profile: UserProfile | None = None,
    history: int = HISTORY_MESSAGES,
) -> ChatRequest:
    """The port's request for this chat context: instructions, recent dialogue, memories."""
    system: list[ChatMessage] = []
    dialogue: list[ChatMessage] = []
    for message in chat_ctx.messages():
        text = message.text_content
        if not text or not text.strip():
            continue
        role = _ROLES.get(message.role, Role.ASSISTANT)
        (system if role is Role.SYSTEM else dialogue).append(ChatMessage(role, text))
    return ChatRequest(
        messages=(*system, *dialogue[-history:]),
        memories=tuple(memories),
        profile=profile,
    )


def unfold_memories(
    chat_ctx: llm.ChatContext,
) -> tuple[llm.ChatContext, tuple[Memory, ...], UserProfile | None]:
    """The context without a memory block the agent folded into its instructions, and
    the memories and profile that block was made from (none when there is no block)."""
    for index, item in enumerate(chat_ctx.items):
        if not isinstance(item, llm.ChatMessage):
            continue
        folded = item.extra.get(MEMORIES_EXTRA)
        if folded is None:
            continue
        instructions, memories, profile = folded
        ctx = chat_ctx.copy()
        if instructions:
            rest = {k: v for k, v in item.extra.items() if k != MEMORIES_EXTRA}
            ctx.items[index] = item.model_copy(update={"content": [instructions], "extra": rest})
        else:
            del ctx.items[index]
        return ctx, tuple(memories), profile
    return chat_ctx, (), None


class ChatModelLLM(llm.LLM[Any]):
    """LiveKit's LLM interface over any :class:`ChatModel` (OpenAI-compatible or offline)."""

    def __init__(self, chat_model: ChatModel) -> None:
        super().__init__()
        self._chat_model = chat_model

    @property
    def model(self) -> str:
        return self._chat_model.name

    @property
    def provider(self) -> str:
        return "companion"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> ChatModelStream:
        """A reply to the chat context; memories folded into it by the agent (when this
        model runs behind another LLM, e.g. a fallback) are handed over as data."""
        ctx, memories, profile = unfold_memories(chat_ctx)
        return self.chat_with_memories(
            chat_ctx=ctx,
            memories=memories,
            profile=profile,
            tools=tools,
            conn_options=conn_options,
        )

    def chat_with_memories(
        self,
        *,
        chat_ctx: llm.ChatContext,
        memories: Sequence[Memory] = (),
        profile: UserProfile | None = None,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> ChatModelStream:
        """A reply to the chat context, with the memories retrieved for this turn as data."""
        request = chat_request(chat_ctx, memories=memories, profile=profile)
        # The port cannot call tools; they are offered to it by LiveKit and never called.
        return ChatModelStream(
            self,
            request=request,
            chat_ctx=chat_ctx,
            tools=tools or [],
            # The ChatModel retries (and falls back) itself; a second layer of retries
            # here would only repeat a reply that is already streaming.
            conn_options=APIConnectOptions(
                max_retry=0, retry_interval=0, timeout=conn_options.timeout
            ),
        )


class ChatModelStream(llm.LLMStream):
    """One streamed reply of the chat model, as LiveKit chat chunks."""

    def __init__(
        self,
        owner: ChatModelLLM,
        *,
        request: ChatRequest,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(owner, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._request = request
        self._chat_model = owner._chat_model

    async def _run(self) -> None:
        request_id = f"companion-{uuid.uuid4().hex[:12]}"
        try:
            if not any(m.role is Role.USER for m in self._request.messages):
                # Asked to speak first (e.g. generate_reply without user input): the
                # ChatModel port replies to a user, so there is nothing to answer yet.
                return
            async for piece in self._chat_model.stream_reply(self._request):
                if piece:
                    self._event_ch.send_nowait(
                        llm.ChatChunk(
                            id=request_id,
                            delta=llm.ChoiceDelta(role="assistant", content=piece),
                        )
                    )
        except ChatModelUnavailable as exc:
            raise APIConnectionError(str(exc), retryable=False) from exc
        except (ChatModelError, InvalidInput) as exc:
            raise APIError(str(exc), retryable=False) from exc
