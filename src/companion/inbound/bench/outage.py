"""An embedding service that is down: what retrieval does during an embeddings outage."""

from __future__ import annotations

from collections.abc import Sequence

from companion.domain.errors import EmbeddingUnavailable
from companion.domain.models import Embedding
from companion.ports.embedder import Embedder


class DownEmbedder(Embedder):
    """``embedder``'s name and size, and no vectors: every call fails as an unreachable
    remote embedding service does, so retrieval answers lexically (the stored vectors
    stay as they were)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    @property
    def model(self) -> str:
        """The model whose vectors are stored."""
        return self._embedder.model

    @property
    def dimensions(self) -> int:
        """The length of the stored vectors."""
        return self._embedder.dimensions

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        """Never answers: the service is down."""
        raise EmbeddingUnavailable("the embedding service is down (bench locomo --embeddings-down)")
