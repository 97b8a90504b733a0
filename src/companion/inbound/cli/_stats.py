"""``companion-agent stats``: the monitoring numbers, as text or JSON.

A command runs in its own process, so the per-process counters (cache hits, batched
queries) start from zero: they describe this process after it has touched each backend
once. Backends that keep their own counters report them (the Redis server's keyspace hit
rate, the PostgreSQL pool). The agent's stats tools report the live worker's numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO
from uuid import UUID

from companion.main.container import Container


async def run_stats(
    container: Container, user_id: UUID | None, out: TextIO, *, as_json: bool
) -> int:
    """Print every stats section (``memory`` only for a user)."""
    # Touch each backend once, so pools and clients exist and report real sizes.
    await container.gateways.memory_store().count(user_id or UUID(int=0))
    await container.gateways.cache().get("stats:probe")
    report = await container.services.stats().all(user_id)
    if as_json:
        json.dump(report, out, indent=2, default=str)
        out.write("\n")
    else:
        for line in _lines(report):
            out.write(line + "\n")
    return 0


def _lines(section: Mapping[str, object], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in section.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not value:
                lines.append(f"{name}: (none)")
            lines.extend(_lines(value, name + "."))
        else:
            lines.append(f"{name}: {'-' if value is None else value}")
    return lines
