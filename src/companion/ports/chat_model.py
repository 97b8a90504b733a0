"""The ChatModel port: the model that writes replies and extracts memories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from companion.domain.models import (
    ChatRequest,
    Memory,
    MemoryCandidate,
    ProfileDraft,
    UserProfile,
)


class ChatModel(Protocol):
    """Writes the companion's replies and proposes memories from what a user said.

    Failures raise :class:`~companion.domain.errors.ChatModelError`
    (:class:`~companion.domain.errors.ChatModelUnavailable` when it cannot be reached).
    """

    @property
    def name(self) -> str:
        """The model's name, for logs and stats."""
        ...

    async def reply(self, request: ChatRequest) -> str:
        """The whole reply to the last user message."""
        ...

    def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:
        """The reply as it is written, in pieces."""
        ...

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        """Memories worth keeping from one user utterance (possibly none).

        ``known`` are stored memories related to the utterance: a model that reads them
        reuses their keys for updates and corrections, and leaves out repetitions.
        """
        ...

    async def build_profile(self, profile: UserProfile, memories: Sequence[Memory]) -> ProfileDraft:
        """A draft of the user's profile from what it says now and these memories (one
        call per session, at its end); the domain merges it, it never replaces."""
        ...
