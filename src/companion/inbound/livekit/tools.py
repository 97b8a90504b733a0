"""The agent's function tools: memories, the profile, and the monitoring numbers.

Every tool acts for the session's user only. A tool may be given a ``user_id`` (models
copy ids around); the write guard accepts it only when it is the session's own user, so
no tool call can read or write another user's data. Arguments are validated by the same
validators as every other boundary, and any refusal or bad argument comes back to the
model as a tool error it can explain; the session carries on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import structlog
from livekit.agents import RunContext, ToolError, function_tool

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.stats_service import StatsService
from companion.core.turn_service import TurnService
from companion.domain.changes import Change
from companion.domain.errors import (
    AccessDenied,
    CompanionError,
    InvalidInput,
    NotFound,
    StoreError,
)
from companion.domain.models import Memory, MemorySource, UserProfile
from companion.domain.session import Session
from companion.domain.validation import (
    MAX_QUERY,
    SessionScope,
    parse_category,
    parse_uuid,
    validate_text,
)

log = structlog.get_logger(__name__)

MAX_SEARCH_RESULTS = 20


def _memory_record(memory: Memory) -> dict[str, object]:
    return {
        "id": str(memory.id),
        "category": memory.category.value,
        "text": memory.text,
        "importance": memory.importance,
        "updated_at": memory.updated_at.isoformat(),
    }


def _profile_record(profile: UserProfile) -> dict[str, object]:
    return {
        "user_id": str(profile.user_id),
        "name": profile.name,
        "display_name": profile.display_name,
        "language": profile.language,
        "interests": list(profile.interests),
        "goals": list(profile.goals),
        "preferences": dict(profile.preferences),
        "notes": profile.notes,
    }


def _json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


async def _guarded(tool: str, action: Callable[[], Awaitable[str]]) -> str:
    """Run a tool's body; what it refuses becomes a ToolError the model can read."""
    try:
        return await action()
    except AccessDenied as exc:
        log.warning("tool_refused", tool=tool)
        raise ToolError(f"refused: {exc}") from None
    except (InvalidInput, NotFound) as exc:
        raise ToolError(str(exc)) from None
    except StoreError:
        log.exception("tool_store_failed", tool=tool)
        raise ToolError("the memory store is not available right now; try again") from None
    except CompanionError as exc:
        log.exception("tool_failed", tool=tool)
        raise ToolError(f"{tool} failed: {type(exc).__name__}") from None


