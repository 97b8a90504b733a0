"""Adapters over any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM …)."""

from __future__ import annotations

from companion.adapters.openai.openai_chat_model import OpenAIChatModel

__all__ = ["OpenAIChatModel"]
