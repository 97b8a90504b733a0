"""The StatsSource port: an adapter that counts what it does (a pool, a cache, a batcher)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class StatsSource(Protocol):
    """Something that counts what it does."""

    def stats(self) -> Mapping[str, object]:
        """A snapshot of its counters (plain JSON-serializable values)."""
        ...