class CompanionTools:
    """The tools, as methods of the agent (LiveKit finds them on the agent's class)."""

    _scope: SessionScope
    _conversation: Session
    _turns: TurnService
    _memories: MemoryService
    _profiles: ProfileService
    _stats: StatsService

    def _user(self, user_id: str | None) -> UUID:
        """The session's user; a ``user_id`` naming anyone else is refused."""
        if user_id is None or not user_id.strip():
            return self._scope.user_id
        return self._scope.require(parse_uuid(user_id, what="user_id"))

    async def _user_settled(self, user_id: str | None) -> UUID:
        """The session's user, once what they said so far is in their memories.

        A tool reads what this very turn said ("I have a cat called Miso; what pets do I
        have?"), and never writes alongside the worker working on the same user.
        """
        user = self._user(user_id)
        await self._turns.settled(self._conversation)
        return user

    def _profile_is(self, profile: UserProfile) -> UserProfile:
        """A profile a tool just wrote is the session's from now on (the next turn's)."""
        self._conversation.profile = profile
        return profile

    @function_tool
    async def save_memory(
        self,
        context: RunContext[Any],
        text: str,
        category: str = "fact",
        importance: int = 5,
        user_id: str | None = None,
    ) -> str:
        """Save something the user asked you to remember about them.

        Args:
            text: A self-contained statement about the user, e.g. "Has a dog called Biscuit".
            category: One of fact, personal, preference, event, relationship, goal, skill,
                emotion, observation.
            importance: How much it matters, from 1 to 10.
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            user = await self._user_settled(user_id)
            result = await self._memories.save(
                user,
                text=text,
                category=parse_category(category),
                importance=importance,
                source=MemorySource.TOOL,
            )
            if result.change in (Change.ADDED, Change.UPDATED):
                self._profile_is(await self._profiles.apply_memories(user, [result.memory]))
            return _json({"saved": result.change.value, "memory": _memory_record(result.memory)})

        return await _guarded("save_memory", run)

    @function_tool
    async def search_memories(
        self,
        context: RunContext[Any],
        query: str,
        limit: int = 5,
        user_id: str | None = None,
    ) -> str:
        """Find what you remember about the user that is relevant to a query.

        Args:
            query: What to look for, in a few words.
            limit: How many memories to return, from 1 to 20.
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            user = await self._user_settled(user_id)
            if isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH_RESULTS:
                raise InvalidInput(f"limit must be from 1 to {MAX_SEARCH_RESULTS}")
            found = await self._memories.search(
                user, validate_text(query, what="query", max_length=MAX_QUERY), limit=limit
            )
            return _json([{**_memory_record(s.memory), "score": round(s.score, 3)} for s in found])

        return await _guarded("search_memories", run)

    @function_tool
    async def forget_memory(
        self, context: RunContext[Any], memory_id: str, user_id: str | None = None
    ) -> str:
        """Delete one memory the user asked you to forget (find its id with search_memories).

        Args:
            memory_id: The memory's id (a UUID).
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            user = await self._user_settled(user_id)
            forgotten = await self._memories.forget(user, parse_uuid(memory_id, what="memory_id"))
            self._profile_is(await self._profiles.forget_memories(user, [forgotten]))
            return _json({"forgotten": _memory_record(forgotten)})

        return await _guarded("forget_memory", run)

    @function_tool
    async def get_profile(self, context: RunContext[Any], user_id: str | None = None) -> str:
        """Read the user's profile: name, language, interests, goals, preferences, notes.

        Args:
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            user = await self._user_settled(user_id)
            return _json(_profile_record(await self._profiles.get(user)))

        return await _guarded("get_profile", run)

    @function_tool
    async def update_profile(
        self,
        context: RunContext[Any],
        name: str | None = None,
        display_name: str | None = None,
        language: str | None = None,
        notes: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Change the user's profile when they tell you to (only the fields given change).

        Args:
            name: The user's name.
            display_name: What the user likes to be called.
            language: The language the user prefers, e.g. "en" or "ur".
            notes: Free notes about the user.
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            user = await self._user_settled(user_id)
            given = {"name": name, "display_name": display_name, "language": language}
            fields = {k: v for k, v in {**given, "notes": notes}.items() if v is not None}
            if not fields:
                raise InvalidInput("give at least one of name, display_name, language, notes")
            updated = self._profile_is(await self._profiles.update(user, fields))
            return _json(_profile_record(updated))

        return await _guarded("update_profile", run)

    @function_tool
    async def get_connection_pool_stats(self, context: RunContext[Any]) -> str:
        """Connection pool figures of the storage backends (for monitoring questions)."""
        return await _guarded("get_connection_pool_stats", self._stats_json("pool"))

    @function_tool
    async def get_redis_cache_stats(self, context: RunContext[Any]) -> str:
        """Cache figures: hits, misses, hit rate, and the Redis breaker when configured."""
        return await _guarded("get_redis_cache_stats", self._stats_json("cache"))

    @function_tool
    async def get_database_batching_stats(self, context: RunContext[Any]) -> str:
        """Database batching figures: queries requested versus issued."""
        return await _guarded("get_database_batching_stats", self._stats_json("batching"))

    @function_tool
    async def get_memory_stats(self, context: RunContext[Any], user_id: str | None = None) -> str:
        """How many memories the user has, by category and embedding model.

        Args:
            user_id: Leave empty; only the current user's id is accepted.
        """

        async def run() -> str:
            return _json(await self._stats.memory(await self._user_settled(user_id)))

        return await _guarded("get_memory_stats", run)

    def _stats_json(self, section: str) -> Callable[[], Awaitable[str]]:
        readers = {
            "pool": self._stats.connection_pool,
            "cache": self._stats.cache,
            "batching": self._stats.database_batching,
        }

        async def run() -> str:
            return _json(await readers[section]())

        return run
