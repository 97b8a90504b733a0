"""Memory work on the reply's critical path, with the offline model and with a remote one.

The path users run: sessions of the public library API (``Companion.conversation`` and
``reply``: the one turn use case, ``TurnService.begin`` then the model's reply then
``finish``), on the embedded default store (SQLite, MiniLM), each user with 200 memories
already. Two models, in the same run:

- offline: the offline chat model (its extraction is local, a millisecond);
- remote: an OpenAI-compatible server on 127.0.0.1 (``tests/servers/openai_peer.py``)
  whose extraction answers after 800 ms and whose replies after 200 ms.

Each with 1 session (40 turns) and with 20 concurrent sessions (10 turns each, each
starting at its own random moment within 2 s) in one process, and two schedules: a user
turn every 2 s per session (steady), and pairs of turns 0.3 s apart (burst: people often
say two short things in a row). The critical path is what the reply waits for that is memory
work: ``TurnService.begin`` (journal the words, retrieve), as ``critical_path_ms`` records
it. Printed: p50/p95/p99 per case, and remote/offline p99 in the same run.

    .venv/bin/python scripts/bench_turn.py [--turns 10] [--lone-turns 40] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.openai_peer import OpenAIPeer, PeerReply, running_peer  # noqa: E402

from companion import Companion, load_settings  # noqa: E402
from companion.adapters.local.extraction import extract_candidates  # noqa: E402
from companion.inbound.bench.latency import UTTERANCES, synthetic_memories  # noqa: E402
from companion.inbound.library.companion import user_id  # noqa: E402

EXTRACTION_SECONDS = 0.8
REPLY_SECONDS = 0.2
STEADY_SECONDS = 2.0
BURST_SECONDS = 0.3
MEMORIES_PER_USER = 200


class SlowModel:
    """The remote model: extraction after 800 ms (what the pattern extractor finds, as a
    remote model would answer), replies after 200 ms."""

    def __call__(self, body: Any) -> PeerReply:
        messages = body.get("messages") or [] if isinstance(body, dict) else []
        system = str(messages[0].get("content", "")) if messages else ""
        if not system.startswith("You extract memories"):
            return PeerReply(body=OpenAIPeer.completion("Nice to hear."), delay=REPLY_SECONDS)
        said = str(messages[-1].get("content", ""))
        found = [
            {
                "category": c.category.value,
                "text": c.text,
                "importance": c.importance,
                "key": c.key,
                "value": c.value,
                "forget": c.forget,
            }
            for c in extract_candidates(said)
        ]
        content = json.dumps({"memories": found})
        return PeerReply(body=OpenAIPeer.completion(content), delay=EXTRACTION_SECONDS)


async def _seed(companion: Companion, users: list[str], rng: random.Random) -> None:
    memories = companion.container.services.memories()
    now = datetime.now(UTC)
    for name in users:
        uid = user_id(name)
        chunk = synthetic_memories(rng, uid, range(MEMORIES_PER_USER), now)
        await memories.import_memories(uid, chunk)


async def _session(companion: Companion, user: str, turns: int, burst: bool) -> list[float]:
    rng = random.Random(user)
    # People do not speak in step: each session's first turn comes at its own moment.
    await asyncio.sleep(rng.uniform(0, STEADY_SECONDS))
    async with companion.conversation(user) as talk:
        for i in range(turns):
            started = time.monotonic()
            # Never the same words twice (a cached query vector would flatter the figures).
            await talk.reply(f"{rng.choice(UTTERANCES)} ({user}, {i})")
            gap = BURST_SECONDS if burst and i % 2 == 0 else STEADY_SECONDS
            await asyncio.sleep(max(0.0, gap - (time.monotonic() - started)))
        # The session's own turn use case recorded what each reply waited for.
        return list(talk._chat.turns.critical_path_ms)  # a benchmark looks inside


async def _case(base_url: str | None, sessions: int, burst: bool, turns: int) -> list[float]:
    openai = {"base_url": base_url, "api_key": "sk-bench-local"} if base_url else {}
    settings = load_settings(companion={"data_dir": tempfile.mkdtemp()}, openai=openai)
    async with Companion.open(settings) as companion:
        users = [f"bench turn {i}" for i in range(sessions)]
        await _seed(companion, users, random.Random(sessions))
        runs = await asyncio.gather(*(_session(companion, u, turns, burst) for u in users))
    return [ms for run in runs for ms in run]


def _stats(values: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2), "n": len(values)}


async def measure(turns: int, lone_turns: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with running_peer() as peer:
        peer.responder = SlowModel()
        for sessions in (1, 20):
            n = lone_turns if sessions == 1 else turns
            for burst in (False, True):
                schedule = "burst" if burst else "steady"
                offline = _stats(await _case(None, sessions, burst, n))
                remote = _stats(await _case(peer.base_url, sessions, burst, n))
                results[f"{sessions} session(s), {schedule}"] = {
                    "offline": offline,
                    "remote_800ms_extraction": remote,
                    "p99_ratio_remote_to_offline": round(remote["p99"] / offline["p99"], 2),
                }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10, help="turns per session of 20")
    parser.add_argument("--lone-turns", type=int, default=40, help="turns of a lone session")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(measure(args.turns, args.lone_turns))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("memory work on the reply's critical path, ms (TurnService.begin)")
    for case, found in results.items():
        print(case)
        for model in ("offline", "remote_800ms_extraction"):
            s = found[model]
            print(
                f"  {model:<24} p50 {s['p50']:6.2f}  p95 {s['p95']:6.2f}  p99 {s['p99']:6.2f}"
                f"  (n={s['n']})"
            )
        print(f"  p99 remote / offline: {found['p99_ratio_remote_to_offline']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
