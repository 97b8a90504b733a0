"""OpenAIEmbedder at the wire format, against a scripted OpenAI-compatible server."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.servers.openai_peer import OpenAIPeer, PeerReply

from companion.adapters.openai import OpenAIEmbedder
from companion.domain.errors import EmbeddingError, EmbeddingUnavailable, InvalidInput

KEY = "sk-test-embeddings-0123456789abcdef"


def embeddings_reply(body: Any, dims: int = 4) -> PeerReply:
    """Deterministic, non-normalised vectors, returned in reverse index order."""
    inputs = body["input"]
    data = [
        {"object": "embedding", "index": i, "embedding": [float(len(t) + 1)] + [1.0] * (dims - 1)}
        for i, t in enumerate(inputs)
    ]
    return PeerReply(
        body={
            "object": "list",
            "data": list(reversed(data)),
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )


def make(peer: OpenAIPeer, **kwargs: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(api_key=KEY, base_url=peer.base_url, **kwargs)


async def test_batches_in_order_normalised_with_model_and_dimensions(
    openai_peer: OpenAIPeer,
) -> None:
    openai_peer.responder = embeddings_reply
    embedder = make(openai_peer, model="text-embedding-3-small", dimensions=4, batch_size=2)
    texts = ["a", "bbb", "", "cc", "dddd"]
    out = await embedder.embed(texts)
    await embedder.aclose()

    assert [r.path for r in openai_peer.requests] == ["/v1/embeddings"] * 3
    assert [r.body["input"] for r in openai_peer.requests] == [["a", "bbb"], [" ", "cc"], ["dddd"]]
    assert {r.body["model"] for r in openai_peer.requests} == {"text-embedding-3-small"}
    assert {r.body["dimensions"] for r in openai_peer.requests} == {4}
    assert {r.headers["authorization"] for r in openai_peer.requests} == {f"Bearer {KEY}"}
    assert embedder.model == "openai:text-embedding-3-small:4"
    for text, emb in zip(["a", "bbb", " ", "cc", "dddd"], out, strict=True):
        first = len(text) + 1
        assert emb.model == embedder.model
        assert float(np.linalg.norm(emb.vector)) == pytest.approx(1.0, abs=1e-6)
        assert emb.vector[0] == pytest.approx(first / math.sqrt(first**2 + 3), abs=1e-6)


async def test_servers_without_a_dimensions_parameter(openai_peer: OpenAIPeer) -> None:
    openai_peer.responder = lambda body: embeddings_reply(body, dims=3)
    embedder = make(openai_peer, model="nomic-embed-text", dimensions=3, send_dimensions=False)
    (vec,) = await embedder.embed(["hello"])
    await embedder.aclose()
    assert "dimensions" not in openai_peer.requests[0].body
    assert vec.dimensions == 3


async def test_a_size_other_than_configured_is_a_clear_error(openai_peer: OpenAIPeer) -> None:
    openai_peer.responder = lambda body: embeddings_reply(body, dims=8)
    embedder = make(openai_peer, dimensions=4, send_dimensions=False)
    with pytest.raises(EmbeddingError, match=r"8-dimensional.*OPENAI_EMBEDDING_DIMENSIONS is 4"):
        await embedder.embed(["hello"])
    await embedder.aclose()


async def test_too_few_vectors_is_an_error_not_a_silent_misalignment(
    openai_peer: OpenAIPeer,
) -> None:
    def short(body: Any) -> PeerReply:
        reply = embeddings_reply(body)
        reply.body["data"] = reply.body["data"][:1]
        return reply

    openai_peer.responder = short
    embedder = make(openai_peer, dimensions=4)
    with pytest.raises(EmbeddingError, match="1 vectors for 2 texts"):
        await embedder.embed(["a", "b"])
    await embedder.aclose()


@pytest.mark.parametrize(
    ("status", "error", "said"),
    [
        (401, EmbeddingError, "authentication failed: check OPENAI_API_KEY"),
        (400, EmbeddingError, "rejected the request (HTTP 400)"),
        (429, EmbeddingUnavailable, "rate limiting"),
        (503, EmbeddingUnavailable, "server failed (HTTP 503)"),
    ],
)
async def test_errors_map_to_domain_errors_without_the_key(
    openai_peer: OpenAIPeer, status: int, error: type[Exception], said: str
) -> None:
    openai_peer.push_error(status, f"bad key {KEY}", times=3)
    embedder = make(openai_peer, dimensions=4)
    with pytest.raises(error, match=re.escape(said)) as caught:
        await embedder.embed(["x"])
    await embedder.aclose()
    assert KEY not in str(caught.value)
    assert not isinstance(caught.value, EmbeddingUnavailable) or status >= 429
    retried = 2 if status >= 429 else 1
    assert len(openai_peer.requests) == retried


async def test_unreachable_server_is_unavailable() -> None:
    embedder = OpenAIEmbedder(api_key=KEY, base_url="http://127.0.0.1:9/v1", dimensions=4)
    with pytest.raises(EmbeddingUnavailable, match="cannot be reached"):
        await embedder.embed(["x"])
    await embedder.aclose()


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dimensions=st.integers(), batch=st.integers())
def test_settings_out_of_range_are_refused(dimensions: int, batch: int) -> None:
    ok = 1 <= dimensions <= 16_000 and 1 <= batch <= 2048
    if ok:
        OpenAIEmbedder(dimensions=dimensions, batch_size=batch, api_key=KEY)
    else:
        with pytest.raises(InvalidInput):
            OpenAIEmbedder(dimensions=dimensions, batch_size=batch, api_key=KEY)


async def test_input_that_is_not_a_list_of_texts_is_refused(openai_peer: OpenAIPeer) -> None:
    embedder = make(openai_peer, dimensions=4)
    with pytest.raises(InvalidInput):
        await embedder.embed("one string")
    with pytest.raises(InvalidInput):
        await embedder.embed([b"bytes"])  # type: ignore[list-item]
    await embedder.aclose()
    assert openai_peer.requests == []
