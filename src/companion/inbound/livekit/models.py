"""The agent's LiveKit models, built from the ports the composition root chose.

The container picks the chat model, the speech synthesizer and the settings; this module
wraps them as LiveKit's LLM, TTS and STT. It lives with the agent, not in the container,
so the composition root never imports LiveKit: only the voice commands pay its import.
"""

from __future__ import annotations

from typing import Any

from livekit.agents import stt, tts
from livekit.agents.llm import LLM, FallbackAdapter
from pydantic import SecretStr

from companion.inbound.livekit.livekit_llm import ChatModelLLM
from companion.inbound.livekit.livekit_tts import SpeechSynthesizerTTS
from companion.main.container import Container

# How long the OpenAI LLM may take over one attempt before the offline model answers.
OPENAI_ATTEMPT_SECONDS = 15.0


def _key(openai: dict[str, Any]) -> str | None:
    key = openai.get("api_key")
    return key.get_secret_value() if isinstance(key, SecretStr) else key


def voice_llm(container: Container) -> LLM[Any]:
    """The agent's LLM: the ChatModel, or with an OpenAI endpoint one that calls tools.

    With an endpoint, LiveKit's OpenAI LLM (which calls the agent's function tools) runs
    first and LiveKit's FallbackAdapter hands a turn to the offline model when it fails,
    as FallbackChatModel does for the rest of the companion.
    """
    gateways = container.gateways
    if container.config.choices.chat() != "openai":
        return ChatModelLLM(gateways.chat_model())
    # Imported here: livekit-plugins-openai registers itself on import, which LiveKit
    # allows only on the main thread (`chat` imports this module on a thread), and only
    # a configured endpoint needs it.
    from companion.inbound.livekit.livekit_openai import openai_llm

    openai: dict[str, Any] = container.config.openai()
    primary = openai_llm(
        model=openai["model"], api_key=_key(openai), base_url=openai.get("base_url")
    )
    return FallbackAdapter(
        [primary, ChatModelLLM(gateways.offline_chat_model())],
        attempt_timeout=OPENAI_ATTEMPT_SECONDS,
    )


def voice_tts(container: Container) -> tts.TTS[Any] | None:
    """The speech synthesizer as a LiveKit TTS (None: the agent answers in text only)."""
    speech = container.gateways.speech()
    return None if speech is None else SpeechSynthesizerTTS(speech)


def voice_stt(container: Container) -> stt.STT[Any] | None:
    """Speech recognition for a room: OpenAI's with an endpoint, else none (text only)."""
    if container.config.choices.chat() != "openai":
        return None
    from companion.inbound.livekit.livekit_openai import openai_stt

    openai: dict[str, Any] = container.config.openai()
    return openai_stt(
        model=openai["stt_model"], api_key=_key(openai), base_url=openai.get("base_url")
    )
