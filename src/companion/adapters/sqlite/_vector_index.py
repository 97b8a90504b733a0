"""The in-process vector cache behind SqliteMemoryStore's dense search.

Reading and decoding 10,000 vector BLOBs (~30 ms) costs far more than the search itself
(<1 ms), so each user's vectors are kept as one float32 matrix between searches. The
cache is touched only on the database's worker thread, so it needs no lock.

Staying current:

- a write through this process edits the user's entry in place inside its transaction
  (:meth:`VectorIndex.edit`), so a conversation that stores a memory every turn does not
  pay for a rebuild every turn; anything an edit cannot express drops the entry;
- a commit by any other connection changes ``PRAGMA data_version``; the entry is then
  checked against the user's row in ``memory_vector_versions`` (bumped by triggers on
  every write that changes the user's vectors or categories) and rebuilt only when that
  moved, so other users' writes and conversation turns do not force a rebuild.

Past ``exact_up_to`` vectors (20,000) a scan of the whole float32 matrix no longer fits in
the caches (100,000 x 384 is 150 MB: ~11 ms here), so the search first compares one bit
per dimension, the sign (48 bytes a vector, ~3 ms for 100,000), keeps the ``rescore``
closest by Hamming distance, and ranks those by their exact cosine. Measured on 100,000
MiniLM vectors of everyday sentences, 200 queries: 99.6 % of the exact top 50 kept with
1,000 rescored (docs/benchmarks.md); every similarity returned is the exact one.
"""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from companion.adapters.sqlite._codec import VECTOR_DTYPE
from companion.domain.errors import EmbeddingModelMismatch, StoreError
from companion.domain.models import MemoryCategory, Vector

# What a long-lived process keeps of users' vectors: the most recently searched users, up
# to 256 of them and room for 200,000 vectors (about 300 MB at 384 dimensions).
MAX_CACHED_USERS = 256
MAX_CACHED_ROWS = 200_000
# Up to this many vectors a search compares them all exactly; past it, sign bits first.
EXACT_UP_TO = 20_000
# How many of the nearest by sign bits are rescored exactly (at least; 20 per result).
RESCORE = 1_000
# A user not searched for this long is dropped (rebuilt on their next search): a
# long-lived worker keeps the vectors of the users it serves now, not of everyone since.
IDLE_SECONDS = 300.0
_REINDEX_HINT = "run `companion-agent memories reindex` to re-embed them with the current model"
# (erasure epoch, the user's version of memory_vector_versions): see _vector_version.
Version = tuple[int, int]
_CATEGORY_CODES = {category.value: code for code, category in enumerate(MemoryCategory)}


