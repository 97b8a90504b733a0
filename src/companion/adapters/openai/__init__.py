"""Adapters over any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM …): chat, embeddings."""

from __future__ import annotations

from companion.adapters.openai.openai_chat_model import OpenAIChatModel
from companion.adapters.openai.openai_embedder import OpenAIEmbedder

__all__ = ["OpenAIChatModel", "OpenAIEmbedder"]
