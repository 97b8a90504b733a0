"""FallbackChatModel: a remote chat model that degrades to the offline model in an outage.

Lives in the app layer, not among the adapters, because it joins two adapters and
adapter packages are independent of each other; both arrive as ChatModel ports.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence

import structlog

from companion.domain.errors import ChatModelError, ChatModelUnavailable
from companion.domain.models import (
    ChatRequest,
    Memory,
    MemoryCandidate,
    ProfileDraft,
    UserProfile,
)
from companion.ports.chat_model import ChatModel

__all__ = ["FallbackChatModel"]

log = structlog.get_logger(__name__)

DEFAULT_COOLDOWN_SECONDS = 30.0


class FallbackChatModel(ChatModel):
    """The primary model while it can be reached; the fallback during an outage.

    Only :class:`ChatModelUnavailable` (unreachable, timed out, rate limited, 5xx) falls
    back; any other ChatModelError (bad key, rejected request) is raised so it is seen and
    fixed rather than hidden behind offline answers. After a failure the primary is left
    alone for ``cooldown_seconds`` (no turn pays its timeouts again), then tried again.
    """

    def __init__(
        self,
        primary: ChatModel,
        fallback: ChatModel,
        *,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._cooldown = cooldown_seconds
        self._monotonic = monotonic
        self._retry_at: float | None = None  # set while in an outage

    @property
    def name(self) -> str:
        """The primary's name (the fallback's while in an outage)."""
        return self._primary.name if self._retry_at is None else self._fallback.name

    @property
    def in_outage(self) -> bool:
        """Whether the primary failed and has not answered since."""
        return self._retry_at is not None

    def _try_primary(self) -> bool:
        return self._retry_at is None or self._monotonic() >= self._retry_at

    def _failed(self, exc: ChatModelUnavailable) -> None:
        if self._retry_at is None:
            log.warning(
                "chat_model_fallback",
                primary=self._primary.name,
                fallback=self._fallback.name,
                reason=str(exc),
                retry_in_seconds=self._cooldown,
            )
        self._retry_at = self._monotonic() + self._cooldown

    def _answered(self) -> None:
        if self._retry_at is not None:
            log.info("chat_model_recovered", primary=self._primary.name)
            self._retry_at = None

    async def reply(self, request: ChatRequest) -> str:
        """The primary's reply, or the fallback's during an outage."""
        if self._try_primary():
            try:
                text = await self._primary.reply(request)
            except ChatModelUnavailable as exc:
                self._failed(exc)
            else:
                self._answered()
                return text
        return await self._fallback.reply(request)

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:
        """The primary's stream, or the fallback's if the primary fails before its first piece.

        A failure after pieces were yielded is raised: they cannot be taken back, and
        splicing in a different model's reply mid-sentence would be worse.
        """
        if self._try_primary():
            started = False
            try:
                async for piece in self._primary.stream_reply(request):
                    started = True
                    yield piece
            except ChatModelUnavailable as exc:
                self._failed(exc)
                if started:
                    raise
            else:
                self._answered()
                return
        async for piece in self._fallback.stream_reply(request):
            yield piece

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        """The primary's extraction; the fallback's during an outage or when it fails.

        Unlike a reply, extraction never raises for a failing model: output that is not
        the schema, or a request the model rejects, would otherwise be retried and leave
        the turn pending forever. The pattern extractor keeps what it can instead.
        """
        if self._try_primary():
            try:
                found = await self._primary.extract_memories(text, known)
            except ChatModelUnavailable as exc:
                self._failed(exc)
            except ChatModelError as exc:
                log.warning("extraction_fell_back_to_patterns", error=type(exc).__name__)
            else:
                self._answered()
                return found
        return await self._fallback.extract_memories(text, known)

    async def build_profile(self, profile: UserProfile, memories: Sequence[Memory]) -> ProfileDraft:
        """The primary's draft; the deterministic one when it is down or its answer is
        unusable (like extraction, it never fails the session's end)."""
        if self._try_primary():
            try:
                draft = await self._primary.build_profile(profile, memories)
            except ChatModelUnavailable as exc:
                self._failed(exc)
            except ChatModelError as exc:
                log.warning("profile_fell_back_to_patterns", error=type(exc).__name__)
            else:
                self._answered()
                return draft
        return await self._fallback.build_profile(profile, memories)

    async def ping(self) -> str:
        """The primary's health check (the fallback is in-process and always answers)."""
        ping = getattr(self._primary, "ping", None)
        if ping is None:
            return f"{self._primary.name} has no health check"
        said: str = await ping()
        return said

    async def aclose(self) -> None:
        """Close whichever of the two models holds a client."""
        for model in (self._primary, self._fallback):
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
