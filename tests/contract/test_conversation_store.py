"""The ConversationStore contract, run against every adapter."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from tests.conftest import T0

from companion.domain.errors import Conflict, InvalidInput
from companion.domain.models import ConversationSummary, ConversationTurn, Role
from companion.ports.conversation_store import ConversationStore

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")


def turn(user: uuid.UUID, session: uuid.UUID, text: str, minute: int) -> ConversationTurn:
    return ConversationTurn(
        id=uuid.uuid4(),
        user_id=user,
        session_id=session,
        role=Role.USER if minute % 2 == 0 else Role.ASSISTANT,
        text=text,
        created_at=T0 + timedelta(minutes=minute),
    )


def summary(
    user: uuid.UUID, session: uuid.UUID, ended_hours: int, text: str
) -> ConversationSummary:
    return ConversationSummary(
        id=uuid.uuid4(),
        user_id=user,
        session_id=session,
        summary=text,
        started_at=T0 + timedelta(hours=ended_hours - 1),
        ended_at=T0 + timedelta(hours=ended_hours),
        turn_count=4,
        topics=("your dog Biscuit",),
        open_threads=("the exam on Friday",),
        next_greeting="Last time you told me about Biscuit.",
    )


async def test_turns_come_back_in_order_per_session(conversation_store: ConversationStore) -> None:
    s1, s2 = uuid.uuid4(), uuid.uuid4()
    written = [turn(ADA, s1, f"one {i}", i) for i in range(3)]
    written += [turn(ADA, s2, f"two {i}", 10 + i) for i in range(2)]
    for t in written:
        await conversation_store.append_turn(t)
    await conversation_store.append_turn(turn(BOB, s1, "bob's", 20))
    assert await conversation_store.turns(ADA, s1) == written[:3]
    assert await conversation_store.turns(ADA, s2) == written[3:]
    assert await conversation_store.recent_turns(ADA, 2) == written[3:]
    assert await conversation_store.recent_turns(ADA, 100) == written


async def test_duplicate_turn_id_is_a_conflict(conversation_store: ConversationStore) -> None:
    t = turn(ADA, uuid.uuid4(), "hello", 0)
    await conversation_store.append_turn(t)
    with pytest.raises(Conflict):
        await conversation_store.append_turn(t)
    assert await conversation_store.turns(ADA, t.session_id) == [t]


async def test_latest_summary_is_the_last_ended(conversation_store: ConversationStore) -> None:
    assert await conversation_store.latest_summary(ADA) is None
    old = summary(ADA, uuid.uuid4(), 1, "first")
    new = summary(ADA, uuid.uuid4(), 5, "second")
    for s in (new, old):
        await conversation_store.save_summary(s)
    await conversation_store.save_summary(summary(BOB, uuid.uuid4(), 9, "bob's"))
    assert await conversation_store.latest_summary(ADA) == new
    assert await conversation_store.summaries(ADA, 10) == [new, old]
    assert await conversation_store.summaries(ADA, 1) == [new]


async def test_saving_a_summary_twice_replaces_it(conversation_store: ConversationStore) -> None:
    session = uuid.uuid4()
    await conversation_store.save_summary(summary(ADA, session, 1, "draft"))
    final = summary(ADA, session, 2, "final")
    await conversation_store.save_summary(final)
    assert await conversation_store.summaries(ADA, 10) == [final]


async def test_a_session_cannot_change_hands(conversation_store: ConversationStore) -> None:
    session = uuid.uuid4()
    mine = summary(ADA, session, 1, "mine")
    await conversation_store.save_summary(mine)
    with pytest.raises(Conflict):
        await conversation_store.save_summary(summary(BOB, session, 2, "stolen"))
    with pytest.raises(Conflict):
        # the same summary id filed under another session
        await conversation_store.save_summary(
            ConversationSummary(
                id=mine.id,
                user_id=ADA,
                session_id=uuid.uuid4(),
                summary="dup",
                started_at=mine.started_at,
                ended_at=mine.ended_at,
                turn_count=1,
            )
        )
    assert await conversation_store.summaries(ADA, 10) == [mine]
    assert await conversation_store.latest_summary(BOB) is None


async def test_the_journal_lists_unprocessed_user_turns_until_marked(
    conversation_store: ConversationStore,
) -> None:
    session = uuid.uuid4()
    said = [turn(ADA, session, "I live in Oslo", 0), turn(ADA, session, "Nice!", 1)]
    said += [turn(BOB, uuid.uuid4(), "I like tea", 2), turn(ADA, session, "I have a cat", 4)]
    for t in said:
        await conversation_store.append_turn(t)
    user_turns = [t for t in said if t.role is Role.USER]
    assert await conversation_store.pending_turns(10) == user_turns  # oldest first, all users
    assert await conversation_store.pending_turns(1) == user_turns[:1]
    await conversation_store.mark_processed(ADA, said[0].id, T0)
    await conversation_store.mark_processed(BOB, said[3].id, T0)  # not Bob's turn: no effect
    await conversation_store.mark_processed(ADA, said[0].id, T0)  # idempotent
    assert await conversation_store.pending_turns(10) == user_turns[1:]
    await conversation_store.mark_processed(BOB, said[2].id, T0)
    await conversation_store.mark_processed(ADA, said[3].id, T0)
    assert await conversation_store.pending_turns(10) == []


async def test_a_parked_turn_leaves_the_pending_ones_until_unparked(
    conversation_store: ConversationStore,
) -> None:
    session = uuid.uuid4()
    ada = [turn(ADA, session, f"ada {i}", 2 * i) for i in range(3)]  # user turns
    bob = turn(BOB, session, "bob's", 10)
    for t in [*ada, bob]:
        await conversation_store.append_turn(t)
    assert await conversation_store.pending_turns(10, ADA) == ada
    await conversation_store.park_turn(ADA, ada[1].id, "EmbeddingModelMismatch: x", T0)
    await conversation_store.park_turn(ADA, ada[1].id, "a second reason", T0)  # first stays
    await conversation_store.park_turn(BOB, ada[0].id, "not bob's turn", T0)  # no effect
    assert await conversation_store.pending_turns(10) == [ada[0], ada[2], bob]
    assert await conversation_store.pending_turns(10, BOB) == [bob]
    (parked,) = await conversation_store.parked_turns(None, 10)
    assert (parked.turn, parked.reason, parked.parked_at) == (
        ada[1],
        "EmbeddingModelMismatch: x",
        T0,
    )
    assert await conversation_store.parked_turns(BOB, 10) == []
    await conversation_store.mark_processed(ADA, ada[0].id, T0)
    await conversation_store.park_turn(ADA, ada[0].id, "processed already", T0)  # stays done
    assert await conversation_store.unpark_turns(BOB) == 0
    assert await conversation_store.unpark_turns(ADA) == 1
    assert await conversation_store.unpark_turns(None) == 0
    assert await conversation_store.pending_turns(10) == [ada[1], ada[2], bob]
    assert await conversation_store.parked_turns(None, 10) == []


async def test_a_park_reason_is_one_bounded_line(conversation_store: ConversationStore) -> None:
    said = turn(ADA, uuid.uuid4(), "x", 0)
    await conversation_store.append_turn(said)
    with pytest.raises(InvalidInput):
        await conversation_store.park_turn(ADA, said.id, "   ", T0)
    await conversation_store.park_turn(ADA, said.id, "line one\nline two " + "y" * 900, T0)
    (parked,) = await conversation_store.parked_turns(ADA, 10)
    assert parked.reason.startswith("line one line two y") and len(parked.reason) <= 500


async def test_one_claimant_at_a_time_holds_a_users_memory_work(
    conversation_store: ConversationStore,
) -> None:
    session = uuid.uuid4()
    ada = [turn(ADA, session, f"ada {i}", 2 * i) for i in range(3)]
    for t in [*ada, turn(BOB, uuid.uuid4(), "bob", 8)]:
        await conversation_store.append_turn(t)
    await conversation_store.mark_processed(ADA, ada[0].id, T0)
    # The claim reads the user's pending turns, oldest first, under the lease.
    assert await conversation_store.claim_user(ADA, "worker-a", 60) == ada[1:]
    assert await conversation_store.claim_user(ADA, "worker-b", 60) is None  # held
    assert await conversation_store.claim_user(ADA, "worker-a", 60, 1) == ada[1:2]  # renewed
    assert await conversation_store.claim_user(BOB, "worker-b", 60) is not None  # other user
    await conversation_store.release_user(ADA, "worker-b")  # not b's lease: no effect
    assert await conversation_store.claim_user(ADA, "worker-b", 60) is None
    await conversation_store.release_user(ADA, "worker-a")
    assert await conversation_store.claim_user(ADA, "worker-b", 60) == ada[1:]
    await conversation_store.release_user(ADA, "worker-b")
    await conversation_store.release_user(ADA, "worker-b")  # released already: no effect


async def test_a_lease_that_ran_out_is_taken_over(conversation_store: ConversationStore) -> None:
    import asyncio

    said = turn(ADA, uuid.uuid4(), "I live in Oslo", 0)
    await conversation_store.append_turn(said)
    assert await conversation_store.claim_user(ADA, "killed-worker", 0.05) == [said]
    await asyncio.sleep(0.2)  # the killed process never renews it
    assert await conversation_store.claim_user(ADA, "sweeper", 60) == [said]
    assert await conversation_store.claim_user(ADA, "killed-worker", 60) is None


@pytest.mark.parametrize(
    ("owner", "seconds"),
    [
        ("", 60),
        ("   ", 60),
        ("a\nb", 60),
        ("x" * 201, 60),
        ("w", 0),
        ("w", -1),
        ("w", float("nan")),
        ("w", 86_401),
        ("w", True),
        (7, 60),
    ],
)
async def test_a_bad_lease_is_refused_and_takes_nothing(
    conversation_store: ConversationStore, owner: object, seconds: object
) -> None:
    with pytest.raises(InvalidInput):
        await conversation_store.claim_user(ADA, owner, seconds)  # type: ignore[arg-type]
    assert await conversation_store.claim_user(ADA, "worker-a", 60) == []


async def test_the_holder_is_known_and_a_dead_holders_claim_is_taken_over_at_once(
    conversation_store: ConversationStore,
) -> None:
    said = turn(ADA, uuid.uuid4(), "I live in Oslo", 0)
    await conversation_store.append_turn(said)
    assert await conversation_store.claim_holder(ADA) is None
    assert await conversation_store.claim_user(ADA, "host/b00t:ab12:4242", 60) == [said]
    assert await conversation_store.claim_holder(ADA) == "host/b00t:ab12:4242"
    # Taking over names the owner known to be gone; any other holder keeps its lease.
    assert await conversation_store.claim_user(ADA, "w2", 60, take_over="someone-else") is None
    assert await conversation_store.claim_user(ADA, "w2", 60, take_over="host/b00t:ab12:4242") == [
        said
    ]
    assert await conversation_store.claim_holder(ADA) == "w2"
    await conversation_store.release_user(ADA, "w2")
    assert await conversation_store.claim_holder(ADA) is None


async def test_erasing_a_user_deletes_their_journal_summaries_and_lease(
    conversation_store: ConversationStore,
) -> None:
    session = uuid.uuid4()
    said = [turn(ADA, session, f"Ada says {i}", i) for i in range(4)]
    for t in said:
        await conversation_store.append_turn(t)
    await conversation_store.mark_processed(ADA, said[0].id, T0)
    await conversation_store.park_turn(ADA, said[1].id, "a bug", T0)
    await conversation_store.save_summary(summary(ADA, session, 5, "Ada's session"))
    assert await conversation_store.claim_user(ADA, "host:worker:1", 60.0) is not None
    bobs = turn(BOB, uuid.uuid4(), "Bo says hi", 9)
    await conversation_store.append_turn(bobs)
    bob_summary = summary(BOB, bobs.session_id, 9, "Bo's session")
    await conversation_store.save_summary(bob_summary)

    # 4 turns (one processed, one parked), 1 summary, 1 lease.
    assert await conversation_store.erase_user(ADA) == 6
    assert await conversation_store.recent_turns(ADA, 100) == []
    assert await conversation_store.turns(ADA, session) == []
    assert await conversation_store.pending_turns(100, ADA) == []
    assert await conversation_store.parked_turns(ADA, 100) == []
    assert await conversation_store.summaries(ADA, 10) == []
    assert await conversation_store.claim_holder(ADA) is None
    assert await conversation_store.erase_user(ADA) == 0  # idempotent
    assert await conversation_store.recent_turns(BOB, 100) == [bobs]
    assert await conversation_store.summaries(BOB, 10) == [bob_summary]
    # An erased turn's id is free again, and the user starts a new journal.
    await conversation_store.append_turn(said[2])
    assert await conversation_store.pending_turns(100, ADA) == [said[2]]
