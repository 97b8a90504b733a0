"""The Embedder contract, run against every adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from tests.servers.openai_peer import OpenAIPeer, PeerReply

from companion.adapters.local.local_embedder import LocalEmbedder
from companion.adapters.memory import HashingEmbedder
from companion.adapters.openai import OpenAIEmbedder
from companion.domain.errors import InvalidInput
from companion.ports.embedder import Embedder

_LOCAL = LocalEmbedder()


def _minilm_server(body: Any) -> PeerReply:
    """An OpenAI-compatible embeddings server serving MiniLM, as llama.cpp or vLLM would."""
    vectors = _LOCAL.embed_sync(body["input"])
    data = [
        {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)
    ]
    return PeerReply(body={"object": "list", "data": data, "model": body["model"]})


@pytest.fixture(params=["hashing", "local", "openai"])
async def embedder(request: pytest.FixtureRequest) -> AsyncIterator[Embedder]:
    if request.param == "hashing":
        yield HashingEmbedder()
    elif request.param == "local":
        yield _LOCAL
    else:
        peer: OpenAIPeer = request.getfixturevalue("openai_peer")
        peer.responder = _minilm_server
        remote = OpenAIEmbedder(
            model="all-minilm", dimensions=384, send_dimensions=False, base_url=peer.base_url
        )
        yield remote
        await remote.aclose()


async def test_vectors_are_unit_length_tagged_and_ordered(embedder: Embedder) -> None:
    texts = ["I have a dog called Biscuit", "My favourite colour is green", "x"]
    out = await embedder.embed(texts)
    assert len(out) == 3
    for e in out:
        assert e.model == embedder.model
        assert e.vector.shape == (embedder.dimensions,)
        assert e.vector.dtype == np.float32
        assert float(np.linalg.norm(e.vector)) == pytest.approx(1.0, abs=1e-5)
    one_by_one = [(await embedder.embed([t]))[0] for t in texts]
    for a, b in zip(out, one_by_one, strict=True):
        assert float(a.vector @ b.vector) == pytest.approx(1.0, abs=1e-5)


async def test_related_texts_are_closer_than_unrelated(embedder: Embedder) -> None:
    dog, puppy, tax = await embedder.embed(
        ["my dog Biscuit likes walks", "walks with my dog Biscuit", "quarterly tax filing deadline"]
    )
    assert float(dog.vector @ puppy.vector) > float(dog.vector @ tax.vector)


async def test_empty_batch_and_bad_input(embedder: Embedder) -> None:
    assert await embedder.embed([]) == []
    with pytest.raises(InvalidInput):
        await embedder.embed([42])  # type: ignore[list-item]