@dataclass(slots=True)
class _UserVectors:
    """One user's vectors as of ``version``, in the first ``len(ids)`` rows of ``matrix``.

    ``matrix`` is None when the user has no vectors, or vectors of several models or
    dimensions (then only ``models``/``dimensions`` matter: searches raise).
    """

    version: Version
    data_version: int
    models: frozenset[str]
    dimensions: frozenset[int]
    ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    categories: npt.NDArray[np.int8] = field(default_factory=lambda: np.empty(0, np.int8))
    matrix: Vector | None = None
    signs: npt.NDArray[np.uint64] | None = None  # each row's sign bits, packed

    def set_row(self, row: int, vector: Vector) -> None:
        assert self.matrix is not None  # reserved
        assert self.signs is not None
        self.matrix[row] = vector
        self.signs[row] = sign_bits(vector)

    @property
    def uniform(self) -> bool:
        return len(self.models) <= 1 and len(self.dimensions) <= 1

    def put(self, memory_id: str, category: int, model: str, vector: Vector) -> bool:
        """Insert or replace one vector; False when the entry cannot absorb it."""
        dims = int(vector.shape[0])
        if not self.uniform or (
            self.models and (self.models != {model} or self.dimensions != {dims})
        ):
            return False  # the user's vectors are becoming mixed: let a rebuild describe it
        self.models, self.dimensions = frozenset({model}), frozenset({dims})
        row = self.rows.get(memory_id)
        if row is None:
            row = len(self.ids)
            self._reserve(row + 1, dims)
            self.ids.append(memory_id)
            self.rows[memory_id] = row
        self.set_row(row, vector)
        self.categories[row] = category
        return True

    def remove(self, memory_id: str) -> bool:
        """Forget one vector (if cached); False when the entry cannot express it."""
        if not self.uniform:
            return False  # removing one model's vector may un-mix them: rebuild
        row = self.rows.pop(memory_id, None)
        if row is None:
            return True
        assert self.matrix is not None  # uniform, a cached row
        assert self.signs is not None
        last = len(self.ids) - 1
        if row != last:  # keep rows dense: move the last vector into the hole
            moved = self.ids[last]
            self.ids[row], self.rows[moved] = moved, row
            self.matrix[row] = self.matrix[last]
            self.signs[row] = self.signs[last]
            self.categories[row] = self.categories[last]
        self.ids.pop()
        if not self.ids:
            self.models, self.dimensions = frozenset(), frozenset()
        return True

    def recategorize(self, memory_id: str, category: int) -> bool:
        """Record a memory's new category (if its vector is cached)."""
        row = self.rows.get(memory_id)
        if row is not None:
            self.categories[row] = category
        return True

    def _reserve(self, size: int, dims: int) -> None:
        if self.matrix is not None and self.matrix.shape[1] != dims:
            self.matrix = None  # emptied, now refilled by another model: start over
        capacity = 0 if self.matrix is None else self.matrix.shape[0]
        if size <= capacity:
            return
        grown = max(size, capacity + capacity // 2, 8)
        matrix = np.empty((grown, dims), dtype=np.float32)
        signs = np.empty((grown, _sign_words(dims)), dtype=np.uint64)
        categories = np.empty(grown, dtype=np.int8)
        used = len(self.ids)
        if self.matrix is not None and self.signs is not None:
            matrix[:used] = self.matrix[:used]
            signs[:used] = self.signs[:used]
            categories[:used] = self.categories[:used]
        self.matrix, self.signs, self.categories = matrix, signs, categories


@dataclass(slots=True)
class VectorEdit:
    """Changes one write transaction makes to one user's vectors (see VectorIndex.edit)."""

    index: VectorIndex
    user_id: str
    before: Version
    ops: list[tuple[str, str, int, str, Vector | None]] = field(default_factory=list)

    def put(self, memory_id: str, category: str, model: str, blob: bytes) -> None:
        """The memory now has this vector (and category)."""
        vector = np.frombuffer(blob, dtype=VECTOR_DTYPE)
        self.ops.append(("put", memory_id, _code(category), model, vector))

    def remove(self, memory_id: str) -> None:
        """The memory no longer has a vector (deleted, or its text changed)."""
        self.ops.append(("remove", memory_id, 0, "", None))

    def recategorize(self, memory_id: str, category: str) -> None:
        """The memory keeps its vector but may have a new category."""
        self.ops.append(("recategorize", memory_id, _code(category), "", None))

    def apply(self, conn: sqlite3.Connection) -> None:
        """Apply the changes, at the end of the transaction that made them."""
        self.index._apply(conn, self)


class VectorIndex:
    """Per-user (ids, float32 matrix, model) cache with brute-force cosine search."""

    def __init__(
        self,
        *,
        max_users: int = MAX_CACHED_USERS,
        max_rows: int = MAX_CACHED_ROWS,
        idle_seconds: float = IDLE_SECONDS,
        exact_up_to: int = EXACT_UP_TO,
        rescore: int = RESCORE,
    ) -> None:
        """An empty cache; entries are built on each user's first search. The least
        recently searched users are dropped past ``max_users`` or ``max_rows`` vectors (a
        user alone is always kept, however large), or once not searched for
        ``idle_seconds``, and rebuilt on their next search. A user with more than
        ``exact_up_to`` vectors is searched by sign bits first, ``rescore`` (at least)
        rescored exactly."""
        self._users: OrderedDict[str, _UserVectors] = OrderedDict()
        self._used: dict[str, float] = {}  # user -> when last searched (monotonic)
        self._max_users = max_users
        self._max_rows = max_rows
        self._idle = idle_seconds
        self._exact_up_to = exact_up_to
        self._rescore = rescore
        self.monotonic = time.monotonic  # settable: a benchmark's simulated clock
        self.builds = 0  # how many entries were (re)built: lets tests see invalidation

    def __len__(self) -> int:
        return len(self._users)

    def rows(self) -> int:
        """How many vectors the cache has room for (what its matrices take)."""
        return sum(
            0 if entry.matrix is None else entry.matrix.shape[0] for entry in self._users.values()
        )

    def invalidate(self, user_id: str) -> None:
        """Forget one user's vectors."""
        self._users.pop(user_id, None)
        self._used.pop(user_id, None)

    def edit(self, conn: sqlite3.Connection, user_id: str) -> VectorEdit:
        """Start recording a write to ``user_id``'s memories; call before writing."""
        return VectorEdit(self, user_id, _vector_version(conn, user_id))

    def _apply(self, conn: sqlite3.Connection, edit: VectorEdit) -> None:
        entry = self._users.get(edit.user_id)
        if entry is None:
            return
        if entry.version != edit.before:
            # Someone else changed this user's vectors since the entry was built.
            self.invalidate(edit.user_id)
            return
        for op, memory_id, category, model, vector in edit.ops:
            if op == "put" and vector is not None:
                applied = entry.put(memory_id, category, model, vector)
            elif op == "remove":
                applied = entry.remove(memory_id)
            else:
                applied = entry.recategorize(memory_id, category)
            if not applied:
                self.invalidate(edit.user_id)
                return
        entry.version = _vector_version(conn, edit.user_id)

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
        entry = self._searchable(conn, user_id, model, query)
        if entry is None or entry.matrix is None or limit <= 0:
            return []
        size = len(entry.ids)
        # einsum, not `@`: a matrix-vector product sent to a multi-threaded BLAS slows
        # down ten-fold when the other cores are busy (speech, the embedder), while
        # NumPy's own single-threaded loop stays well under a millisecond at 10,000 x 384.
        shortlist = max(self._rescore, 20 * limit)
        if categories is None and size > max(self._exact_up_to, shortlist):
            assert entry.signs is not None  # kept with the matrix
            return _shortlisted(entry, size, query, limit, shortlist)
        sims = np.einsum("ij,j->i", entry.matrix[:size], query)
        # argpartition is O(n): the top `limit` are found, not sorted (the domain ranks).
        if categories is None:
            top = np.argpartition(sims, size - limit)[-limit:] if size > limit else np.arange(size)
        else:
            wanted = np.array([_code(MemoryCategory(c).value) for c in categories], np.int8)
            top = np.flatnonzero(np.isin(entry.categories[:size], wanted))
            if top.shape[0] > limit:
                top = top[np.argpartition(sims[top], top.shape[0] - limit)[-limit:]]
        return [(entry.ids[i], float(sims[i])) for i in top.tolist()]

    def similarities(
        self,
        conn: sqlite3.Connection,
        user_id: str,
        model: str,
        query: Vector,
        memory_ids: Iterable[str],
    ) -> dict[str, float]:
        """The similarity to ``query`` of each of these memories that has a vector.

        Raises EmbeddingModelMismatch like :meth:`search`.
        """
        entry = self._searchable(conn, user_id, model, query)
        if entry is None or entry.matrix is None:
            return {}
        ids = [memory_id for memory_id in memory_ids if memory_id in entry.rows]
        if not ids:
            return {}
        rows = [entry.rows[memory_id] for memory_id in ids]
        sims = np.einsum("ij,j->i", entry.matrix[rows], query)
        return dict(zip(ids, sims.tolist(), strict=True))

    def _searchable(
        self, conn: sqlite3.Connection, user_id: str, model: str, query: Vector
    ) -> _UserVectors | None:
        """The user's current entry (None without vectors), checked against the query."""
        entry = self._current(conn, user_id)
        if not entry.models:
            return None
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
        return entry

    def _current(self, conn: sqlite3.Connection, user_id: str) -> _UserVectors:
        data_version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        now = self.monotonic()
        self._drop_idle(now, user_id)
        entry = self._users.get(user_id)
        if entry is not None:
            self._users.move_to_end(user_id)
            self._used[user_id] = now
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
        self._used[user_id] = now
        self.builds += 1
        while len(self._users) > 1 and (
            len(self._users) > self._max_users or self.rows() > self._max_rows
        ):
            dropped, _ = self._users.popitem(last=False)
            self._used.pop(dropped, None)
        return entry

    def _drop_idle(self, now: float, keep: str) -> None:
        """Drop users not searched for ``idle_seconds`` (the least recent come first)."""
        for user_id in list(self._users):
            if user_id == keep:
                continue
            if self._used.get(user_id, now) > now - self._idle:
                break
            del self._users[user_id]
            self._used.pop(user_id, None)


def _shortlisted(
    entry: _UserVectors, size: int, query: Vector, limit: int, shortlist: int
) -> list[tuple[str, float]]:
    """The ``limit`` best of the ``shortlist`` nearest by sign bits, by exact cosine."""
    assert entry.matrix is not None
    assert entry.signs is not None
    distance = np.bitwise_count(entry.signs[:size] ^ sign_bits(query)).sum(axis=1, dtype=np.int32)
    near = np.argpartition(distance, shortlist - 1)[:shortlist]
    sims = np.einsum("ij,j->i", entry.matrix[near], query)
    best = np.argpartition(sims, shortlist - limit)[-limit:]  # shortlist > limit: 20 each
    return [
        (entry.ids[i], float(sims[j]))
        for j, i in zip(best.tolist(), near[best].tolist(), strict=True)
    ]


def sign_bits(vectors: Vector) -> npt.NDArray[np.uint64]:
    """One bit per dimension (set where the value is positive), packed into 64-bit words;
    the last word is padded with zeros. Works on one vector or on rows."""
    packed = np.packbits(vectors > 0, axis=-1)
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.concatenate(
            [packed, np.zeros((*packed.shape[:-1], pad), dtype=np.uint8)], axis=-1
        )
    return np.ascontiguousarray(packed).view(np.uint64)


def _sign_words(dims: int) -> int:
    return (dims + 63) // 64


def _code(category: str) -> int:
    return _CATEGORY_CODES.get(category, -1)


def _vector_version(conn: sqlite3.Connection, user_id: str) -> Version:
    """(the database's erasure epoch, the user's version): an erasure deletes the user's
    version row, so the version alone could come round again (migration 0008)."""
    epoch, version = conn.execute(
        "SELECT (SELECT epoch FROM memory_vector_epoch WHERE id = 0),"
        " (SELECT version FROM memory_vector_versions WHERE user_id = ?)",
        (user_id,),
    ).fetchone()
    return (int(epoch or 0), int(version or 0))


def _build(
    conn: sqlite3.Connection, user_id: str, version: Version, data_version: int
) -> _UserVectors:
    rows = conn.execute(
        "SELECT id, category, embedding_model, embedding_dim, embedding FROM memories"
        " WHERE user_id = ? AND embedding IS NOT NULL",
        (user_id,),
    ).fetchall()
    entry = _UserVectors(
        version=version,
        data_version=data_version,
        models=frozenset(row[2] for row in rows),
        dimensions=frozenset(int(row[3]) for row in rows),
    )
    if not rows or not entry.uniform:
        return entry
    (dims,) = entry.dimensions
    raw = np.frombuffer(b"".join(row[4] for row in rows), dtype=VECTOR_DTYPE)
    if raw.shape[0] != len(rows) * dims:
        raise StoreError("a stored vector's length does not match its dimension")
    entry._reserve(len(rows) + len(rows) // 8, dims)  # room to grow before copying again
    assert entry.matrix is not None
    assert entry.signs is not None
    entry.matrix[: len(rows)] = raw.reshape(len(rows), dims)
    entry.signs[: len(rows)] = sign_bits(entry.matrix[: len(rows)])
    entry.categories[: len(rows)] = [_code(row[1]) for row in rows]
    entry.ids = [row[0] for row in rows]
    entry.rows = {memory_id: i for i, memory_id in enumerate(entry.ids)}
    return entry
