"""A long-lived worker's memory after serving many users: about what it held after 100.

One process, as a worker or a library user runs it: the container on SQLite, the offline
model and (by default) the weightless hashing embedder, so the run measures what the
process keeps per user rather than the model. Each user has one short session (start,
three turns, end). Printed at 100, 1,000 and ``--users`` users: the Python heap
(tracemalloc, after a collection), the resident set now and at its peak, and the
per-user structures a worker keeps (the SQLite vector cache, the memory worker's retry
schedule and claims, the in-process cache's entries).

Users arrive ``--seconds-between-users`` apart on a simulated clock (the companion's, the
in-process cache's and the vector cache's; 2 s by default, as a busy worker sees them:
10,000 users over about 5.5 hours), so what expires does; 0 serves them all at once.

    .venv/bin/python scripts/bench_worker_memory.py [--users 10000] [--embedder hashing]
        [--seconds-between-users 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta

from dependency_injector import providers

from companion.adapters.memory import InMemoryCache, ManualClock
from companion.main.container import aclose_clients, build_container
from companion.main.logging import configure_logging
from companion.main.settings import load_settings

LINES = ["My name is Sam.", "I have a dog called Rex.", "Where do I live?"]


def _rss_mib() -> float:
    """The resident set now (Linux), not its peak."""
    for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(users: int, embedder: str, pace: float) -> None:
    settings = load_settings(companion={"data_dir": tempfile.mkdtemp(), "embedder": embedder})
    container = build_container(settings)
    clock = ManualClock()
    simulated = [0.0]
    container.gateways.clock.override(providers.Object(clock))
    ttl = settings.companion.cache_ttl_seconds
    cache = InMemoryCache(  # as the container builds it, on the simulated clock
        max_entries=settings.companion.cache_max_entries,
        default_ttl_seconds=ttl,
        max_ttl_seconds=ttl,
        monotonic=lambda: simulated[0],
    )
    container.gateways.local_cache.override(providers.Object(cache))
    chat, worker = container.services.chat(), container.services.memory_worker()
    container.gateways.memory_store().vector_index.monotonic = lambda: simulated[0]
    marks = {100, 1000, users}
    tracemalloc.start()
    started = time.perf_counter()
    for n in range(1, users + 1):
        simulated[0] += pace
        clock.advance(timedelta(seconds=pace))
        user = uuid.uuid4()
        session = await chat.start(user)
        for line in LINES:
            await chat.turn(session, line.replace("Sam", f"Sam{n}"))
        await chat.end(session)
        if n in marks:
            await worker.drain()
            gc.collect()
            heap, _peak = tracemalloc.get_traced_memory()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            index = container.gateways.memory_store().vector_index
            print(
                f"after {n:>6} users: heap {heap / 2**20:7.1f} MiB  RSS {_rss_mib():7.1f} MiB"
                f" (peak {peak:7.1f})"
                f"  vector cache {len(index)} users / {index.rows()} vectors"
                f"  retry schedule {len(worker._retry)}"
                f"  cache {len(cache)} entries  claims {len(worker._leases)}"
                f"  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    await worker.close(within=5)
    await aclose_clients(container)
    container.shutdown_resources()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--embedder", default="hashing", choices=["hashing", "local"])
    parser.add_argument("--seconds-between-users", type=float, default=2.0)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    asyncio.run(measure(args.users, args.embedder, args.seconds_between_users))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
