"""OpenAIEmbedder: the Embedder port over any OpenAI-compatible /embeddings endpoint.

OpenAI's text-embedding-3 models take a ``dimensions`` parameter (shortened vectors);
local servers (Ollama, vLLM, llama.cpp) serve their own models at the same path. Inputs
go in batches; every vector is L2-normalised here because compatible servers do not all
normalise, and the stores compare vectors by dot product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import openai

from companion.adapters.openai._errors import translate
from companion.domain.errors import EmbeddingError, EmbeddingUnavailable, InvalidInput
from companion.domain.models import Embedding
from companion.ports.embedder import Embedder

__all__ = ["OpenAIEmbedder"]

# Embeddings are on the critical path of a turn (the query vector): fail over to lexical
# search fast rather than wait. One retry rides out a blip.
DEFAULT_TIMEOUT = openai.Timeout(8, connect=3)
DEFAULT_MAX_RETRIES = 1
# OpenAI accepts up to 2048 inputs per request; smaller batches keep each request well
# under its token limit for memory-sized texts and spread the work across retries.
DEFAULT_BATCH_SIZE = 256
_NO_KEY = "not-needed"
# The longest text sent: ~8k tokens is the model's limit; 4 characters per token is
# conservative for English and Urdu alike, and longer memories are not meaningful anyway.
MAX_INPUT_CHARS = 8_000 * 3


class OpenAIEmbedder(Embedder):
    """Vectors from an OpenAI-compatible embeddings endpoint, named ``openai:<model>[:<d>]``."""

    def __init__(
        self,
        *,
        model: str = "text-embedding-3-small",
        dimensions: int = 1536,
        send_dimensions: bool = True,
        api_key: str | None = None,
        base_url: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        client: openai.AsyncOpenAI | None = None,
    ) -> None:
        if not 1 <= dimensions <= 16_000:
            raise InvalidInput("embedding dimensions must be between 1 and 16000")
        if not 1 <= batch_size <= 2048:
            raise InvalidInput("embedding batch size must be between 1 and 2048")
        self._model = model
        self._dimensions = dimensions
        # Servers other than OpenAI reject or ignore `dimensions`; then the model's own
        # size must equal `dimensions`, which every response is checked against.
        self._send_dimensions = send_dimensions
        self._batch_size = batch_size
        self._client = client or openai.AsyncOpenAI(
            api_key=api_key or _NO_KEY,
            base_url=base_url,
            timeout=DEFAULT_TIMEOUT,
            max_retries=DEFAULT_MAX_RETRIES,
        )
        self.requests = 0

    @property
    def model(self) -> str:
        # The size is part of the name: vectors of one model cut to different sizes are
        # not comparable, and the stores refuse to mix models.
        return f"openai:{self._model}:{self._dimensions}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def aclose(self) -> None:
        """Close the HTTP client (its connection pool)."""
        await self._client.close()

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        """One unit vector per text, in order; empty texts are embedded as a single space."""
        if isinstance(texts, str):
            raise InvalidInput("embed takes a sequence of texts, not one string")
        if not all(isinstance(t, str) for t in texts):
            raise InvalidInput("embed takes texts (str) only")
        inputs = [(t if t.strip() else " ")[:MAX_INPUT_CHARS] for t in texts]
        out: list[Embedding] = []
        for start in range(0, len(inputs), self._batch_size):
            out.extend(await self._batch(inputs[start : start + self._batch_size]))
        return out

    async def _batch(self, inputs: list[str]) -> list[Embedding]:
        kwargs: dict[str, Any] = {"model": self._model, "input": inputs}
        if self._send_dimensions:
            kwargs["dimensions"] = self._dimensions
        self.requests += 1
        try:
            response = await self._client.embeddings.create(**kwargs)
        except openai.OpenAIError as exc:
            raise translate(
                exc, what="embedding model", failed=EmbeddingError, unavailable=EmbeddingUnavailable
            ) from None
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(inputs):
            raise EmbeddingError(
                f"the embedding model returned {len(data)} vectors for {len(inputs)} texts"
            )
        return [self._unit(item.embedding) for item in data]

    def _unit(self, values: Sequence[float]) -> Embedding:
        vector = np.asarray(values, dtype=np.float32)
        if vector.ndim != 1 or vector.shape[0] != self._dimensions:
            raise EmbeddingError(
                f"the embedding model returned {vector.shape[-1] if vector.ndim else 0}"
                f"-dimensional vectors; OPENAI_EMBEDDING_DIMENSIONS is {self._dimensions}"
            )
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise EmbeddingError("the embedding model returned a zero or non-finite vector")
        return Embedding(self.model, vector / norm)
