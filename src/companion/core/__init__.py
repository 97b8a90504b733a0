"""Use-case services. They receive ports through ``__init__`` and never import adapters."""

from __future__ import annotations

from companion.core.chat_service import ChatService
from companion.core.conversation_service import ConversationService, Session
from companion.core.memory_service import Change, ImportReport, MemoryService, SaveResult
from companion.core.memory_worker import MemoryWorker
from companion.core.onboarding_service import OnboardingData, OnboardingService
from companion.core.profile_service import ProfileService
from companion.core.rag_service import RAGService
from companion.core.stats_service import StatsService, StatsSource
from companion.core.user_service import UserService

__all__ = [
    "Change",
    "ChatService",
    "ConversationService",
    "ImportReport",
    "MemoryService",
    "MemoryWorker",
    "OnboardingData",
    "OnboardingService",
    "ProfileService",
    "RAGService",
    "SaveResult",
    "Session",
    "StatsService",
    "StatsSource",
    "UserService",
]
