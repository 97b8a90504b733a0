"""The turn spool keeps what the store could not take, durably and in order, for every
process of the machine; a damaged row never holds up the others."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.adapters.resilience.turn_spool import SqliteTurnSpool
from companion.domain.errors import InvalidInput
from companion.domain.models import ConversationTurn, Role

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")


def said(text: str, minute: int = 0, role: Role = Role.USER) -> ConversationTurn:
    return ConversationTurn(
        uuid.uuid4(), ADA, uuid.UUID(int=7, version=4), role, text, T0 + timedelta(minutes=minute)
    )


async def test_kept_turns_come_back_in_order_to_another_process_and_leave_when_sent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "turn-spool.db"
    first = SqliteTurnSpool(path)
    turns = [said("I live in Oslo.", 0), said("Lovely!", 1, Role.ASSISTANT), said("A cat.", 2)]
    for turn in turns:
        await first.keep(turn)
    await first.keep(turns[0])  # kept twice: once
    first.close()  # the process is gone; another one on this machine opens the file
    second = SqliteTurnSpool(path)
    assert await second.count() == 3
    assert await second.oldest(10) == turns
    assert await second.oldest(2) == turns[:2]
    await second.remove([turns[0].id, uuid.uuid4()])
    assert await second.oldest(10) == turns[1:]
    await second.remove([])
    assert await second.count() == 2


async def test_a_damaged_row_is_set_aside_and_the_rest_go_on(tmp_path: Path) -> None:
    path = tmp_path / "turn-spool.db"
    spool = SqliteTurnSpool(path)
    good = said("I live in Oslo.")
    await spool.keep(good)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO kept_turns (id, turn) VALUES ('x', '{not json')")
    later = said("A cat.", 3)
    await spool.keep(later)
    assert await spool.oldest(10) == [good, later]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM unreadable_turns").fetchone() == (1,)


async def test_a_turn_without_a_timezone_is_refused(tmp_path: Path) -> None:
    spool = SqliteTurnSpool(tmp_path / "turn-spool.db")
    naive = ConversationTurn(uuid.uuid4(), ADA, uuid.uuid4(), Role.USER, "hi", datetime(2026, 1, 1))
    with pytest.raises(InvalidInput):
        await spool.keep(naive)
    with pytest.raises(InvalidInput):
        await spool.keep("I live in Oslo.")  # type: ignore[arg-type]
    assert await spool.count() == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=300), minutes=st.integers(0, 10**6))
async def test_any_text_comes_back_as_it_was_kept(tmp_path: Path, text: str, minutes: int) -> None:
    spool = SqliteTurnSpool(tmp_path / f"{uuid.uuid4()}.db")
    turn = said(text, minutes)
    await spool.keep(turn)
    assert await spool.oldest(1) == [turn]
    spool.close()
