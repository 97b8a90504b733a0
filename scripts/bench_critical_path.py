"""Memory work on a chat turn's critical path, and in the background, on the embedded default.

A user with one LoCoMo conversation's ~400 memories (SQLite, MiniLM, offline model) says
200 things through ChatService, 20 ms apart (a person takes longer to speak again). The
critical path is what the reply waits for: the previous turn's memory work, the journal
write and retrieval (ChatService.critical_path_ms). Background is the worker's time per
turn (extraction, reconciliation, writes).

    .venv/bin/python scripts/bench_critical_path.py [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from dependency_injector import providers

from companion.adapters.memory import ManualClock
from companion.inbound.bench.locomo import run_locomo
from companion.inbound.bench.locomo_data import load_locomo
from companion.main.container import build_container
from companion.main.logging import configure_logging
from companion.main.settings import load_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo-dev.json"
LINES = [
    "I live in Oslo now.",
    "My favourite food is ramen.",
    "What is my favourite food?",
    "I have a cat called Miso.",
    "Where do I live?",
    "I like hiking and chess.",
    "How are you today?",
    "My sister is called Ana.",
    "I want to learn Spanish.",
    "What do you know about me?",
]
# The namespace the LoCoMo benchmark derives its users from (app/bench/locomo.py).
BENCH_NAMESPACE = uuid.UUID("1c0c0b5e-6a53-4a0e-9d59-0d1f7a1e2b3c")


async def measure(turns: int, data: Path) -> tuple[list[float], list[float]]:
    container = build_container(load_settings(companion={"data_dir": tempfile.mkdtemp()}))
    services = container.services
    conversation = load_locomo(data)[:1]
    clock = ManualClock()
    container.gateways.clock.override(providers.Object(clock))
    await run_locomo(
        conversation,
        unit="dialog",
        ks=[10],
        memories=services.memories(),
        profiles=services.profiles(),
        rag=services.rag(),
        set_clock=clock.set,
    )
    container.gateways.clock.reset_override()
    user = uuid.uuid5(BENCH_NAMESPACE, f"locomo:{conversation[0].sample_id}:dialog")
    chat, worker = services.chat(), services.memory_worker()
    background: list[float] = []
    process = worker.process

    async def timed(turn: Any, position: int | None = None) -> Any:
        started = time.perf_counter()
        result = await process(turn, position)
        background.append((time.perf_counter() - started) * 1000)
        return result

    worker.process = timed  # type: ignore[method-assign]
    rng = random.Random(1)
    session = await chat.start(user)
    for i in range(turns):
        await chat.turn(session, f"{rng.choice(LINES)} ({i})")
        await asyncio.sleep(0.02)
    await chat.end(session)
    await worker.close(within=5)
    container.shutdown_resources()
    return list(chat.turns.critical_path_ms), background


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DATA, help="a LoCoMo JSON file")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    critical, background = asyncio.run(measure(args.turns, args.data))
    p50, p95, p99 = np.percentile(critical, [50, 95, 99])
    print(
        f"critical path ms: p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  max {max(critical):.2f}"
        f"  (n={len(critical)})"
    )
    b50, b95 = np.percentile(background, [50, 95])
    print(f"background memory work ms: p50 {b50:.2f}  p95 {b95:.2f}  (n={len(background)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
