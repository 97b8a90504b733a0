"""`companion-agent onboard --user U FILE`: a new user's profile and memories from JSON."""

from __future__ import annotations

import json
import sys
from typing import TextIO
from uuid import UUID

from companion.core import OnboardingData
from companion.domain.changes import Change
from companion.domain.errors import InvalidInput
from companion.main.container import Container

_MAX_BYTES = 256 * 1024


def _read(path: str) -> object:
    try:
        if path == "-":
            text = sys.stdin.read(_MAX_BYTES + 1)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(_MAX_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise InvalidInput(f"cannot read {path}: {reason}") from None
    if len(text) > _MAX_BYTES:
        raise InvalidInput(f"{path} is larger than {_MAX_BYTES // 1024} KiB")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON ({exc.msg})") from None


async def run_onboard(
    container: Container, user_id: UUID, path: str, *, as_json: bool, out: TextIO
) -> int:
    """Validate the whole file first, then apply it; running it twice changes nothing."""
    data = OnboardingData.parse(_read(path))
    profile, results = await container.services.onboarding().initialize(user_id, data)
    added = sum(r.change is Change.ADDED for r in results)
    updated = sum(r.change is Change.UPDATED for r in results)
    if as_json:
        report = {
            "user_id": str(user_id),
            "name": profile.name,
            "interests": list(profile.interests),
            "goals": list(profile.goals),
            "memories": {
                "added": added,
                "updated": updated,
                "unchanged": len(results) - added - updated,
            },
        }
        out.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        who = profile.name or "this user"
        out.write(
            f"Onboarded {who}: {added} memories added, {updated} updated, "
            f"{len(results) - added - updated} already known.\n"
        )
    return 0
