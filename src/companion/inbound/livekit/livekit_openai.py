"""An OpenAI-compatible LLM for the voice agent, with function tools.

The ChatModel port has no tool calling, so the agent's tools need a LiveKit LLM that has:
livekit-plugins-openai's, over one ``openai`` client with the same deliberate timeouts as
the ChatModel adapter ``OpenAIChatModel`` (3 s to connect, 10 s per read).
"""

from __future__ import annotations

from typing import Any

import openai
from livekit.agents import llm, stt
from livekit.plugins import openai as lk_openai

__all__ = ["openai_llm", "openai_stt"]

_NO_KEY = "not-needed"


def _client(api_key: str | None, base_url: str | None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=api_key or _NO_KEY,
        base_url=base_url,
        timeout=openai.Timeout(10, connect=3),
        # The fallback (see the container) takes over at once rather than after retries.
        max_retries=0,
    )


def openai_llm(*, model: str, api_key: str | None, base_url: str | None) -> llm.LLM[Any]:
    """LiveKit's OpenAI LLM for ``model`` at ``base_url`` (OpenAI when None)."""
    built: llm.LLM[Any] = lk_openai.LLM(model=model, client=_client(api_key, base_url))
    return built


def openai_stt(*, model: str, api_key: str | None, base_url: str | None) -> stt.STT[Any]:
    """LiveKit's OpenAI speech recognition (``/audio/transcriptions``) at ``base_url``."""
    # Users speak Urdu as often as English: let the model tell which.
    built: stt.STT[Any] = lk_openai.STT(
        model=model, detect_language=True, client=_client(api_key, base_url)
    )
    return built
