"""The TurnSpool port: turns kept on this machine while the store cannot take them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from companion.domain.models import ConversationTurn


class TurnSpool(Protocol):
    """A durable, ordered list of journal entries waiting for the conversation store.

    Shared by every process of the machine: what one process kept, any other may send.
    """

    async def keep(self, turn: ConversationTurn) -> None:
        """Append a turn; it is on disk (synced) when this returns."""
        ...

    async def oldest(self, limit: int) -> list[ConversationTurn]:
        """The first ``limit`` turns kept, in the order they were kept."""
        ...

    async def remove(self, turn_ids: Sequence[UUID]) -> None:
        """Take turns out (sent, or found stored already); unknown ids are ignored."""
        ...

    async def count(self) -> int:
        """How many turns wait."""
        ...
