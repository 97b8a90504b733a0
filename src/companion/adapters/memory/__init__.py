"""In-memory adapters: real state in process memory, for tests and as runtime fallbacks."""

from __future__ import annotations

from companion.adapters.memory.hashing_embedder import HashingEmbedder
from companion.adapters.memory.in_memory_cache import InMemoryCache
from companion.adapters.memory.in_memory_conversation_store import InMemoryConversationStore
from companion.adapters.memory.in_memory_memory_store import InMemoryMemoryStore
from companion.adapters.memory.in_memory_profile_store import InMemoryProfileStore
from companion.adapters.memory.in_memory_speech_synthesizer import InMemorySpeechSynthesizer
from companion.adapters.memory.manual_clock import ManualClock

__all__ = [
    "HashingEmbedder",
    "InMemoryCache",
    "InMemoryConversationStore",
    "InMemoryMemoryStore",
    "InMemoryProfileStore",
    "InMemorySpeechSynthesizer",
    "ManualClock",
]
