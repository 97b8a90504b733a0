"""Ports: the interfaces the domain and the services need, one per file.

Each is a :class:`typing.Protocol`; adapters subclass them explicitly so the type checker
checks an adapter where it is defined.
"""

from __future__ import annotations

from companion.ports.cache import Cache
from companion.ports.chat_model import ChatModel
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore
from companion.ports.embedder import Embedder
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore
from companion.ports.speech_synthesizer import SpeechSynthesizer
from companion.ports.stats_source import StatsSource
from companion.ports.turn_spool import TurnSpool

__all__ = [
    "Cache",
    "ChatModel",
    "Clock",
    "ConversationStore",
    "Embedder",
    "MemoryStore",
    "ProfileStore",
    "SpeechSynthesizer",
    "StatsSource",
    "TurnSpool",
]
