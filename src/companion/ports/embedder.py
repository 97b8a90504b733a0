"""The Embedder port: text to unit-length vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from companion.domain.models import Embedding


class Embedder(Protocol):
    """Embeds text. Every vector it returns is L2-normalized and tagged with ``model``."""

    @property
    def model(self) -> str:
        """The model's name; stored with every vector it makes."""
        ...

    @property
    def dimensions(self) -> int:
        """The length of its vectors."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        """One embedding per text, in order."""
        ...
