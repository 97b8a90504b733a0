"""Memory work on a chat turn's critical path, and in the background, on the embedded default.

The path users run: a user with one LoCoMo conversation's ~400 memories (SQLite, MiniLM,
the offline model) says 200 things to the LiveKit agent through an ``AgentSession`` in
text mode, exactly as ``companion-agent chat`` does, 20 ms apart (a person takes longer
to speak again). The critical path is what the reply waits for: the previous turn's
memory work, the journal write and retrieval (``TurnService.begin``, timed in
``TurnService.critical_path_ms``). Background is the worker's time per turn (extraction,
reconciliation, writes). The floor, measured in the same run on the same texts, is the
query embedding alone: the one part of retrieval no store can avoid.

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

from companion.inbound.bench.latency import UTTERANCES
from companion.inbound.bench.locomo import run_locomo
from companion.inbound.bench.locomo_data import load_locomo
from companion.inbound.livekit.models import voice_llm
from companion.inbound.livekit.session import VoiceSession, freeze_startup_heap
from companion.inbound.livekit.worker import voice_services
from companion.main.container import aclose_clients, build_container
from companion.main.logging import configure_logging
from companion.main.operations import manual_clock
from companion.main.settings import load_settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo-dev.json"
# The namespace the LoCoMo benchmark derives its users from (inbound/bench/locomo.py).
BENCH_NAMESPACE = uuid.UUID("1c0c0b5e-6a53-4a0e-9d59-0d1f7a1e2b3c")


async def measure(turns: int, data: Path) -> dict[str, list[float]]:
    container = build_container(load_settings(companion={"data_dir": tempfile.mkdtemp()}))
    services = container.services
    conversation = load_locomo(data)[:1]
    clock = manual_clock()
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
    worker, embedder = services.memory_worker(), container.gateways.embedder()
    background: list[float] = []
    process = worker.process

    async def timed(*args: Any) -> Any:
        started = time.perf_counter()
        result = await process(*args)
        background.append((time.perf_counter() - started) * 1000)
        return result

    worker.process = timed  # type: ignore[method-assign]
    voice_services_ = voice_services(container)
    voice = await VoiceSession.open(voice_services_, user, llm=voice_llm(container))
    freeze_startup_heap()  # as `chat` and the LiveKit job do once the session is ready
    await voice.start_text()
    rng = random.Random(1)
    said = [f"{rng.choice(UTTERANCES)} ({i})" for i in range(turns)]
    floor: list[float] = []
    for text in said:
        await voice.send(text)
        await asyncio.sleep(0.02)
        started = time.perf_counter()
        await embedder.embed([text])  # the floor: this turn's query embedding alone
        floor.append((time.perf_counter() - started) * 1000)
    await voice.aclose()
    await worker.close(within=5)
    await aclose_clients(container)
    container.shutdown_resources()
    return {
        "critical": list(voice_services_.turns.critical_path_ms),
        "floor": floor,
        "background": background,
    }


def _line(name: str, values: list[float]) -> str:
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    top = max(values)
    return f"{name}: p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  max {top:.2f}  (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DATA, help="a LoCoMo JSON file")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    timings = asyncio.run(measure(args.turns, args.data))
    critical, floor = timings["critical"], timings["floor"]
    print(_line("critical path ms (agent, TurnService.begin)", critical))
    print(_line("floor ms (the query embedding alone)      ", floor))
    ratio = np.percentile(critical, 95) / np.percentile(floor, 95)
    print(f"p95 critical path / p95 floor: {ratio:.2f}")
    print(_line("background memory work ms                 ", timings["background"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
