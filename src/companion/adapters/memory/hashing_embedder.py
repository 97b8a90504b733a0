"""HashingEmbedder: a deterministic bag-of-words embedder with no model weights.

For tests and for machines without the MiniLM weights: it embeds by hashing stemmed words
into buckets, so texts sharing words are similar. It is honest about what it is: its
model name says "hashing", and stored vectors never mix with a real model's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from companion.domain.errors import InvalidInput
from companion.domain.lexical import index_terms
from companion.domain.models import Embedding
from companion.ports.embedder import Embedder


class HashingEmbedder(Embedder):
    """Feature-hashing embedder: deterministic across processes and machines."""

    def __init__(self, dimensions: int = 256) -> None:
        if dimensions < 8:
            raise InvalidInput("hashing embedder needs at least 8 dimensions")
        self._dimensions = dimensions
        self.calls = 0

    @property
    def model(self) -> str:
        return f"hashing-{self._dimensions}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimensions, dtype=np.float32)
        for term in index_terms(text) or [text.strip().casefold()]:
            digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dimensions
            sign = 1.0 if digest[4] & 1 else -1.0
            vector[bucket] += sign
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return vector / norm

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        self.calls += 1
        out = []
        for text in texts:
            if not isinstance(text, str):
                raise InvalidInput("embedder input must be text")
            out.append(Embedding(model=self.model, vector=self._vector(text)))
        return out
