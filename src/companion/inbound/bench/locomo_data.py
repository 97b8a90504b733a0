"""Reading LoCoMo (Maharana et al., ACL 2024): conversations, retrieval units, questions.

The file is validated at this boundary: anything that does not have LoCoMo's shape is a
clear InvalidInput naming what is wrong, never a KeyError deep in the benchmark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from companion.domain.errors import InvalidInput

Unit = Literal["dialog", "observation"]

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_DIA_ID = re.compile(r"^D:?(\d+):(\d+)$")
_DATE = re.compile(
    r"^\s*(\d{1,2}):(\d{2})\s*([ap]m)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$", re.I
)
_MONTHS = {
    month: number
    for number, month in enumerate(
        "january february march april may june july august september october november "
        "december".split(),
        start=1,
    )
}


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to remember: a dialog turn or an observation, with where it was said."""

    text: str
    sources: tuple[str, ...]  # the dialog ids it stands for, as LoCoMo's evidence names them
    thread: str
    position: int
    said_at: datetime


@dataclass(frozen=True, slots=True)
class Question:
    """A question with the dialog ids of its evidence."""

    text: str
    evidence: tuple[str, ...]
    category: int


@dataclass(frozen=True, slots=True)
class Conversation:
    """One LoCoMo conversation: its speakers, sessions and questions."""

    sample_id: str
    speakers: tuple[str, str]
    dialog: tuple[Item, ...]
    observations: tuple[Item, ...]
    questions: tuple[Question, ...]
    last_session_at: datetime

    def items(self, unit: Unit) -> tuple[Item, ...]:
        """The retrieval units of this conversation."""
        return self.dialog if unit == "dialog" else self.observations


def normalize_dia_id(raw: str) -> list[str]:
    """Evidence ids as ``D<session>:<turn>``; tolerates LoCoMo's few malformed ones."""
    found = []
    for part in re.split(r"[;,]", raw):
        match = _DIA_ID.match(part.strip())
        if match:
            found.append(f"D{int(match.group(1))}:{int(match.group(2))}")
    return found


def parse_session_date(raw: str) -> datetime:
    """LoCoMo's "1:56 pm on 8 May, 2023" as an aware UTC datetime."""
    match = _DATE.match(raw)
    if not match:
        raise InvalidInput(f"unreadable session date {raw!r}")
    hour, minute, half, day, month, year = match.groups()
    month_number = _MONTHS.get(month.lower())
    if month_number is None:
        raise InvalidInput(f"unreadable month in session date {raw!r}")
    hour_24 = int(hour) % 12 + (12 if half.lower() == "pm" else 0)
    return datetime(int(year), month_number, int(day), hour_24, int(minute), tzinfo=UTC)


def load_locomo(path: Path) -> list[Conversation]:
    """Read and validate a LoCoMo JSON file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or 'error'}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"{path} is not a JSON file") from None
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"{path}: expected a non-empty list of LoCoMo conversations")
    return [_conversation(entry, i) for i, entry in enumerate(raw)]


def _conversation(entry: Any, index: int) -> Conversation:
    where = f"conversation {index}"
    try:
        sample_id = str(entry["sample_id"])
        where = sample_id
        conv = entry["conversation"]
        speakers = (str(conv["speaker_a"]), str(conv["speaker_b"]))
        sessions = sorted(int(m.group(1)) for k in conv if (m := _SESSION_KEY.match(k)) is not None)
        if not sessions:
            raise InvalidInput(f"{where}: no sessions")
        dates = {n: parse_session_date(conv[f"session_{n}_date_time"]) for n in sessions}
        dialog = [
            Item(
                text=_turn_text(turn),
                sources=tuple(normalize_dia_id(str(turn["dia_id"]))),
                thread=f"session_{n}",
                position=position,
                said_at=dates[n],
            )
            for n in sessions
            for position, turn in enumerate(conv[f"session_{n}"])
        ]
        observations = _observations(entry.get("observation", {}), dates)
        questions = tuple(
            Question(
                text=str(q["question"]),
                evidence=tuple(
                    e for raw_id in q.get("evidence", []) for e in normalize_dia_id(str(raw_id))
                ),
                category=int(q["category"]),
            )
            for q in entry["qa"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{where}: not in LoCoMo's format ({type(exc).__name__}: {exc})"
        ) from None
    return Conversation(
        sample_id=sample_id,
        speakers=speakers,
        dialog=tuple(dialog),
        observations=tuple(observations),
        questions=questions,
        last_session_at=dates[sessions[-1]],
    )


def _turn_text(turn: dict[str, Any]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    caption = turn.get("blip_caption")
    return f"{text} [shares a photo of {caption}]" if caption else text


def _observations(raw: dict[str, Any], dates: dict[int, datetime]) -> list[Item]:
    items = []
    for key in sorted(raw, key=lambda k: int(re.findall(r"\d+", k)[0])):
        session = int(re.findall(r"\d+", key)[0])
        position = 0
        for facts in raw[key].values():
            for fact in facts:
                text, ids = fact[0], fact[1]
                id_list = ids if isinstance(ids, list) else [ids]
                items.append(
                    Item(
                        text=str(text),
                        sources=tuple(e for i in id_list for e in normalize_dia_id(str(i))),
                        thread=f"session_{session}",
                        position=position,
                        said_at=dates.get(session, min(dates.values())),
                    )
                )
                position += 1
    return items
