"""companion: a voice AI companion that remembers the people it talks to.

The public API is what this module exports (``__all__``): :class:`Companion` (async)
and :class:`BlockingCompanion` (for scripts and notebooks), what they return (memories,
scores, profiles, what a ``remember`` changed), the settings, and the typed errors.
Those names stay where they are across internal moves; ``companion.livekit`` gives any
LiveKit agent the companion's memory. See docs/library.md.

Importing this package has no side effects: it builds no client, reads no settings and
imports no SDK; each name is imported when first used. The console script is
``companion-agent`` (also ``python -m companion``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from companion.domain.changes import Change, SaveResult
    from companion.domain.errors import (
        AccessDenied,
        CacheError,
        ChatModelError,
        ChatModelUnavailable,
        CompanionError,
        ConfigurationError,
        Conflict,
        EmbeddingError,
        EmbeddingModelMismatch,
        EmbeddingUnavailable,
        InvalidInput,
        InvalidUserId,
        ModelUnavailable,
        NotFound,
        SchemaError,
        StoreError,
        StoreUnavailable,
    )
    from companion.domain.models import (
        ConversationSummary,
        ConversationTurn,
        Memory,
        MemoryCategory,
        MemoryRevision,
        MemorySource,
        ParkedTurn,
        ScoredMemory,
        UserErased,
        UserExport,
        UserProfile,
    )
    from companion.inbound.library.blocking import BlockingCompanion, BlockingConversation
    from companion.inbound.library.companion import (
        Companion,
        Conversation,
        Remembered,
        user_id,
    )
    from companion.main.settings import Settings, load_settings

_WHERE = {
    "Companion": "companion.inbound.library.companion",
    "Conversation": "companion.inbound.library.companion",
    "Remembered": "companion.inbound.library.companion",
    "user_id": "companion.inbound.library.companion",
    "BlockingCompanion": "companion.inbound.library.blocking",
    "BlockingConversation": "companion.inbound.library.blocking",
    "Memory": "companion.domain.models",
    "MemoryCategory": "companion.domain.models",
    "MemoryRevision": "companion.domain.models",
    "MemorySource": "companion.domain.models",
    "ScoredMemory": "companion.domain.models",
    "UserProfile": "companion.domain.models",
    "UserExport": "companion.domain.models",
    "UserErased": "companion.domain.models",
    "ConversationTurn": "companion.domain.models",
    "ConversationSummary": "companion.domain.models",
    "ParkedTurn": "companion.domain.models",
    "Change": "companion.domain.changes",
    "SaveResult": "companion.domain.changes",
    "Settings": "companion.main.settings",
    "load_settings": "companion.main.settings",
    **{
        name: "companion.domain.errors"
        for name in (
            "CompanionError",
            "InvalidInput",
            "InvalidUserId",
            "AccessDenied",
            "NotFound",
            "Conflict",
            "ConfigurationError",
            "StoreError",
            "StoreUnavailable",
            "SchemaError",
            "EmbeddingError",
            "ModelUnavailable",
            "EmbeddingUnavailable",
            "EmbeddingModelMismatch",
            "ChatModelError",
            "ChatModelUnavailable",
            "CacheError",
        )
    },
}

__all__ = [
    "AccessDenied",
    "BlockingCompanion",
    "BlockingConversation",
    "CacheError",
    "Change",
    "ChatModelError",
    "ChatModelUnavailable",
    "Companion",
    "CompanionError",
    "ConfigurationError",
    "Conflict",
    "Conversation",
    "ConversationSummary",
    "ConversationTurn",
    "EmbeddingError",
    "EmbeddingModelMismatch",
    "EmbeddingUnavailable",
    "InvalidInput",
    "InvalidUserId",
    "Memory",
    "MemoryCategory",
    "MemoryRevision",
    "MemorySource",
    "ModelUnavailable",
    "NotFound",
    "ParkedTurn",
    "Remembered",
    "SaveResult",
    "SchemaError",
    "ScoredMemory",
    "Settings",
    "StoreError",
    "StoreUnavailable",
    "UserErased",
    "UserExport",
    "UserProfile",
    "__version__",
    "load_settings",
    "user_id",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'companion' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
