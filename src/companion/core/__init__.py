"""Use cases over ports. They receive ports through ``__init__`` and never import adapters.

A turn is :class:`TurnService` (begin with the user's words, finish with the reply); a
session around it is :class:`ChatService`; the rest own one kind of data each.
"""

from __future__ import annotations

from companion.core.chat_service import ChatService
from companion.core.conversation_service import ConversationService
from companion.core.memory_service import ImportReport, MemoryService
from companion.core.memory_worker import MemoryWorker
from companion.core.onboarding_service import OnboardingData, OnboardingService
from companion.core.profile_service import ProfileService
from companion.core.rag_service import RAGService
from companion.core.stats_service import StatsService
from companion.core.turn_keeper import TurnKeeper
from companion.core.turn_service import TurnService
from companion.core.user_data_service import UserDataService
from companion.core.user_service import UserService

__all__ = [
    "ChatService",
    "ConversationService",
    "ImportReport",
    "MemoryService",
    "MemoryWorker",
    "OnboardingData",
    "OnboardingService",
    "ProfileService",
    "RAGService",
    "StatsService",
    "TurnKeeper",
    "TurnService",
    "UserDataService",
    "UserService",
]
