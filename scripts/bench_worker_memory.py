"""A long-lived worker's memory after serving many users: about what it held after 100.

One process, as a worker or a library user runs it: the container on SQLite, the offline
model and (by default) the weightless hashing embedder, so the run measures what the
process keeps per user rather than the model. Each user has one short session (start,
three turns, end). Printed at 100, 1,000 and ``--users`` users: the Python heap
(tracemalloc, after a collection), the resident set now and at its peak, and the
per-user structures a worker keeps (the SQLite vector cache, the memory worker's retry schedule).

    .venv/bin/python scripts/bench_worker_memory.py [--users 10000] [--embedder hashing]
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


async def measure(users: int, embedder: str) -> None:
    container = build_container(
        load_settings(companion={"data_dir": tempfile.mkdtemp(), "embedder": embedder})
    )
    chat, worker = container.services.chat(), container.services.memory_worker()
    marks = {100, 1000, users}
    tracemalloc.start()
    started = time.perf_counter()
    for n in range(1, users + 1):
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
    args = parser.parse_args()
    configure_logging(level="WARNING")
    asyncio.run(measure(args.users, args.embedder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
