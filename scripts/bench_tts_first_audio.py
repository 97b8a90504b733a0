"""Measure how soon Uplift speech starts when the reply is streamed: first sentence → audio.

A scripted "LLM" streams a three-sentence reply token by token into
``UpliftSpeechSynthesizer.synthesize_stream`` against the local Socket.IO peer
(``tests/servers/uplift.py``, python-socketio on 127.0.0.1). Each run times

- from the token that ends the first sentence (its full stop) to the first audio chunk:
  what the synthesizer adds before the user hears anything. It includes waiting for the
  next token, as a full stop is only known to end a sentence once whitespace follows
  (so "Dr." or "3.5" are not cut);
- from the same token to the end of the reply: what a synthesizer that buffers the whole
  reply before its first request (the official LiveKit plugin) would add at least.

The connection is prewarmed and reused across runs, as the voice agent does. The peer
answers at once, so this is the client's own latency, not Uplift's synthesis time.

    .venv/bin/python scripts/bench_tts_first_audio.py [--runs 200] [--token-gap-ms 25]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.uplift import KEY, running

from companion.adapters.uplift import UpliftSpeechSynthesizer
from companion.inbound.bench.stats import percentiles_ms

REPLY_TOKENS = [
    "Hello",
    " there",
    ",",
    " Ada",
    ".",
    " It",
    " is",
    " good",
    " to",
    " hear",
    " from",
    " you",
    " again",
    ".",
    " How",
    " was",
    " the",
    " trip",
    " to",
    " Lahore",
    "?",
]
FIRST_STOP = REPLY_TOKENS.index(".")


async def one_run(synth: UpliftSpeechSynthesizer, gap: float) -> tuple[float, float]:
    """(first sentence → first audio, first sentence → end of reply), in seconds."""
    marks: dict[str, float] = {}

    async def reply() -> AsyncIterator[str]:
        for i, token in enumerate(REPLY_TOKENS):
            if i == FIRST_STOP:
                marks["sentence"] = time.perf_counter()
            yield token
            await asyncio.sleep(gap)
        marks["reply_end"] = time.perf_counter()

    async for _chunk in synth.synthesize_stream(reply()):
        marks.setdefault("audio", time.perf_counter())
    return marks["audio"] - marks["sentence"], marks["reply_end"] - marks["sentence"]


async def bench(runs: int, gap: float) -> None:
    async with running() as peer:
        synth = UpliftSpeechSynthesizer(KEY, base_url=peer.base_url)
        await synth.prewarm()
        for _ in range(10):  # warm-up, not counted
            await one_run(synth, gap)
        first_audio: list[float] = []
        whole_reply: list[float] = []
        for _ in range(runs):
            audio, reply_end = await one_run(synth, gap)
            first_audio.append(audio)
            whole_reply.append(reply_end)
        await synth.aclose()
        connections = peer.connections
    fa, wr = percentiles_ms(first_audio), percentiles_ms(whole_reply)
    print(f"runs={runs} token_gap={gap * 1000:g} ms connections={connections}")
    print(f"first sentence -> first audio:  median {fa['p50']:.2f} ms  p95 {fa['p95']:.2f} ms")
    print(f"first sentence -> end of reply: median {wr['p50']:.2f} ms  p95 {wr['p95']:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--token-gap-ms", type=float, default=25.0, help="LLM pace (25 ms)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(bench(args.runs, args.token_gap_ms / 1000))


if __name__ == "__main__":
    main()
