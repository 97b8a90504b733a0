"""`companion-agent bench locomo|latency`: benchmarks through the real services and stores."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, TextIO

from dependency_injector import providers

from companion.domain.errors import InvalidInput
from companion.inbound.bench.latency import run_latency
from companion.inbound.bench.locomo import run_locomo, run_locomo_end_to_end
from companion.inbound.bench.locomo_data import load_locomo
from companion.inbound.bench.outage import DownEmbedder
from companion.inbound.bench.progress import Progress
from companion.main.container import aclose_clients, build_container
from companion.main.operations import manual_clock
from companion.main.settings import DatabaseSettings, RedisSettings, Settings, SupabaseSettings

_MAX_K = 1000


def parse_ks(raw: str) -> list[int]:
    """``5,10,25`` as sorted distinct positive integers."""
    try:
        ks = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise InvalidInput(f"--k takes whole numbers separated by commas, got {raw!r}") from None
    if not ks or ks[0] < 1 or ks[-1] > _MAX_K:
        raise InvalidInput(f"--k values must be from 1 to {_MAX_K}")
    return ks


async def run_bench(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run one benchmark in a scratch data directory (unless --data-dir names one)."""
    if not args.configured_backends:
        # Benchmarks write thousands of memories for made-up users: never into the
        # user's own database or cache unless asked to.
        settings = settings.model_copy(
            update={
                "database": DatabaseSettings(),
                "supabase": SupabaseSettings(),
                "redis": RedisSettings(),
            }
        )
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as scratch:
        if not getattr(args, "data_dir", None):
            settings = settings.model_copy(
                update={
                    "companion": settings.companion.model_copy(update={"data_dir": Path(scratch)})
                }
            )
        container = build_container(settings)
        clock = manual_clock()
        container.gateways.clock.override(providers.Object(clock))
        try:
            report = await _run(args, container, clock)
        finally:
            await aclose_clients(container)
            container.shutdown_resources()
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(_table(report))
    return 0


async def _run(args: argparse.Namespace, container: Any, clock: Any) -> dict[str, Any]:
    services = container.services
    if args.benchmark == "locomo":
        ks = parse_ks(args.k)
        conversations = load_locomo(Path(args.data))
        if args.conversations is not None:
            if args.conversations < 1:
                raise InvalidInput("--conversations must be at least 1")
            conversations = conversations[: args.conversations]
        unit = args.unit
        total = sum(
            len(c.items(unit)) + sum(1 for q in c.questions if q.evidence) for c in conversations
        )
        if args.end_to_end:
            if unit != "dialog":
                raise InvalidInput("--end-to-end says the dialog turns: it takes --unit dialog")
            if args.embeddings_down:
                raise InvalidInput("--end-to-end and --embeddings-down do not go together yet")
            return await run_locomo_end_to_end(
                conversations,
                ks=ks,
                chat=services.chat(),
                worker=services.memory_worker(),
                journal=container.gateways.conversation_store(),
                memories=container.gateways.memory_store(),
                profiles=services.profiles(),
                rag=services.rag(),
                set_clock=clock.set,
                progress=Progress(
                    sum(
                        len(c.dialog) + sum(1 for q in c.questions if q.evidence)
                        for c in conversations
                    ),
                    "locomo end-to-end",
                ),
                participants=not args.no_participants,
            )
        memories = services.memories()  # ingest embeds as usual
        if args.embeddings_down:
            embedder = container.gateways.embedder()
            container.gateways.embedder.override(providers.Object(DownEmbedder(embedder)))
        return await run_locomo(
            conversations,
            unit=unit,
            ks=ks,
            memories=memories,
            profiles=services.profiles(),
            rag=services.rag(),
            set_clock=clock.set,
            progress=Progress(total, "locomo"),
            participants=not args.no_participants,
        )
    if not 1 <= args.memories <= 1_000_000:
        raise InvalidInput("--memories must be from 1 to 1000000")
    if not 1 <= args.queries <= 100_000:
        raise InvalidInput("--queries must be from 1 to 100000")
    return await run_latency(
        memories=args.memories,
        queries=args.queries,
        memory_service=services.memories(),
        rag=services.rag(),
        progress=Progress(args.memories + args.queries, "latency"),
        embedder=container.gateways.embedder(),
        store=container.gateways.memory_store(),
    )


def _table(report: dict[str, Any]) -> str:
    lines = []
    if "recall" in report:
        recall = report["recall"]
        ks = list(recall["all"])
        lines.append(
            f"LoCoMo retrieval, unit={report['unit']}, {report['questions']} questions, "
            f"{report['memories']} memories"
        )
        lines.append("group        " + "".join(f"  R@{k:<5}" for k in ks))
        rows = [("all", recall["all"]), ("cat 1-4", recall["cat1_4"])]
        rows += [(f"cat {c}", v) for c, v in recall["by_category"].items()]
        rows += [(name, v) for name, v in recall["by_conversation"].items()]
        for name, values in rows:
            lines.append(f"{name:<13}" + "".join(f"  {values[k]:<7.1f}" for k in ks))
    else:
        lines.append(
            f"Retrieval latency, {report['memories']} memories, {report['queries']} queries"
        )
        lines.append(
            f"memory: {report['rss_mb']['after']} MiB resident "
            f"({report['rss_mb']['before']} before ingest)"
        )
    lat = report["latency_ms"]
    lines.append(f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}")
    for name, floor in report.get("floor_ms", {}).items():
        what = name.replace("_", " ") + " alone"
        lines.append(f"  floor, {what}: p50 {floor['p50']}  p95 {floor['p95']}")
    if "p95_total_over_query_embedding" in report:
        lines.append(f"p95 total / p95 query embedding: {report['p95_total_over_query_embedding']}")
    lines.append(f"ingest: {report['ingest_per_s']} memories/s")
    return "\n".join(lines) + "\n"
