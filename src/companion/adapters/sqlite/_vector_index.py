"""The in-process vector cache behind SqliteMemoryStore's dense search.

Reading and decoding 10,000 vector BLOBs costs far more than the search itself, so each
user's vectors are kept as one float32 matrix between searches. The cache is touched only
on the database's worker thread (so it needs no lock) and is revalidated on every search:

- a write through this process drops the user's entry directly;
- a commit by any other connection changes ``PRAGMA data_version``; the entry is then
  checked against the user's row in ``memory_vector_versions`` (bumped by triggers on
  every write that changes the user's vectors or categories) and rebuilt only when that
  moved, so other users' writes and conversation turns do not force a rebuild.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from companion.adapters.sqlite._codec import VECTOR_DTYPE
from companion.domain.errors import EmbeddingModelMismatch, StoreError
from companion.domain.models import MemoryCategory, Vector

_REINDEX_HINT = "run `companion-agent memories reindex` to re-embed them with the current model"
_CATEGORY_CODES = {category.value: code for code, category in enumerate(MemoryCategory)}


@dataclass(slots=True)
class _UserVectors:
    """One user's vectors as of ``version``; ``matrix`` is None when models/dims are mixed."""

    version: int
    data_version: int
    ids: list[str]
    categories: npt.NDArray[np.int8]
    matrix: Vector | None
    models: frozenset[str]
    dimensions: frozenset[int]


class VectorIndex:
    """Per-user (ids, float32 matrix, model) cache with brute-force cosine search."""

    def __init__(self) -> None:
        """An empty cache; entries are built on each user's first search."""
        self._users: dict[str, _UserVectors] = {}
        self.builds = 0  # how many entries were (re)built: lets tests see invalidation

    def invalidate(self, user_id: str) -> None:
        """Forget one user's vectors (call on the worker thread after a local write)."""
        self._users.pop(user_id, None)

    def clear(self) -> None:
        """Forget every user's vectors."""
        self._users.clear()

    def search(
        self,
        conn: sqlite3.Connection,
        user_id: str,
        model: str,
        query: Vector,
        limit: int,
        categories: Collection[MemoryCategory] | None,
    ) -> list[tuple[str, float]]:
        """The ``limit`` memory ids most similar to ``query`` (unit vectors: dot product).

        Raises EmbeddingModelMismatch when any of the user's stored vectors comes from
        another model or has another dimension than the query.
        """
        entry = self._current(conn, user_id)
        if not entry.models:
            return []
        others = sorted(entry.models - {model})
        if others:
            raise EmbeddingModelMismatch(
                f"this user's memories were embedded with {', '.join(map(repr, others))} "
                f"but the query with {model!r}; {_REINDEX_HINT}"
            )
        if entry.dimensions != {query.shape[0]} or entry.matrix is None:
            raise EmbeddingModelMismatch(
                f"stored vectors of {model!r} have {sorted(entry.dimensions)} dimensions but "
                f"the query has {query.shape[0]}; {_REINDEX_HINT}"
            )
        if limit <= 0:
            return []
        # einsum, not `@`: a matrix-vector product sent to a multi-threaded BLAS slows
        # down ten-fold when the other cores are busy (speech, the embedder), while
        # NumPy's own single-threaded loop stays well under a millisecond at 10,000 x 384.
        sims = np.einsum("ij,j->i", entry.matrix, query)
        # argpartition is O(n): the top `limit` are found, not sorted (the domain ranks).
        if categories is None:
            if sims.shape[0] > limit:
                top = np.argpartition(sims, sims.shape[0] - limit)[-limit:]
            else:
                top = np.arange(sims.shape[0])
        else:
            wanted = np.array(
                [_CATEGORY_CODES[MemoryCategory(c).value] for c in categories], dtype=np.int8
            )
            top = np.flatnonzero(np.isin(entry.categories, wanted))
            if top.shape[0] > limit:
                top = top[np.argpartition(sims[top], top.shape[0] - limit)[-limit:]]
        return [(entry.ids[i], float(sims[i])) for i in top.tolist()]

    def _current(self, conn: sqlite3.Connection, user_id: str) -> _UserVectors:
        data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        entry = self._users.get(user_id)
        if entry is not None and entry.data_version == data_version:
            return entry
        version = _vector_version(conn, user_id)
        if entry is not None and entry.version == version:
            entry.data_version = data_version
            return entry
        # Both versions were read before the rows: a commit racing with the build makes
        # the entry look stale next time (a spare rebuild), never fresh when it is not.
        entry = _build(conn, user_id, version, data_version)
        self._users[user_id] = entry
        self.builds += 1
        return entry


def _vector_version(conn: sqlite3.Connection, user_id: str) -> int:
    row = conn.execute(
        "SELECT version FROM memory_vector_versions WHERE user_id = ?", (user_id,)
    ).fetchone()
    return 0 if row is None else int(row[0])


def _build(conn: sqlite3.Connection, user_id: str, version: int, data_version: int) -> _UserVectors:
    rows = conn.execute(
        "SELECT id, category, embedding_model, embedding_dim, embedding FROM memories"
        " WHERE user_id = ? AND embedding IS NOT NULL",
        (user_id,),
    ).fetchall()
    ids = [row[0] for row in rows]
    codes = np.fromiter((_CATEGORY_CODES.get(row[1], -1) for row in rows), np.int8, len(rows))
    models = frozenset(row[2] for row in rows)
    dimensions = frozenset(int(row[3]) for row in rows)
    matrix: Vector | None = None
    if len(models) == 1 and len(dimensions) == 1:
        (dims,) = dimensions
        raw = np.frombuffer(b"".join(row[4] for row in rows), dtype=VECTOR_DTYPE)
        if raw.shape[0] != len(rows) * dims:
            raise StoreError("a stored vector's length does not match its dimension")
        matrix = np.ascontiguousarray(raw.reshape(len(rows), dims), dtype=np.float32)
    return _UserVectors(
        version=version,
        data_version=data_version,
        ids=ids,
        categories=codes,
        matrix=matrix,
        models=models,
        dimensions=dimensions,
    )
