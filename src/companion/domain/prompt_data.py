"""User data as it is shown to a language model: one line per item, unable to escape.

Profile fields and memories are things users said. Wherever they reach a model's prompt
they sit inside a delimited block, and these helpers make each item one line with no
angle brackets, so no item can close its block or open another and speak as the system.
"""

from __future__ import annotations

from companion.domain.models import UserProfile


def as_data(text: str) -> str:
    """One line of data: no line breaks, and no angle brackets to open or close a block."""
    flat = " ".join(text.split())
    return flat.replace("<", "\u2039").replace(">", "\u203a")


def profile_lines(profile: UserProfile) -> list[str]:
    """The profile's filled-in fields, one ``label: value`` line each, as data."""
    fields = [
        ("name", profile.display_name or profile.name),
        ("language", profile.language),
        ("interests", ", ".join(profile.interests) or None),
        ("goals", ", ".join(profile.goals) or None),
        ("notes", profile.notes),
    ]
    lines = [f"{label}: {as_data(value)}" for label, value in fields if value]
    lines += [f"{as_data(k)}: {as_data(v)}" for k, v in sorted(profile.preferences.items())]
    return lines
