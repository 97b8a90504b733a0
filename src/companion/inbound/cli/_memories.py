"""`companion-agent memories ...`: list, search, forget, export, import, reindex, retry."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from companion.domain.errors import InvalidInput
from companion.domain.models import Memory, MemoryCategory
from companion.domain.validation import parse_category, parse_uuid
from companion.inbound.cli.memory_records import dumps_jsonl, parse_jsonl, to_record
from companion.main.container import Container


def _category(raw: str | None) -> MemoryCategory | None:
    return None if raw is None else parse_category(raw)


def _limit(raw: int | None) -> int | None:
    if raw is not None and not 1 <= raw <= 100_000:
        raise InvalidInput("--limit must be from 1 to 100000")
    return raw


def _table(memories: list[Memory], out: TextIO, scores: list[float] | None = None) -> None:
    if not memories:
        out.write("No memories.\n")
        return
    for i, memory in enumerate(memories):
        score = "" if scores is None else f"{scores[i]:.3f}  "
        key = f" [{memory.key}]" if memory.key else ""
        out.write(
            f"{score}{memory.id}  {memory.category.value:<12} {memory.importance:>2}  "
            f"{memory.updated_at:%Y-%m-%d %H:%M}  {memory.text}{key}\n"
        )
        for was in memory.history:  # oldest first, under the value that replaced it
            out.write(
                f"    was: {was.value or was.text} "
                f"({was.valid_from:%Y-%m-%d %H:%M} \u2013 {was.valid_to:%Y-%m-%d %H:%M})\n"
            )


def _json(data: Any, out: TextIO) -> None:
    out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


async def run_memories(
    container: Container, user_id: UUID, args: argparse.Namespace, out: TextIO
) -> int:
    """Dispatch one `memories` action."""
    service = container.services.memories()
    action = args.action
    if action == "list":
        items = await service.list(
            user_id, category=_category(args.category), limit=_limit(args.limit)
        )
        _json([to_record(m) for m in items], out) if args.json else _table(items, out)
    elif action == "search":
        found = await service.search(user_id, args.query, limit=_limit(args.limit) or 5)
        if args.json:
            _json([{**to_record(s.memory), "score": round(s.score, 6)} for s in found], out)
        else:
            _table([s.memory for s in found], out, [s.score for s in found])
    elif action == "forget":
        forgotten = await service.forget(user_id, parse_uuid(args.memory_id, what="memory id"))
        await container.services.profiles().forget_memories(user_id, [forgotten])
        if args.json:
            _json(to_record(forgotten), out)
        else:
            out.write(f"Forgot: {forgotten.text}\n")
    elif action == "export":
        text = dumps_jsonl(await service.list(user_id))
        if args.out:
            await asyncio.to_thread(_write, args.out, text)
        else:
            out.write(text)
    elif action == "import":
        memories = parse_jsonl(_read_lines(args.file), target_user=user_id)
        report = await service.import_memories(user_id, memories)
        summary = {"added": report.added, "updated": report.updated, "skipped": report.skipped}
        if args.json:
            _json(summary, out)
        else:
            out.write(
                f"Imported {report.added} new, updated {report.updated}, "
                f"skipped {report.skipped} already present.\n"
            )
    elif action == "reindex":
        count = await service.reindex(user_id)
        model = container.gateways.embedder().model
        retried, done = await retry_parked(container, user_id)  # e.g. a model mismatch
        if args.json:
            _json({"reindexed": count, "model": model, "retried": retried, "done": done}, out)
        else:
            out.write(f"Re-embedded {count} memories with {model}.\n")
            if retried:
                out.write(f"Retried {retried} parked turn(s): {done} done.\n")
    elif action == "retry":
        retried, done = await retry_parked(container, user_id)
        if args.json:
            _json({"retried": retried, "done": done}, out)
        else:
            out.write(f"Retried {retried} parked turn(s): {done} done.\n")
    else:
        raise InvalidInput(
            "memories needs an action: list, search, forget, export, import, reindex or retry"
        )
    return 0


async def retry_parked(container: Container, user_id: UUID) -> tuple[int, int]:
    """Put the user's parked turns back and work them: (how many were parked, how many
    of the user's pending turns are now done). What still fails is parked again."""
    retried = await container.gateways.conversation_store().unpark_turns(user_id)
    done = await container.services.memory_worker().recover(user_id=user_id, retry_now=True)
    return retried, done


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or 'error'}") from None


def _read_lines(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.readlines()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InvalidInput(f"cannot read {path}: {reason}") from None
