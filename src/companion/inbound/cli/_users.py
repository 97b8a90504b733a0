"""`companion-agent users export|erase`: everything held of one user, taken or deleted."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import json
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from companion.domain.models import UserExport
from companion.inbound.cli._parser import UsageError
from companion.inbound.cli.memory_records import to_record
from companion.main.container import Container

FORMAT = "companion-user-export/1"


def _plain(value: Any) -> Any:
    """A dataclass tree as JSON values: ids and times as text, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def export_document(exported: UserExport) -> dict[str, Any]:
    """The export as one JSON document. ``memories`` are records of the format `memories
    export` writes and `memories import` reads (one per line there)."""
    return {
        "format": FORMAT,
        "user_id": str(exported.user_id),
        "exported_at": exported.exported_at.isoformat(),
        "profile": _plain(exported.profile),
        "memories": [to_record(m) for m in exported.memories],
        "turns": [_plain(t) for t in exported.turns],
        "summaries": [_plain(s) for s in exported.summaries],
        "parked_turns": [
            {"turn_id": str(p.turn.id), "reason": p.reason, "parked_at": p.parked_at.isoformat()}
            for p in exported.parked
        ],
    }


async def run_users(
    container: Container, user_id: UUID, args: argparse.Namespace, out: TextIO
) -> int:
    """Dispatch one `users` action."""
    service = container.services.user_data()
    if args.action == "export":
        document = export_document(await service.export(user_id))
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        if args.out:
            await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
        else:
            out.write(text)
        return 0
    if args.action == "erase":
        if not args.yes:
            raise UsageError(
                f"users erase deletes everything held of user {user_id} and cannot be"
                " undone: add --yes"
            )
        erased = await service.erase(user_id)
        if args.json:
            out.write(json.dumps(_plain(erased), indent=2) + "\n")
        else:
            out.write(
                f"Erased user {user_id}: {erased.memories} memories,"
                f" {erased.conversation_rows} turns, summaries and leases,"
                f" {'the profile' if erased.profile else 'no profile'},"
                f" {erased.cache_entries} cache entries, {erased.spooled_turns} spooled turns.\n"
            )
        return 0
    raise UsageError("users needs an action: export or erase")
