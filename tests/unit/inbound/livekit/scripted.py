"""A scripted LLM for driving the agent without a server or a network.

Each call to ``chat`` takes the next step of the script: some text and/or tool calls.
Every chat context it was given is kept, so tests can read what reached the model.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)


@dataclass
class Step:
    """One LLM response: text, tool calls (name, arguments), or both."""

    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def say(text: str) -> Step:
    return Step(text=text)


def call(tool: str, **arguments: Any) -> Step:
    return Step(calls=[(tool, arguments)])


class ScriptedLLM(llm.LLM):
    """Answers from a script; remembers every context it saw."""

    def __init__(self, *steps: Step, on_call: Callable[[], Awaitable[None]] | None = None) -> None:
        super().__init__()
        self.steps = list(steps)
        self.seen: list[llm.ChatContext] = []
        self._on_call = on_call

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.seen.append(chat_ctx.copy())
        step = self.steps.pop(0) if self.steps else Step(text="(script ended)")
        return _ScriptedStream(
            self,
            step,
            self._on_call,
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
        )

    def system_text(self, index: int = -1) -> str:
        """The system messages of the ``index``-th call, joined."""
        ctx = self.seen[index]
        return "\n".join(
            m.text_content or "" for m in ctx.messages() if m.role in ("system", "developer")
        )


class _ScriptedStream(llm.LLMStream):
    def __init__(
        self,
        owner: ScriptedLLM,
        step: Step,
        on_call: Callable[[], Awaitable[None]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(owner, **kwargs)
        self._step = step
        self._on_call = on_call

    async def _run(self) -> None:
        if self._on_call is not None:
            await self._on_call()
        calls = [
            llm.FunctionToolCall(name=name, arguments=json.dumps(args), call_id=f"call_{i}")
            for i, (name, args) in enumerate(self._step.calls)
        ]
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id="scripted",
                delta=llm.ChoiceDelta(
                    role="assistant", content=self._step.text or None, tool_calls=calls
                ),
            )
        )
