"""Turns kept during an outage are sent in order when the store is back; a turn the store
holds already leaves the spool, and the store failing again keeps the rest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from companion.adapters.memory import InMemoryConversationStore
from companion.adapters.resilience.turn_spool import SqliteTurnSpool
from companion.core.turn_keeper import TurnKeeper
from companion.domain.errors import InvalidInput, StoreUnavailable
from companion.domain.models import ConversationTurn, Role

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")


def said(text: str, minute: int) -> ConversationTurn:
    return ConversationTurn(
        uuid.uuid4(),
        ADA,
        uuid.UUID(int=9, version=4),
        Role.USER,
        text,
        T0 + timedelta(minutes=minute),
    )


class Flaky(InMemoryConversationStore):
    """Down after ``up_for`` more appends; a text it can never store is refused."""

    def __init__(self) -> None:
        super().__init__()
        self.up_for: int | None = None

    async def append_turn(self, turn: ConversationTurn) -> None:
        if self.up_for is not None:
            if self.up_for == 0:
                raise StoreUnavailable("PostgreSQL is unavailable (08006); try again later")
            self.up_for -= 1
        if "\x00" in turn.text:
            raise InvalidInput("turn text holds NUL")
        await super().append_turn(turn)


async def test_kept_turns_reach_the_journal_in_order_and_a_second_outage_keeps_the_rest(
    tmp_path: Path,
) -> None:
    journal = Flaky()
    keeper = TurnKeeper(SqliteTurnSpool(tmp_path / "spool.db"), journal)
    turns = [said(f"I live in Town-{n}.", n) for n in range(5)]
    for turn in turns:
        await keeper.keep(turn)
    await journal.append_turn(turns[0])  # the write-behind buffer sent this one already
    journal.up_for = 3  # the store answers three more calls, then is down again
    assert await keeper.send() == 3  # the one it had, and two new
    assert await keeper.waiting() == 2
    assert await journal.pending_turns(10) == turns[:3]
    journal.up_for = None
    assert await keeper.send() == 2
    assert await journal.pending_turns(10) == turns  # in the order they were said
    assert await keeper.waiting() == 0 and await keeper.send() == 0


async def test_a_turn_the_store_will_never_take_does_not_hold_up_the_others(
    tmp_path: Path,
) -> None:
    journal = Flaky()
    keeper = TurnKeeper(SqliteTurnSpool(tmp_path / "spool.db"), journal)
    bad, good = said("nul \x00 byte", 0), said("I live in Oslo.", 1)
    await keeper.keep(bad)
    await keeper.keep(good)
    assert await keeper.send() == 2
    assert await journal.pending_turns(10) == [good]
    assert await keeper.waiting() == 0
