"""Use-case services. They receive ports through ``__init__`` and never import adapters."""

from __future__ import annotations

from companion.app.services.chat_service import ChatService
from companion.app.services.conversation_service import ConversationService, Session
from companion.app.services.memory_service import Change, ImportReport, MemoryService, SaveResult
from companion.app.services.memory_worker import MemoryWorker
from companion.app.services.onboarding_service import OnboardingData, OnboardingService
from companion.app.services.profile_service import ProfileService
from companion.app.services.rag_service import RAGService
from companion.app.services.stats_service import StatsService, StatsSource
from companion.app.services.user_service import UserService

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
